"""Tariffs (OCPI 2.2.1 shape) attached to the organization, a site, a site area or a station.

The elements are kept as JSON in the OCPI shape (prices as decimal strings, never floats) and
validated by `backend.domain.billing.tariffs` through the pure model of `backend.pricing`
before they are stored. A session freezes a copy of its tariff when it starts
(`ChargingSession.tariff_snapshot`), so editing or retiring a tariff never reprices a session.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey
from backend.db.models.enums import str_enum


class TariffScope(enum.StrEnum):
    ORGANIZATION = "organization"
    SITE = "site"
    SITE_AREA = "site_area"
    STATION = "station"


class Tariff(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "tariffs"

    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    # A decimal string ("20", "5.5"): money and rates are never floats.
    vat_percent: Mapped[str] = mapped_column(String(16))
    # OCPI 2.2.1 TariffElement objects (decimal strings for prices and limits).
    elements: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    scope: Mapped[TariffScope] = mapped_column(str_enum(TariffScope))
    # The site, site area or station; None for the organization.
    target_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    # The site the target belongs to, for permissions and listings (None: organization).
    site_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), index=True
    )
    # Validity: from inclusive, until exclusive; None is open-ended. Retiring sets valid_until.
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    __table_args__ = (Index("ix_tariffs_scope_target_id", "scope", "target_id"),)
