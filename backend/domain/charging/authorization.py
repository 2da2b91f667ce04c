"""Who may charge: a badge (or a user starting from the app) at a station.

Rules, in order:
- an unknown badge is recorded for admins (`unknown_badges`); it is refused where the station's
  site area has access control on, and accepted where it is off;
- a known card is refused (Blocked) when the card or its user is not active;
- with access control off, any active user's active card is accepted;
- with access control on, the user must be assigned to the station's site (administrators are
  accepted on every site); a station in no site area counts as access control on with nobody
  assigned;
- with a payment provider configured (Stripe) and `billing_require_payment_method`, the user
  must have a payment method on file (`billing_accounts`), else Blocked (`no_payment_method`).
A refusal is recorded in the audit log (the card, never its number).
"""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import (
    AuditEntry,
    BillingAccount,
    ChargingStation,
    RfidCard,
    Role,
    SiteArea,
    SiteMember,
    UnknownBadge,
    User,
    UserStatus,
)
from backend.settings import Settings, get_settings


class AuthorizationStatus(enum.StrEnum):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"  # the card or its user is not active
    INVALID = "Invalid"  # nobody owns this badge
    NOT_AT_THIS_LOCATION = "NotAtThisLocation"  # the user is not assigned to this site


@dataclass(frozen=True)
class AuthorizationResult:
    status: AuthorizationStatus
    user_id: uuid.UUID | None = None
    card_id: uuid.UUID | None = None
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is AuthorizationStatus.ACCEPTED


def normalize_badge(uid: str) -> str:
    """Badges are read as hex by most stations; case and separators vary by reader."""
    return re.sub(r"[\s:\-]", "", uid).upper()[:64]


@dataclass(frozen=True)
class _Place:
    site_id: uuid.UUID | None
    access_control: bool


class Authorization:
    def __init__(self, session: AsyncSession, settings: Settings | None = None) -> None:
        self.session = session
        self._settings = settings
        self._record = True

    async def _place(self, station_id: uuid.UUID) -> _Place:
        row = (
            await self.session.execute(
                select(ChargingStation.site_id, SiteArea.access_control)
                .outerjoin(SiteArea, SiteArea.id == ChargingStation.site_area_id)
                .where(ChargingStation.id == station_id)
            )
        ).one_or_none()
        if row is None or row.access_control is None:
            return _Place(site_id=row.site_id if row else None, access_control=True)
        return _Place(site_id=row.site_id, access_control=bool(row.access_control))

    async def authorize_badge(
        self, station_id: uuid.UUID, uid: str, *, at: datetime | None = None, record: bool = True
    ) -> AuthorizationResult:
        """Decide on a badge and record what must be (unknown badge, refusal). Not committed.

        `record=False` decides without recording: for a message seen before (a repeat).
        """
        self._record = record
        badge = normalize_badge(uid)
        place = await self._place(station_id)
        row = (
            await self.session.execute(
                select(RfidCard.id, RfidCard.active, User.id, User.status, User.role)
                .join(User, User.id == RfidCard.user_id)
                .where(RfidCard.uid == badge)
            )
        ).one_or_none()
        if row is None:
            await self._record_unknown(station_id, badge, at or utcnow())
            if not place.access_control:
                return AuthorizationResult(AuthorizationStatus.ACCEPTED)
            return self._refuse(
                station_id, AuthorizationResult(AuthorizationStatus.INVALID, reason="unknown_badge")
            )
        card_id, card_active, user_id, user_status, role = row
        if not card_active:
            return self._refuse(
                station_id,
                AuthorizationResult(AuthorizationStatus.BLOCKED, user_id, card_id, "card_inactive"),
            )
        return await self._decide_user(station_id, place, user_id, user_status, role, card_id)

    async def authorize_user(
        self, station_id: uuid.UUID, user_id: uuid.UUID
    ) -> AuthorizationResult:
        """The same rules for a start from the app (no badge). Not committed."""
        self._record = True
        place = await self._place(station_id)
        row = (
            await self.session.execute(select(User.status, User.role).where(User.id == user_id))
        ).one_or_none()
        if row is None:
            return AuthorizationResult(AuthorizationStatus.INVALID, reason="unknown_user")
        return await self._decide_user(station_id, place, user_id, row.status, row.role, None)

    async def _decide_user(
        self,
        station_id: uuid.UUID,
        place: _Place,
        user_id: uuid.UUID,
        user_status: UserStatus,
        role: Role,
        card_id: uuid.UUID | None,
    ) -> AuthorizationResult:
        if user_status is not UserStatus.ACTIVE:
            return self._refuse(
                station_id,
                AuthorizationResult(AuthorizationStatus.BLOCKED, user_id, card_id, "user_inactive"),
            )
        if not place.access_control or role is Role.ADMIN:
            return await self._billable(station_id, user_id, card_id)
        member = place.site_id is not None and await self.session.scalar(
            select(SiteMember.user_id).where(
                SiteMember.site_id == place.site_id, SiteMember.user_id == user_id
            )
        )
        if not member:
            return self._refuse(
                station_id,
                AuthorizationResult(
                    AuthorizationStatus.NOT_AT_THIS_LOCATION,
                    user_id,
                    card_id,
                    "not_assigned_to_site",
                ),
            )
        return await self._billable(station_id, user_id, card_id)

    async def _billable(
        self, station_id: uuid.UUID, user_id: uuid.UUID, card_id: uuid.UUID | None
    ) -> AuthorizationResult:
        """Accepted, unless billing charges through a provider and the user has no payment
        method on file (one primary-key lookup)."""
        settings = self._settings or get_settings()
        if settings.stripe_api_key and settings.billing_require_payment_method:
            method = await self.session.scalar(
                select(BillingAccount.payment_method_id).where(BillingAccount.user_id == user_id)
            )
            if not method:
                return self._refuse(
                    station_id,
                    AuthorizationResult(
                        AuthorizationStatus.BLOCKED, user_id, card_id, "no_payment_method"
                    ),
                )
        return AuthorizationResult(AuthorizationStatus.ACCEPTED, user_id, card_id)

    def _refuse(self, station_id: uuid.UUID, result: AuthorizationResult) -> AuthorizationResult:
        if not self._record:
            return result
        self.session.add(
            AuditEntry(
                actor_user_id=None,
                action="charging.authorization_refused",
                target_type="ChargingStation",
                target_id=str(station_id),
                details={
                    "status": result.status.value,
                    "reason": result.reason,
                    **({"card_id": str(result.card_id)} if result.card_id else {}),
                    **({"user_id": str(result.user_id)} if result.user_id else {}),
                },
            )
        )
        return result

    async def _record_unknown(self, station_id: uuid.UUID, uid: str, at: datetime) -> None:
        if not self._record:
            return
        updated = await self.session.execute(
            update(UnknownBadge)
            .where(UnknownBadge.uid == uid, UnknownBadge.station_id == station_id)
            .values(count=UnknownBadge.count + 1, last_seen_at=at)
        )
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            self.session.add(
                UnknownBadge(uid=uid, station_id=station_id, first_seen_at=at, last_seen_at=at)
            )
            await self.session.flush()

    async def unknown_badges(self, limit: int = 100) -> list[UnknownBadge]:
        """The most recently seen unknown badges, for admins (the caller checks the viewer)."""
        rows = await self.session.scalars(
            select(UnknownBadge).order_by(UnknownBadge.last_seen_at.desc()).limit(limit)
        )
        return list(rows)
