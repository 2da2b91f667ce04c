"""Consent history and withdrawal.

Every consent ever given is kept (`consent_records`: policy version, when given, when
withdrawn): it is the proof the operator owes. Withdrawing consent

- marks every standing consent withdrawn (the history keeps them, with the time),
- logs the person out everywhere (every login session revoked; a token still held is refused
  from then on, also because `Accounts.viewer_for_token` requires a standing consent),
- refuses every login until the person consents again (the login form asks, as at the first
  login),
- leaves the person out of everything that rests on consent (`restrictions`: analytics,
  data-science exports, demand prediction, smart-charging personalization) and stops
  non-essential mails (`notifications`) until they consent again.

Charging with a badge, billing and the audit log do not rest on consent (the service asked for,
legal obligations) and go on; to stop those, the person asks for erasure.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import AuthSession, ConsentRecord, LogCategory, LogLevel, User
from backend.domain import audit, system_logs
from backend.domain.access import require_self_or_data_rights_officer
from backend.domain.errors import Conflict, NotFound
from backend.domain.viewer import Viewer


@dataclass(frozen=True)
class ConsentEvent:
    policy_version: str
    given_at: datetime
    withdrawn_at: datetime | None

    @property
    def standing(self) -> bool:
        return self.withdrawn_at is None


async def history(session: AsyncSession, user_id: uuid.UUID) -> list[ConsentEvent]:
    """Every consent of the person, oldest first."""
    rows = await session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.user_id == user_id)
        .order_by(ConsentRecord.accepted_at, ConsentRecord.id)
    )
    return [ConsentEvent(r.policy_version, r.accepted_at, r.withdrawn_at) for r in rows]


async def withdraw(session: AsyncSession, viewer: Viewer, user_id: uuid.UUID | None) -> int:
    """Withdraw the person's consent (themself, or an admin or the DPO on their request) and
    log them out everywhere. Returns how many login sessions were revoked. Committed."""
    target_id = user_id or viewer.user_id
    require_self_or_data_rights_officer(viewer, target_id)
    assert target_id is not None
    user = await session.get(User, target_id)
    if user is None or user.erased_at is not None:
        raise NotFound("No such user.", field="userId")
    now = utcnow()
    withdrawn = await session.execute(
        update(ConsentRecord)
        .where(ConsentRecord.user_id == target_id, ConsentRecord.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )
    if withdrawn.rowcount == 0:  # type: ignore[attr-defined]
        raise Conflict("There is no standing consent to withdraw.", field="consent")
    revoked = await session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == target_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    audit.record(session, viewer.user_id, "user.consent_withdrawn", user)
    ended = int(revoked.rowcount)  # type: ignore[attr-defined]
    system_logs.record(
        session,
        LogLevel.INFO,
        LogCategory.SECURITY,
        "security.consent_withdrawn",
        "Consent to the privacy policy was withdrawn; every login session was ended.",
        user_id=target_id,
        details={"by_self": viewer.user_id == target_id, "sessions_ended": ended},
    )
    await session.commit()
    return ended
