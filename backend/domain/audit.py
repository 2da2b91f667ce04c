"""Writing the audit log. Field names are recorded, never their values."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuditEntry


def record(
    session: AsyncSession,
    actor_id: uuid.UUID | None,
    action: str,
    target: Any = None,
    *,
    fields: Iterable[str] = (),
    **details: Any,
) -> None:
    entry = AuditEntry(
        actor_user_id=actor_id,
        action=action,
        target_type=type(target).__name__ if target is not None else None,
        target_id=str(target.id) if target is not None else None,
        details={**({"fields": sorted(fields)} if fields else {}), **details},
    )
    session.add(entry)
