"""The write-behind batcher never acknowledges what is not committed.

The database really fails here: a trigger on meter_samples (SQLite or PostgreSQL) rejects
readings whose energy register is above POISON, like a constraint would, in the middle of a
batch of several stations' messages. Those stations get no answer (a CALLERROR InternalError
over OCPP), nothing of theirs is stored, and their retry, once the database accepts it again,
is stored exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.db.models import MeterSample
from backend.domain.charging import Charging, Reading, ReadingsRequest, StartRequest
from backend.events import CollectingBus, SessionUpdated
from ocpp_server.ingest import IngestBatcher
from tests.ocpp.conftest import base_time, exchange, raw, station
from tests.ocpp.test_messy_reality import start
from tests.ocpp.test_v16 import mv

POISON = 9_000_000

SQLITE_TRIGGER = [
    "CREATE TRIGGER ingest_fails BEFORE INSERT ON meter_samples "
    f"WHEN NEW.energy_wh >= {POISON} BEGIN SELECT RAISE(ABORT, 'the disk says no'); END"
]
POSTGRES_TRIGGER = [
    "CREATE FUNCTION ingest_fails() RETURNS trigger AS $$ BEGIN "
    f"IF NEW.energy_wh >= {POISON} THEN RAISE EXCEPTION 'the disk says no'; END IF; "
    "RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER ingest_fails BEFORE INSERT ON meter_samples "
    "FOR EACH ROW EXECUTE FUNCTION ingest_fails()",
]


@pytest.fixture
async def failing_inserts(engine: AsyncEngine) -> AsyncIterator[Any]:
    """Installs the failing trigger; `await lift()` removes it (so does the teardown)."""
    postgres = engine.dialect.name == "postgresql"
    async with engine.begin() as conn:
        for statement in POSTGRES_TRIGGER if postgres else SQLITE_TRIGGER:
            await conn.execute(text(statement))

    async def lift() -> None:
        async with engine.begin() as conn:
            if postgres:
                await conn.execute(text("DROP TRIGGER IF EXISTS ingest_fails ON meter_samples"))
                await conn.execute(text("DROP FUNCTION IF EXISTS ingest_fails()"))
            else:
                await conn.execute(text("DROP TRIGGER IF EXISTS ingest_fails"))

    try:
        yield lift
    finally:
        await lift()


async def samples(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[Any, int]]:
    async with sessionmaker() as db:
        rows = await db.execute(
            select(MeterSample.session_id, MeterSample.energy_wh).order_by(MeterSample.energy_wh)
        )
        return [(session_id, energy) for session_id, energy in rows]


async def open_sessions(
    sessionmaker: async_sessionmaker[AsyncSession], world: Any
) -> dict[Any, Any]:
    at = base_time()
    found = {}
    async with sessionmaker() as db:
        for station_id, tx in ((world.station16, None), (world.station201, "TX-1")):
            result = await Charging(db).sessions.start(
                station_id,
                StartRequest(
                    evse_id=1,
                    connector_number=1,
                    started_at=at,
                    meter_start_wh=0,
                    id_tag=None,
                    transaction_id=tx,
                ),
            )
            found[station_id] = result
    return found


def request(station_id: Any, transaction_id: str, minute: int, wh: int) -> ReadingsRequest:
    at = base_time() + timedelta(minutes=minute)
    return ReadingsRequest(
        station_id, [Reading(at=at, energy_wh=wh, power_w=5_000)], transaction_id=transaction_id
    )


async def test_a_failing_batch_answers_nobody_it_failed_and_the_retry_counts_once(
    world: Any, sessionmaker: Any, failing_inserts: Any
) -> None:
    opened = await open_sessions(sessionmaker, world)
    tx16 = opened[world.station16].transaction_id
    bus = CollectingBus()
    # A long linger: everything submitted together is one batch.
    batcher = IngestBatcher(sessionmaker, bus, linger_s=0.2)
    try:
        both = [
            request(world.station16, tx16, 1, POISON + 1),
            request(world.station201, "TX-1", 1, POISON + 2),
        ]
        results = await asyncio.gather(*(batcher.record(r) for r in both), return_exceptions=True)
        assert all(isinstance(r, Exception) for r in results), results
        assert await samples(sessionmaker) == []
        assert bus.of(SessionUpdated) == []  # nobody heard of readings that are not stored

        await failing_inserts()  # the database is back: the stations send again
        for _ in range(2):  # and once more, as if our answer had been lost
            assert await asyncio.gather(*(batcher.record(r) for r in both)) == [True, True]
        stored = await samples(sessionmaker)
        assert [wh for _, wh in stored] == [POISON + 1, POISON + 2]
        assert {sid for sid, _ in stored} == {o.session_id for o in opened.values()}
    finally:
        await batcher.close()


async def test_one_bad_message_fails_alone_in_its_batch(
    world: Any, sessionmaker: Any, failing_inserts: Any
) -> None:
    opened = await open_sessions(sessionmaker, world)
    tx16 = opened[world.station16].transaction_id
    batcher = IngestBatcher(sessionmaker, CollectingBus(), linger_s=0.2)
    try:
        good = request(world.station16, tx16, 2, 1_500)
        bad = request(world.station201, "TX-1", 2, POISON + 5)
        results = await asyncio.gather(
            batcher.record(good), batcher.record(bad), return_exceptions=True
        )
        assert results[0] is True
        assert isinstance(results[1], Exception)
        assert batcher.failed_batches == 1  # they were one batch, replayed one by one
        assert [wh for _, wh in await samples(sessionmaker)] == [1_500]
    finally:
        await batcher.close()


async def test_over_ocpp_an_undurable_meter_value_gets_a_call_error_and_its_retry_counts_once(
    ocpp_server: Any, world: Any, sessionmaker: Any, failing_inserts: Any
) -> None:
    t = base_time()
    async with station(ocpp_server, "CP16") as cp:
        tx = await start(cp, t)
    frame = [
        2,
        "mv-poison",
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [mv(t + timedelta(minutes=1), POISON + 7, 5000)],
        },
    ]
    async with raw(ocpp_server, "CP16") as ws:
        answer = await exchange(ws, frame)
        assert answer[0] == 4 and answer[1] == "mv-poison" and answer[2] == "InternalError"
        assert await samples(sessionmaker) == []
        await failing_inserts()
        assert await exchange(ws, frame) == [3, "mv-poison", {}]
        assert await exchange(ws, frame) == [3, "mv-poison", {}]
    async with raw(ocpp_server, "CP16") as ws:  # after a reconnect too
        assert await exchange(ws, frame) == [3, "mv-poison", {}]
    async with sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(MeterSample)) == 1
