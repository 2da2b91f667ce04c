"""Restriction of processing and objection: the one filter every purpose applies.

A person is left out of a purpose (`Purpose`) when

- they objected to it (`User.objections`), or
- it is one of analytics, data-science exports and demand prediction and they restricted
  processing (`User.exclude_from_analytics`), or
- they withdrew their consent and have not given it again (`consent_history.withdraw`): all
  of these purposes rest on it.

Every place that runs such a purpose filters with the helpers below, in SQL, so nothing about
an excluded person is even loaded:

    from backend.domain.privacy.restrictions import analytics_allowed, sessions_allowed
    select(ChargingSession).where(analytics_allowed())                   # statistics
    select(ChargingSession).where(sessions_allowed(Purpose.DATA_SCIENCE_EXPORT))

Sessions without a driver (unknown badges with access control off) belong to nobody and are
always allowed. An erased person keeps their restrictions and objections: their sessions stay
(pseudonymized) for accounting, and what they refused stays refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, String, and_, cast, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import ChargingSession, ConsentRecord, Purpose, User
from backend.db.models.users import RESTRICTED_BY_ANALYTICS_OPT_OUT
from backend.domain.errors import InvalidInput

__all__ = [
    "Purpose",
    "allows",
    "analytics_allowed",
    "analytics_excluded_user_ids",
    "clean_objections",
    "consent_withdrawn",
    "excluded_user_ids",
    "excluded_users",
    "sessions_allowed",
    "user_allowed",
    "user_excluded",
]


def _objects_to(purpose: Purpose) -> ColumnElement[bool]:
    # `objections` is a JSON list of plain identifiers (no quotes or wildcards in them): a text
    # match on the serialized list works alike on SQLite and PostgreSQL, without JSON operators.
    return cast(User.objections, String).like(f'%"{purpose.value}"%')


def consent_withdrawn() -> ColumnElement[bool]:
    """On User: consent withdrawn and not given again since."""
    withdrawn = exists().where(
        ConsentRecord.user_id == User.id, ConsentRecord.withdrawn_at.is_not(None)
    )
    standing = exists().where(
        ConsentRecord.user_id == User.id, ConsentRecord.withdrawn_at.is_(None)
    )
    return and_(withdrawn, ~standing)


def user_excluded(purpose: Purpose) -> ColumnElement[bool]:
    """On User: the person is left out of `purpose`."""
    clauses = [_objects_to(purpose), consent_withdrawn()]
    if purpose in RESTRICTED_BY_ANALYTICS_OPT_OUT:
        clauses.append(User.exclude_from_analytics.is_(True))
    return or_(*clauses)


def user_allowed(purpose: Purpose) -> ColumnElement[bool]:
    """On User: the person may be part of `purpose`."""
    return ~user_excluded(purpose)


def excluded_users(purpose: Purpose) -> Select[uuid.UUID]:
    """The ids of the people left out of `purpose`, as a subquery."""
    return select(User.id).where(user_excluded(purpose))


def sessions_allowed(purpose: Purpose) -> ColumnElement[bool]:
    """On ChargingSession: the sessions `purpose` may use."""
    return or_(
        ChargingSession.user_id.is_(None),
        ChargingSession.user_id.not_in(excluded_users(purpose)),
    )


def analytics_allowed() -> ColumnElement[bool]:
    """On ChargingSession: the sessions statistics may count beyond their driver's own view."""
    return sessions_allowed(Purpose.ANALYTICS)


async def excluded_user_ids(session: AsyncSession, purpose: Purpose) -> set[uuid.UUID]:
    """The people left out of `purpose`, for code that filters in Python (e.g. a model fed
    with rows already loaded)."""
    return set(await session.scalars(excluded_users(purpose)))


async def analytics_excluded_user_ids(session: AsyncSession) -> set[uuid.UUID]:
    return await excluded_user_ids(session, Purpose.ANALYTICS)


async def allows(session: AsyncSession, user_id: uuid.UUID, purpose: Purpose) -> bool:
    """Whether one person may be part of `purpose` (one query)."""
    excluded = await session.scalar(
        select(User.id).where(User.id == user_id, user_excluded(purpose))
    )
    return excluded is None


def clean_objections(values: Iterable[str]) -> list[str]:
    """Purpose codes, validated, without duplicates, in a stable order."""
    known = {p.value for p in Purpose}
    chosen: set[str] = set()
    for value in values:
        code = str(value).strip().lower()
        if code not in known:
            raise InvalidInput(
                f"Unknown purpose {value!r}: use one of {', '.join(sorted(known))}.",
                field="objections",
            )
        chosen.add(code)
    return [p.value for p in Purpose if p.value in chosen]
