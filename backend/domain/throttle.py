"""Limits on what one client address may do in a window: failed logins (password guessing
spread over many accounts, which the per-account lockout does not see) and requests that send
an email to an address someone typed (sign-up, password reset: a way to flood a mailbox).

The counts live in the database, so that every server process sees the same ones. An address
is personal data: it is kept only as a keyed hash (HMAC with the secret key), and a row is
dropped once its window is long over.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import ThrottleWindow
from backend.db.upsert import insert_if_missing
from backend.domain.errors import TooManyAttempts

#: rows older than this are dropped whatever their limit (windows are shorter than that)
STALE = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` in ``window``, counted per client address."""

    name: str
    attempts: int
    window: timedelta


class Throttle:
    def __init__(self, session: AsyncSession, secret: str) -> None:
        self.session = session
        self.secret = secret.encode()

    def key(self, limit: Limit, client: str) -> str:
        message = f"{limit.name}\x00{client}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    async def check(self, limit: Limit, client: str | None, now: datetime) -> None:
        """Refuse at once when the address has used up its attempts in the current window."""
        if client is None or limit.attempts <= 0:
            return
        row = await self.session.get(
            ThrottleWindow, self.key(limit, client), populate_existing=True
        )
        if row is None or row.attempts < limit.attempts:
            return
        ends = row.window_started_at + limit.window
        if ends <= now:
            return
        seconds = max(1, int((ends - now).total_seconds()))
        minutes = -(-seconds // 60)
        raise TooManyAttempts(
            f"Too many attempts from your network. Please try again in {minutes} minute"
            f"{'s' if minutes > 1 else ''}.",
            retryAfterSeconds=seconds,
        )

    async def hit(self, limit: Limit, client: str | None, now: datetime) -> int:
        """Count one attempt in the caller's transaction; returns the window's count so far
        (0 when nothing is counted)."""
        if client is None or limit.attempts <= 0:
            return 0
        key = self.key(limit, client)
        await insert_if_missing(
            self.session, ThrottleWindow, "key", key=key, window_started_at=now, attempts=0
        )
        over = ThrottleWindow.window_started_at <= now - limit.window
        count = (
            await self.session.execute(
                update(ThrottleWindow)
                .where(ThrottleWindow.key == key)
                .values(
                    window_started_at=case((over, now), else_=ThrottleWindow.window_started_at),
                    attempts=case((over, 1), else_=ThrottleWindow.attempts + 1),
                )
                .returning(ThrottleWindow.attempts)
                .execution_options(synchronize_session=False)
            )
        ).scalar_one()
        # Windows long over tell nothing any more (and hold hashed addresses): drop them.
        await self.session.execute(
            delete(ThrottleWindow)
            .where(ThrottleWindow.window_started_at < now - max(2 * limit.window, STALE))
            .execution_options(synchronize_session=False)
        )
        return int(count)
