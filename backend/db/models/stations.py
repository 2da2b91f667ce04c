"""Charging stations (OCPP charge points) and their connectors."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.base import Base, Timestamps, UUIDPrimaryKey
from backend.db.models.enums import str_enum
from backend.db.models.sites import SiteArea


class RegistrationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ChargingStation(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "charging_stations"

    ocpp_identity: Mapped[str] = mapped_column(String(48), unique=True)
    site_area_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("site_areas.id", ondelete="SET NULL"), index=True
    )
    # Kept with the area so that "stations of my sites" needs no join on every permission check.
    site_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str | None] = mapped_column(String(200))
    vendor: Mapped[str | None] = mapped_column(String(50))
    model: Mapped[str | None] = mapped_column(String(50))
    serial_number: Mapped[str | None] = mapped_column(String(50))
    firmware_version: Mapped[str | None] = mapped_column(String(50))
    ocpp_version: Mapped[str | None] = mapped_column(String(8))
    registration_status: Mapped[RegistrationStatus] = mapped_column(
        str_enum(RegistrationStatus), default=RegistrationStatus.PENDING
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    last_seen_at: Mapped[datetime | None]
    # When the station was last marked offline (its websocket closed, or it stopped
    # heartbeating); it is offline while this is not older than last_seen_at.
    offline_at: Mapped[datetime | None]
    # Some stations send slightly wrong payloads; an admin may accept them knowingly.
    lenient: Mapped[bool] = mapped_column(default=False)

    site_area: Mapped[SiteArea | None] = relationship(lazy="raise")
    connectors: Mapped[list[Connector]] = relationship(
        back_populates="station",
        cascade="all, delete-orphan",
        lazy="raise",
        order_by="(Connector.evse_id, Connector.connector_id)",
    )


class Connector(UUIDPrimaryKey, Base):
    __tablename__ = "connectors"

    station_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("charging_stations.id", ondelete="CASCADE")
    )
    evse_id: Mapped[int] = mapped_column(default=1)
    connector_id: Mapped[int] = mapped_column(default=1)
    type: Mapped[str | None] = mapped_column(String(32))
    max_power_w: Mapped[int | None]
    phases: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="Unknown")
    error_code: Mapped[str | None] = mapped_column(String(50))
    status_at: Mapped[datetime | None]

    station: Mapped[ChargingStation] = relationship(back_populates="connectors", lazy="raise")

    __table_args__ = (UniqueConstraint("station_id", "evse_id", "connector_id"),)
