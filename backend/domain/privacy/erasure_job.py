"""Automatic erasure after a long inactivity: one job per server process, safe to run in many.

A person is inactive since the latest of their last login, their last charging session's
start and their account's creation (someone who charges with a badge every day but never opens
the web app is using the service: they are not erased). Then, with the settings
`erasure_inactive_days` (183) and `erasure_warning_days` (14):

1. inactive for `erasure_inactive_days - erasure_warning_days`: one warning mail, in their
   language, with the date of erasure and a link to log in (logging in, or charging, keeps the
   account: a warning older than the latest activity no longer counts);
2. inactive for `erasure_inactive_days` and warned at least `erasure_warning_days` ago (so a
   job that did not run for a while never erases without the full notice): erased
   (`erasure.Erasure.erase`).

Many processes may run the job at once: the warning is claimed by a conditional UPDATE of
`erasure_warning_sent_at` (only one process wins and mails; if the mail server refuses, the
claim is given back for the next run), and erasure claims the person the same way
(`erased_at`). Each person is warned once and erased once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import ChargingSession, User
from backend.domain.billing.gateway import PaymentGateway
from backend.domain.mailer import Mailer
from backend.domain.privacy import mails
from backend.domain.privacy.erasure import Erasure, ErasureBlocked
from backend.settings import Settings

log = logging.getLogger("vev_iq.privacy")

BATCH = 200


def active_since(moment: Any) -> ColumnElement[bool]:
    """On User: the person logged in, charged or signed up at or after `moment` (a value or
    a column)."""
    return or_(
        func.coalesce(User.last_login_at, User.created_at) >= moment,
        exists().where(ChargingSession.user_id == User.id, ChargingSession.started_at >= moment),
    )


def warning_valid() -> ColumnElement[bool]:
    """On User: a warning was sent and nothing happened on the account since."""
    return and_(
        User.erasure_warning_sent_at.is_not(None),
        not_(active_since(User.erasure_warning_sent_at)),
    )


@dataclass
class JobReport:
    warned: list[uuid.UUID] = field(default_factory=list)
    erased: list[uuid.UUID] = field(default_factory=list)
    blocked: list[uuid.UUID] = field(default_factory=list)


class ErasureJob:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        mailer: Mailer,
        *,
        gateway: PaymentGateway | None = None,
        interval_s: float | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.mailer = mailer
        self.erasure = Erasure(sessionmaker, settings, mailer, gateway)
        self.interval_s = settings.erasure_check_interval_s if interval_s is None else interval_s
        self._task: asyncio.Task[None] | None = None

    @property
    def inactive_after(self) -> timedelta:
        return timedelta(days=self.settings.erasure_inactive_days)

    @property
    def notice(self) -> timedelta:
        # The warning comes at least one day after the last activity, whatever the settings.
        days = min(self.settings.erasure_warning_days, self.settings.erasure_inactive_days - 1)
        return timedelta(days=max(days, 0))

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away for a moment: try again later
                log.exception("erasure job run failed")
            await asyncio.sleep(self.interval_s)

    # --- one run --------------------------------------------------------------------------------

    async def run_once(self, now: datetime | None = None) -> JobReport:
        now = now or utcnow()
        report = JobReport()
        await self._warn(now, report)
        await self._erase(now, report)
        return report

    async def _warn(self, now: datetime, report: JobReport) -> None:
        warn_from = now - (self.inactive_after - self.notice)
        due = and_(
            User.erased_at.is_(None),
            not_(active_since(warn_from)),
            not_(warning_valid()),
        )
        async with self.sessionmaker() as db:
            candidates = list(await db.scalars(select(User.id).where(due).limit(BATCH)))
        for user_id in candidates:
            async with self.sessionmaker() as db:
                # The claim: only one process sets the warning (the condition is re-checked
                # on the row under its lock).
                claimed = await db.execute(
                    update(User).where(User.id == user_id, due).values(erasure_warning_sent_at=now)
                )
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    await db.rollback()
                    continue
                await db.commit()
                user = await db.get_one(User, user_id)
                address, language, name = user.email, user.language, user.first_name
                last = await self._last_activity(db, user_id)
            erase_on = max(last + self.inactive_after, now + self.notice)
            sent = await self.mailer.send(
                mails.render(
                    "erasure_warning",
                    language,
                    address,
                    name=name,
                    date=erase_on.date().isoformat(),
                    months=max(1, round((now - last).days / 30.4)),
                    link=f"{self.settings.public_url.rstrip('/')}/login",
                )
            )
            if not sent:
                # Give the claim back: the next run tries again.
                async with self.sessionmaker() as db:
                    await db.execute(
                        update(User)
                        .where(User.id == user_id, User.erasure_warning_sent_at == now)
                        .values(erasure_warning_sent_at=None)
                    )
                    await db.commit()
                continue
            report.warned.append(user_id)
            log.info("user %s warned of erasure on %s", user_id, erase_on.date())

    async def _erase(self, now: datetime, report: JobReport) -> None:
        due = and_(
            User.erased_at.is_(None),
            not_(active_since(now - self.inactive_after)),
            warning_valid(),
            User.erasure_warning_sent_at <= now - self.notice,
        )
        async with self.sessionmaker() as db:
            candidates = list(await db.scalars(select(User.id).where(due).limit(BATCH)))
        for user_id in candidates:
            try:
                result = await self.erasure.erase(user_id, actor_id=None, reason="inactivity")
            except ErasureBlocked as exc:
                log.info("user %s not erased yet: %s", user_id, exc.message)
                report.blocked.append(user_id)
                continue
            if result is not None:
                report.erased.append(user_id)

    async def _last_activity(self, db: AsyncSession, user_id: uuid.UUID) -> datetime:
        user = await db.get_one(User, user_id)
        last = user.last_login_at or user.created_at
        charged = await db.scalar(
            select(ChargingSession.started_at)
            .where(ChargingSession.user_id == user_id)
            .order_by(ChargingSession.started_at.desc())
            .limit(1)
        )
        return max(last, charged) if charged is not None else last
