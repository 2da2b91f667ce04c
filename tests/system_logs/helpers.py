"""Reading the system logs back from the database, waiting for the buffered writer."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import SystemLogEntry


async def rows(
    sessionmaker: async_sessionmaker[AsyncSession], **where: Any
) -> list[SystemLogEntry]:
    async with sessionmaker() as db:
        stmt = select(SystemLogEntry).order_by(SystemLogEntry.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(SystemLogEntry, name) == value)
        return list(await db.scalars(stmt))


async def wait_for(
    sessionmaker: async_sessionmaker[AsyncSession], event: str, count: int = 1, **where: Any
) -> list[SystemLogEntry]:
    """The rows of this event once there are `count` of them (the writer lingers a little)."""
    deadline = time.monotonic() + 10
    while True:
        found = await rows(sessionmaker, event=event, **where)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no {count} {event} rows; got {len(found)}")
        await asyncio.sleep(0.05)


def dump(entries: list[SystemLogEntry]) -> str:
    """Everything stored in these rows, as one text to search secrets in."""
    return json.dumps(
        [
            [e.event, e.message, e.ocpp_identity, str(e.user_id), str(e.station_id), e.details]
            for e in entries
        ],
        ensure_ascii=False,
    )
