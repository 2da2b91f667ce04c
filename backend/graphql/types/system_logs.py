"""System logs for administrators: OCPP errors, security events, and the audit log merged in."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from backend.db.models import LogCategory, LogLevel
from backend.domain.system_logs import LogItem

strawberry.enum(LogLevel, description="How serious a log entry is.")
strawberry.enum(
    LogCategory,
    description="What a log entry is about (ADMIN: the audit log of who changed what).",
)


@strawberry.enum(description="Where a log entry is kept.")
class LogSource(enum.Enum):
    SYSTEM = "log"  # the system logs (expire after SYSTEM_LOG_RETENTION_DAYS)
    AUDIT = "audit"  # the audit log


@strawberry.type(name="SystemLogEntry")
class SystemLogEntry:
    """One line of the system logs. Stations and people appear by id only; the details hold
    neither passwords, tokens, secrets nor badge numbers."""

    id: strawberry.ID
    source: LogSource
    at: datetime
    level: LogLevel
    category: LogCategory
    event: str = strawberry.field(
        description='A stable code, e.g. "ocpp.malformed_frame" or "security.login_failed".'
    )
    message: str
    station_id: strawberry.ID | None
    ocpp_identity: str | None
    user_id: strawberry.ID | None = strawberry.field(
        description="The person concerned (security events) or who acted (audit entries)."
    )
    details: JSON

    @classmethod
    def of(cls, item: LogItem) -> SystemLogEntry:
        return cls(
            id=strawberry.ID(item.id),
            source=LogSource(item.source),
            at=item.at,
            level=item.level,
            category=item.category,
            event=item.event,
            message=item.message,
            station_id=strawberry.ID(str(item.station_id)) if item.station_id else None,
            ocpp_identity=item.ocpp_identity,
            user_id=strawberry.ID(str(item.user_id)) if item.user_id else None,
            details=cast(JSON, item.details),
        )
