"""The Alembic history and the ORM models describe the same schema, on every backend."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from backend.db import migrations
from backend.db.base import Base
from backend.db.engine import create_engine
from tests.conftest import is_postgres, reset_postgres


def _diff(url: str) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:

                def compare(sync_conn: Any) -> list[Any]:
                    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                    return list(compare_metadata(context, Base.metadata))

                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _tables(url: str) -> set[str]:
    async def run() -> set[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_head_matches_models(db_url: str) -> None:
    # db_url was migrated to head by the session fixture.
    assert _diff(db_url) == []


def test_downgrade_to_base_and_back(tmp_path: Any, db_url: str) -> None:
    url = db_url if is_postgres(db_url) else f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}"
    if is_postgres(url):
        asyncio.run(reset_postgres(url))
    migrations.upgrade(url)
    assert set(Base.metadata.tables) <= _tables(url)
    migrations.downgrade(url, "base")
    assert _tables(url) <= {"alembic_version"}
    migrations.upgrade(url)
    assert _diff(url) == []
