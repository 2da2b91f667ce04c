"""Setting restrictions and objections: the person themself, or an admin or the DPO for them.

Every change is audited with the names of the fields changed (their values are the person's
choices, not secrets, but the audit log records names only, like every other change).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Purpose, User
from backend.domain import audit
from backend.domain.access import require_self_or_data_rights_officer
from backend.domain.errors import NotFound
from backend.domain.privacy.restrictions import clean_objections
from backend.domain.viewer import Viewer


async def _target(db: AsyncSession, viewer: Viewer, user_id: uuid.UUID | None) -> User:
    target_id = user_id or viewer.user_id
    require_self_or_data_rights_officer(viewer, target_id)
    user = await db.get(User, target_id) if target_id is not None else None
    if user is None or user.erased_at is not None:
        raise NotFound("No such user.", field="userId")
    return user


async def set_preferences(
    db: AsyncSession,
    viewer: Viewer,
    user_id: uuid.UUID | None = None,
    *,
    exclude_from_analytics: bool | None = None,
    nonessential_notifications: bool | None = None,
    objections: Iterable[str] | None = None,
) -> User:
    """Change what is given (None leaves a setting as it is). Committed."""
    user = await _target(db, viewer, user_id)
    changed: list[str] = []
    if exclude_from_analytics is not None and exclude_from_analytics != user.exclude_from_analytics:
        user.exclude_from_analytics = exclude_from_analytics
        changed.append("excludeFromAnalytics")
    if (
        nonessential_notifications is not None
        and nonessential_notifications != user.nonessential_notifications
    ):
        user.nonessential_notifications = nonessential_notifications
        changed.append("nonessentialNotifications")
    if objections is not None:
        cleaned = clean_objections(objections)
        if cleaned != clean_objections(user.objections or []):
            user.objections = cleaned
            changed.append("objections")
    if changed:
        audit.record(db, viewer.user_id, "user.privacy_preferences", user, fields=changed)
    await db.commit()
    return user


async def object_to(
    db: AsyncSession,
    viewer: Viewer,
    purpose: Purpose,
    *,
    objected: bool = True,
    user_id: uuid.UUID | None = None,
) -> User:
    """Object to one purpose (or withdraw the objection with `objected=False`)."""
    user = await _target(db, viewer, user_id)
    current = set(user.objections or [])
    wanted = current | {purpose.value} if objected else current - {purpose.value}
    return await set_preferences(db, viewer, user.id, objections=wanted)
