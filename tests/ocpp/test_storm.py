"""A reconnect storm: ~2,000 station connections opened and dropped quickly (loopback only,
bounded in count and time). The server keeps serving health and OCPP, holds no leftover
connection state, and its memory stays bounded."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import tracemalloc
from typing import Any

import httpx
import pytest
import websockets
from ocpp.v16 import call as call16
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import StationConnection
from tests.live_server import LiveServer
from tests.ocpp.conftest import World, station, url

CONNECTIONS = 2000
CONCURRENCY = 50
WARM_UP = 500


def rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_reconnect_storm(
    ocpp_server: LiveServer, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    identities = ["CP16", "CP201", *(f"STORM-{i}" for i in range(20))]
    counter = iter(range(WARM_UP))
    opened = 0
    replaced: list[int] = []

    async def worker(n: int) -> None:
        nonlocal opened
        for i in counter:
            identity = identities[(i + n) % len(identities)]
            async with websockets.connect(
                url(ocpp_server, identity),
                subprotocols=["ocpp1.6"],
                open_timeout=30,  # type: ignore[list-item]
            ) as ws:
                opened += 1
                if i % 10 == 0:  # some say something before dropping
                    try:
                        await ws.send(json.dumps([2, f"h{i}", "Heartbeat", {}]))
                        await asyncio.wait_for(ws.recv(), 30)
                    except websockets.ConnectionClosed as closed:
                        # A newer connection of the same identity replaced this one.
                        assert closed.rcvd is not None and closed.rcvd.code == 1001
                        replaced.append(i)

    async with station(ocpp_server, "CP16") as cp:
        await cp.call(call16.Heartbeat())
    # A first wave warms the allocator and caches up; the storm proper must not leave memory
    # behind (a leak per connection would: 2,000 x even 4 KiB is 8 MB).
    await asyncio.wait_for(asyncio.gather(*(worker(n) for n in range(CONCURRENCY))), 180)
    gc.collect()
    tracemalloc.start()
    traced_before, _ = tracemalloc.get_traced_memory()
    before = rss_bytes()
    counter = iter(range(CONNECTIONS))
    await asyncio.wait_for(asyncio.gather(*(worker(n) for n in range(CONCURRENCY))), 180)
    assert opened == CONNECTIONS + WARM_UP
    gc.collect()
    traced_growth = tracemalloc.get_traced_memory()[0] - traced_before
    tracemalloc.stop()
    print(
        f"storm: {len(replaced)} replaced, python heap +{traced_growth / 1e6:.1f} MB, "
        f"rss +{(rss_bytes() - before) / 1e6:.1f} MB"
    )

    async with httpx.AsyncClient(base_url=ocpp_server.url) as client:
        assert (await client.get("/health")).status_code == 200
    async with station(ocpp_server, "CP16") as cp:
        answer = await cp.call(call16.Heartbeat())
        assert answer.current_time
    # Every dropped connection was unregistered (the last close may still be finishing).
    for _ in range(50):
        async with sessionmaker() as db:
            left = await db.scalar(select(func.count()).select_from(StationConnection))
        if left == 0:
            break
        await asyncio.sleep(0.1)
    assert left == 0
    # What stays allocated after the storm (a leak per connection would show here), and the
    # process size (which also keeps allocator arenas and the clients' own buffers).
    assert traced_growth < 8 * 1024 * 1024, f"python heap grew by {traced_growth / 1e6:.1f} MB"
    growth = rss_bytes() - before
    assert growth < 128 * 1024 * 1024, f"memory grew by {growth / 1e6:.1f} MB"


@pytest.fixture(autouse=True)
def _quiet(caplog: Any) -> None:
    caplog.set_level("ERROR")
