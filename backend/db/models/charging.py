"""Charging sessions and the meter samples that make their charging curve."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from backend.db.base import Base, Timestamps, UUIDPrimaryKey, utcnow
from backend.db.models.billing import BillingState
from backend.db.models.enums import str_enum
from backend.db.models.stations import ChargingStation

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class SessionStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"


class ChargingSession(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "charging_sessions"

    station_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("charging_stations.id", ondelete="RESTRICT")
    )
    connector_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("connectors.id", ondelete="SET NULL")
    )
    # Sessions outlive their driver's account (accounting); erasure replaces the person.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    id_tag: Mapped[str | None] = mapped_column(String(64))
    ocpp_transaction_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[SessionStatus] = mapped_column(
        str_enum(SessionStatus), default=SessionStatus.ACTIVE
    )
    started_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    meter_start_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    meter_stop_wh: Mapped[int | None] = mapped_column(BigInteger)
    energy_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    instant_power_w: Mapped[int] = mapped_column(default=0)
    inactivity_s: Mapped[int] = mapped_column(default=0)
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    # Where the meter readings stand: the raw register and power of the latest sample (by its
    # timestamp), so that a new reading extends the curve without reading it all again.
    last_meter_wh: Mapped[int | None] = mapped_column(BigInteger)
    last_sample_at: Mapped[datetime | None]
    # Power at the latest sample, None while unknown (instant_power_w shows it as 0).
    last_power_w: Mapped[int | None]
    # The station that sent the start (or the end) of the session said so itself; a session
    # closed by us (reboot, superseded) may still be corrected by a late StopTransaction.
    closed_by_csms: Mapped[bool] = mapped_column(default=False)
    # --- pricing (backend.domain.billing) ---
    # The tariff that applied when the session started, frozen: a copy of it (OCPI shape, with
    # the site's time zone) so that later edits never reprice the session.
    tariff_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tariffs.id", ondelete="SET NULL"), index=True
    )
    tariff_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The cost so far (at the latest reading; once stopped, until the connector is Available
    # again), in minor units of cost_currency (cents): never a float.
    cost_currency: Mapped[str | None] = mapped_column(String(3))
    cost_excl_vat_minor: Mapped[int | None] = mapped_column(BigInteger)
    cost_vat_minor: Mapped[int | None] = mapped_column(BigInteger)
    cost_incl_vat_minor: Mapped[int | None] = mapped_column(BigInteger)
    # One line per priced component: dimension, quantity, unit, unit price, amount, VAT.
    cost_lines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Where the pricing engine stands (backend.pricing.incremental.Checkpoint), so that a new
    # reading prices only the new minutes.
    cost_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # When the connector became Available again after the stop: the end of parking time.
    available_at: Mapped[datetime | None]
    # What the driver asked for (smart charging plans towards it); None: defaults.
    departure_at: Mapped[datetime | None]
    energy_wanted_wh: Mapped[int | None] = mapped_column(BigInteger)
    # --- billing (backend.domain.billing.settling, invoicing) ---
    # Decided once the cost is final; `billing_note` says why a session is not billed.
    billing_state: Mapped[BillingState] = mapped_column(
        str_enum(BillingState), default=BillingState.UNBILLED, server_default="unbilled"
    )
    billing_note: Mapped[str | None] = mapped_column(String(32))
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="SET NULL"), index=True
    )

    station: Mapped[ChargingStation] = relationship(lazy="raise")
    # Not a column: the station's site, filled in by queries that ask for it
    # (`backend.domain.charging.history.session_select`) so that permission rules can read it.
    site_id: Mapped[uuid.UUID | None] = query_expression()

    __table_args__ = (
        UniqueConstraint("station_id", "ocpp_transaction_id"),
        Index("ix_charging_sessions_user_id_started_at", "user_id", "started_at"),
        Index("ix_charging_sessions_station_id_started_at", "station_id", "started_at"),
        # Covering on PostgreSQL: statistics read only these columns (migration 0008).
        Index(
            "ix_charging_sessions_started_at",
            "started_at",
            postgresql_include=[
                "station_id",
                "user_id",
                "stopped_at",
                "energy_wh",
                "inactivity_s",
                "cost_currency",
                "cost_excl_vat_minor",
                "cost_incl_vat_minor",
            ],
        ),
        # The billing worker's sweeps: sessions to settle, sessions waiting for an invoice.
        Index("ix_charging_sessions_billing_state_stopped_at", "billing_state", "stopped_at"),
        Index(
            "ix_charging_sessions_active",
            "station_id",
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )


class MeterSample(Base):
    __tablename__ = "meter_samples"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("charging_sessions.id", ondelete="CASCADE")
    )
    sampled_at: Mapped[datetime]
    # The meter's raw energy register, and the session's energy at that moment (meter resets
    # continued from the last total).
    energy_wh: Mapped[int | None] = mapped_column(BigInteger)
    session_energy_wh: Mapped[int | None] = mapped_column(BigInteger)
    power_w: Mapped[int | None]
    current_a_l1: Mapped[float | None]
    current_a_l2: Mapped[float | None]
    current_a_l3: Mapped[float | None]
    voltage_v_l1: Mapped[float | None]
    voltage_v_l2: Mapped[float | None]
    voltage_v_l3: Mapped[float | None]
    soc_percent: Mapped[int | None]
    # The session's cumulated cost at this sample (at the latest whole minute before it), in
    # minor units of the session's cost_currency; None when the session has no tariff.
    cost_excl_vat_minor: Mapped[int | None] = mapped_column(BigInteger)
    cost_incl_vat_minor: Mapped[int | None] = mapped_column(BigInteger)

    # One row per instant: a repeated or late message merges into it, never counts twice.
    __table_args__ = (UniqueConstraint("session_id", "sampled_at"),)


class OcppTransactionId(Base):
    """The counter behind OCPP 1.6 transaction ids: ours, unique across processes.

    Inserting a row hands out the next id (SQLite AUTOINCREMENT never reuses one; PostgreSQL
    uses its identity sequence); the row remembers which station asked.
    """

    __tablename__ = "ocpp_transaction_ids"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    station_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("charging_stations.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = ({"sqlite_autoincrement": True},)


class UnknownBadge(UUIDPrimaryKey, Base):
    """A badge nobody owns, presented at a station: reported to admins."""

    __tablename__ = "unknown_badges"

    uid: Mapped[str] = mapped_column(String(64))
    station_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("charging_stations.id", ondelete="CASCADE"), index=True
    )
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    count: Mapped[int] = mapped_column(default=1)

    __table_args__ = (UniqueConstraint("uid", "station_id"),)
