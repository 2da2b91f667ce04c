"""Insert a row unless one with the same key exists, on PostgreSQL and SQLite alike (the
first step of a race-free counter, lease or account: an UPDATE of the row follows)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_if_missing(
    session: AsyncSession, model: Any, conflict_on: str, /, **values: Any
) -> None:
    """In the session's transaction; ``conflict_on``: the unique column of the key."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(model).values(**values).on_conflict_do_nothing(index_elements=[conflict_on])
    )
