"""The buffered writer of the OCPP path: batches, throttles repeats, and never fails its caller
(not even when the database is gone)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import LogCategory, LogLevel
from backend.domain.system_logs import SystemLogWriter
from tests.system_logs.helpers import rows, wait_for


async def test_rows_are_written_in_batches_in_the_background(sessionmaker: Any) -> None:
    writer = SystemLogWriter(sessionmaker, linger_s=0.05, per_minute=1000)
    for n in range(120):
        writer.emit(
            LogLevel.WARNING,
            LogCategory.OCPP,
            "ocpp.malformed_frame",
            "The station sent a frame that is not valid OCPP-J.",
            ocpp_identity=f"CP-{n % 3}",
            details={"code": "FormationViolation", "idTag": "AABBCCDD"},
        )
    found = await wait_for(sessionmaker, "ocpp.malformed_frame", 120)
    assert writer.written == 120
    assert all(row.details == {"code": "FormationViolation"} for row in found)
    assert {row.level for row in found} == {LogLevel.WARNING}
    await writer.close()


async def test_a_station_repeating_itself_is_throttled(sessionmaker: Any) -> None:
    writer = SystemLogWriter(sessionmaker, per_minute=5)
    for _ in range(50):
        writer.emit(
            LogLevel.WARNING, LogCategory.OCPP, "ocpp.unknown_action", "x", ocpp_identity="CP-LOUD"
        )
    writer.emit(
        LogLevel.WARNING, LogCategory.OCPP, "ocpp.unknown_action", "x", ocpp_identity="CP-QUIET"
    )
    await writer.close()
    assert len(await rows(sessionmaker, ocpp_identity="CP-LOUD")) == 5
    assert len(await rows(sessionmaker, ocpp_identity="CP-QUIET")) == 1
    assert writer.suppressed == 45
    # The next minute's first row says how many were left out.
    writer2 = SystemLogWriter(sessionmaker, per_minute=5)
    writer2._recent[("CP-LOUD", "ocpp.unknown_action")] = [-1, 5, 45]
    writer2.emit(
        LogLevel.WARNING, LogCategory.OCPP, "ocpp.unknown_action", "x", ocpp_identity="CP-LOUD"
    )
    await writer2.close()
    last = (await rows(sessionmaker, ocpp_identity="CP-LOUD"))[-1]
    assert last.details == {"suppressed": 45}


async def test_a_full_queue_drops_rather_than_grows(sessionmaker: Any) -> None:
    writer = SystemLogWriter(sessionmaker, max_queue=10, per_minute=1000)
    # No await in between: the background task cannot drain the queue meanwhile.
    for _ in range(25):
        writer.emit(LogLevel.ERROR, LogCategory.SYSTEM, "system.test", "x")
    assert writer.dropped == 15
    await writer.close()
    assert len(await rows(sessionmaker, event="system.test")) == 10


async def test_a_database_failure_never_reaches_the_caller(tmp_path: Path) -> None:
    # A database without the table: every write fails.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        writer = SystemLogWriter(create_sessionmaker(engine), linger_s=0.01)
        for _ in range(3):
            writer.emit(LogLevel.ERROR, LogCategory.OCPP, "ocpp.internal_error", "x")
        await asyncio.sleep(0.3)
        await writer.close()
        assert writer.written == 0 and writer.dropped == 3
        # Closed: further rows are dropped, silently.
        writer.emit(LogLevel.ERROR, LogCategory.OCPP, "ocpp.internal_error", "x")
        assert writer.dropped == 4
    finally:
        await engine.dispose()


async def test_one_bad_row_does_not_lose_the_batch(sessionmaker: Any) -> None:
    import uuid

    writer = SystemLogWriter(sessionmaker, per_minute=1000)
    writer.emit(LogLevel.INFO, LogCategory.OCPP, "ocpp.a", "good")
    # A station id that does not exist: its foreign key fails, alone.
    writer.emit(LogLevel.INFO, LogCategory.OCPP, "ocpp.b", "bad", station_id=uuid.uuid4())
    writer.emit(LogLevel.INFO, LogCategory.OCPP, "ocpp.c", "good")
    await writer.close()
    assert [row.event for row in await rows(sessionmaker)] == ["ocpp.a", "ocpp.c"]
    assert writer.dropped == 1
