"""One planning run per site area at a time, across every server process: a lease row.

A run takes the lease of its area by writing a random holder token and an expiry into the
area's row, but only if nobody holds it or the holder's lease expired (a crashed process);
one UPDATE with that condition is atomic on SQLite (one writer at a time) and on PostgreSQL
(the row lock re-checks the condition). The holder renews the expiry while it runs and, at
the end, clears the holder and records `last_run_at` (when the state it planned from was
read), so a process that asked for a run before that instant can skip it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import SmartChargingLease
from backend.db.upsert import insert_if_missing


@dataclass(frozen=True)
class Lease:
    site_area_id: uuid.UUID
    token: str
    last_run_at: datetime | None  # the previous run's, read when the lease was taken


async def acquire(
    sessionmaker: async_sessionmaker[AsyncSession], site_area_id: uuid.UUID, ttl_s: float
) -> Lease | None:
    """The lease of the area, or None when another run holds it."""
    token = uuid.uuid4().hex
    now = utcnow()
    async with sessionmaker() as db:
        await insert_if_missing(db, SmartChargingLease, "site_area_id", site_area_id=site_area_id)
        taken = await db.execute(
            update(SmartChargingLease)
            .where(
                SmartChargingLease.site_area_id == site_area_id,
                or_(
                    SmartChargingLease.holder.is_(None),
                    SmartChargingLease.expires_at.is_(None),
                    SmartChargingLease.expires_at < now,
                ),
            )
            .values(holder=token, expires_at=now + timedelta(seconds=ttl_s))
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            await db.rollback()
            return None
        last = await db.scalar(
            select(SmartChargingLease.last_run_at).where(
                SmartChargingLease.site_area_id == site_area_id
            )
        )
        await db.commit()
    return Lease(site_area_id, token, last)


async def renew(sessionmaker: async_sessionmaker[AsyncSession], lease: Lease, ttl_s: float) -> bool:
    """Push the expiry back; False when the lease was lost (it expired and was taken)."""
    async with sessionmaker() as db:
        result = await db.execute(
            update(SmartChargingLease)
            .where(
                SmartChargingLease.site_area_id == lease.site_area_id,
                SmartChargingLease.holder == lease.token,
            )
            .values(expires_at=utcnow() + timedelta(seconds=ttl_s))
        )
        await db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release(
    sessionmaker: async_sessionmaker[AsyncSession], lease: Lease, ran_at: datetime | None
) -> None:
    """Give the lease back; `ran_at`: when the finished run read its state (None: no run)."""
    values: dict[str, object] = {"holder": None, "expires_at": None}
    if ran_at is not None:
        values["last_run_at"] = ran_at
    async with sessionmaker() as db:
        await db.execute(
            update(SmartChargingLease)
            .where(
                SmartChargingLease.site_area_id == lease.site_area_id,
                SmartChargingLease.holder == lease.token,
            )
            .values(**values)
        )
        await db.commit()
