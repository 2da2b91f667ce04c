"""The event bus: in-process (memory://) and over Redis, with the first-subscriber trap of
broadcaster 0.3.1 + redis-py 8 (the first subscriber of a fresh process lost every message)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest

from backend.broadcast import BroadcastBus
from backend.events import StationNotice
from tests.conftest import needs

BROADCAST_URL = os.environ.get("BROADCAST_URL", "")


def redis_url() -> str:
    if not BROADCAST_URL.startswith("redis"):
        needs("Redis", "set BROADCAST_URL=redis://…")
    return BROADCAST_URL


def notice() -> StationNotice:
    return StationNotice(station_id=uuid.uuid4(), site_id=None, notice="test", data={"n": 1})


async def test_memory_bus_delivers_events_as_json() -> None:
    async with BroadcastBus("memory://") as bus:
        async with bus.subscribe("admin") as events:
            event = notice()
            await bus.publish(event)
            got = await asyncio.wait_for(anext(events), 2)
    assert got == {**event.to_dict(), "station_id": str(event.station_id)}


async def test_publishing_on_a_bus_not_connected_is_a_no_op() -> None:
    await BroadcastBus("memory://").publish(notice())


FIRST_SUBSCRIBER = """
import asyncio, sys, uuid
from backend.broadcast import BroadcastBus

async def main(url, prefix):
    listener = BroadcastBus(url, prefix)
    sender = BroadcastBus(url, prefix)  # another connection, as another process would be
    await listener.connect()
    await sender.connect()
    async with listener.subscribe("all") as events:
        await sender.send("all", {"kind": "first"})
        got = await asyncio.wait_for(anext(events), 5)
    await listener.disconnect()
    await sender.disconnect()
    assert got == {"kind": "first"}, got
    print("ok")

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.redis
def test_first_subscriber_of_a_fresh_process_gets_the_first_message() -> None:
    """In a brand-new interpreter: subscribe, then publish once; that message must arrive."""
    url = redis_url()
    for _ in range(3):  # the upstream race lost it every time; a few fresh processes prove it
        prefix = f"vev-iq-test-{uuid.uuid4().hex[:8]}"
        done = subprocess.run(
            [sys.executable, "-c", FIRST_SUBSCRIBER, url, prefix],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@pytest.mark.redis
async def test_concurrent_first_subscribers_all_receive() -> None:
    prefix = f"vev-iq-test-{uuid.uuid4().hex[:8]}"
    async with BroadcastBus(redis_url(), prefix) as bus, BroadcastBus(redis_url(), prefix) as other:
        ready = asyncio.Event()
        entered = 0

        async def listen() -> dict[str, object]:
            nonlocal entered
            async with bus.subscribe("stations") as events:
                entered += 1
                if entered == 5:
                    ready.set()
                return await asyncio.wait_for(anext(events), 5)

        tasks = [asyncio.create_task(listen()) for _ in range(5)]
        await asyncio.wait_for(ready.wait(), 5)
        await other.send("stations", {"kind": "x"})
        assert await asyncio.gather(*tasks) == [{"kind": "x"}] * 5


@pytest.mark.redis
async def test_prefixes_keep_deployments_apart() -> None:
    url = redis_url()
    async with (
        BroadcastBus(url, f"a-{uuid.uuid4().hex[:6]}") as one,
        BroadcastBus(url, f"b-{uuid.uuid4().hex[:6]}") as two,
    ):
        async with one.subscribe("all") as events:
            await two.send("all", {"kind": "theirs"})
            await one.send("all", {"kind": "ours"})
            assert await asyncio.wait_for(anext(events), 5) == {"kind": "ours"}
