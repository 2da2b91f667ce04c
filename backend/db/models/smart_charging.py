"""Smart charging state kept between planning runs (the planner itself is pure):

- `smart_charging_leases`: one row per planned site area; a run holds the lease (a random
  holder token and an expiry) so that only one run per area happens at a time across every
  server process, and `last_run_at` lets a process skip a run someone else just did;
- `session_plans`: the last plan of each session (what the driver sees beside the live
  curve), the current offered now, what the car has shown it takes, the phases it uses, and
  whether a TxProfile of ours is on the station;
- `station_smart_charging`: per station, the safe TxDefaultProfile last set, and whether the
  station refused profiles (it is then left out of planning and its full power reserved).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, utcnow


class SmartChargingLease(Base):
    __tablename__ = "smart_charging_leases"

    site_area_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("site_areas.id", ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None]
    # When the last completed run read the state it planned from.
    last_run_at: Mapped[datetime | None]


class SessionPlan(Base):
    __tablename__ = "session_plans"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("charging_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    site_area_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("site_areas.id", ondelete="SET NULL"), index=True
    )
    planned_at: Mapped[datetime] = mapped_column(default=utcnow)
    # [[iso time, amps per phase], ...]: the limit from each instant on.
    schedule: Mapped[list[Any]] = mapped_column(JSON, default=list)
    offered_a: Mapped[float | None]
    learned_max_a: Mapped[float | None]
    phases: Mapped[str | None] = mapped_column(String(3))  # e.g. "1" or "123"
    profile_set: Mapped[bool] = mapped_column(default=False)
    pushed_at: Mapped[datetime | None]


class StationSmartCharging(Base):
    __tablename__ = "station_smart_charging"

    station_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("charging_stations.id", ondelete="CASCADE"), primary_key=True
    )
    default_limit_a: Mapped[float | None]
    default_set_at: Mapped[datetime | None]
    refused_at: Mapped[datetime | None]
    refusal: Mapped[str | None] = mapped_column(String(200))
    max_periods: Mapped[int | None]
