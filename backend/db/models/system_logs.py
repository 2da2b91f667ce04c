"""System logs: what happened to the system (OCPP errors, security events, jobs), for admins.

Who changed which record stays in the audit log (`audit.py`); the admin view shows both. A
row names stations and people by id only: the message is a fixed sentence, the details are
sanitised by `backend.domain.system_logs.sanitize` (no passwords, tokens, secrets or badge
numbers), and rows older than `system_log_retention_days` are deleted.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, utcnow
from backend.db.models.charging import BigIntPK
from backend.db.models.enums import str_enum


class LogLevel(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class LogCategory(enum.StrEnum):
    OCPP = "ocpp"
    SECURITY = "security"
    ADMIN = "admin"
    BILLING = "billing"
    SYSTEM = "system"


class SystemLogEntry(Base):
    __tablename__ = "system_logs"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    level: Mapped[LogLevel] = mapped_column(str_enum(LogLevel, 8))
    category: Mapped[LogCategory] = mapped_column(str_enum(LogCategory))
    # A stable code ("ocpp.malformed_frame", "security.login_failed"): what filters and
    # translations key on; the message is its sentence for people.
    event: Mapped[str] = mapped_column(String(64))
    station_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("charging_stations.id", ondelete="SET NULL")
    )
    # The identity the station connected with: known even for stations we do not know (yet).
    ocpp_identity: Mapped[str | None] = mapped_column(String(48))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    message: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        # The admin view lists newest first, filtered by one of these (time is always a bound).
        Index("ix_system_logs_at", "at"),
        Index("ix_system_logs_category_at", "category", "at"),
        Index("ix_system_logs_level_at", "level", "at"),
        Index("ix_system_logs_station_id_at", "station_id", "at"),
    )
