"""Two real server processes on one PostgreSQL and one Redis.

A station connects to process A; on process B a GraphQL subscriber sees its status change and
its session curve, and commands sent to B reach the station on A and bring its answer back.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from ocpp.v16 import call as call16
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import (
    ChargingStation,
    RegistrationStatus,
    RfidCard,
    Role,
    Site,
    SiteArea,
    SiteRole,
)
from tests.conftest import Api, free_port, is_postgres, needs
from tests.graphql_ws import graphql_ws
from tests.ocpp.conftest import sessions_of, ts
from tests.ocpp.test_commands import CommandStation16

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

BROADCAST_URL = os.environ.get("BROADCAST_URL", "")
VEV_IQ = Path(sys.executable).parent / "vev-iq"


class ServerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            [str(VEV_IQ), "serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(self.port)],
            env={**env, "PUBLIC_URL": self.url},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def two_servers(
    db_url: str, sessionmaker: Any, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    if not is_postgres(db_url):
        needs("PostgreSQL", "set DATABASE_URL=postgresql+asyncpg://…")
    if not BROADCAST_URL.startswith("redis"):
        needs("Redis", "set BROADCAST_URL=redis://…")
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "BROADCAST_URL": BROADCAST_URL,
        # Redis pub/sub ignores the DB index: a prefix of our own keeps other runs out.
        "BROADCAST_PREFIX": f"vev-iq-test-{uuid.uuid4().hex[:8]}",
        "SECRET_KEY": "test-secret-key",
        "DATA_DIR": str(tmp_path / "data"),
        "STATION_COMMAND_TIMEOUT_S": "10",
    }
    a = ServerProcess(env, tmp_path / "a.log")
    b = ServerProcess(env, tmp_path / "b.log")
    try:
        a.wait_ready()
        b.wait_ready()
        yield a, b
    finally:
        a.stop()
        b.stop()


async def _world(sessionmaker: async_sessionmaker[AsyncSession], make_user: Any) -> Any:
    async with sessionmaker() as db:
        site = Site(name="Two")
        db.add(site)
        await db.flush()
        area = SiteArea(site_id=site.id, name="P", max_power_w=50_000, access_control=True)
        db.add(area)
        await db.flush()
        station = ChargingStation(
            ocpp_identity="TWO-16",
            site_area_id=area.id,
            site_id=site.id,
            registration_status=RegistrationStatus.ACCEPTED,
        )
        db.add(station)
        await db.commit()
    driver = await make_user(sites={site.id: SiteRole.MEMBER})
    async with sessionmaker() as db:
        db.add(RfidCard(uid="TWOCARD1", user_id=driver.id))
        await db.commit()
    return station.id, driver


async def _connect(server: ServerProcess, identity: str) -> tuple[Any, Any, asyncio.Task[Any]]:
    ws = await websockets.connect(
        f"{server.ws_url}/ocpp/{identity}",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
    )
    cp = CommandStation16(identity, ws, response_timeout=10)
    task = asyncio.create_task(cp.start())
    await cp.call(call16.Heartbeat())
    return ws, cp, task


@pytest.fixture
async def http_b(two_servers: tuple[ServerProcess, ServerProcess]) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=two_servers[1].url, timeout=30) as client:
        yield Api(client)


async def test_station_on_a_subscriber_and_commands_on_b(
    two_servers: tuple[ServerProcess, ServerProcess],
    http_b: Api,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
) -> None:
    a, b = two_servers
    station_id, driver = await _world(sessionmaker, make_user)
    admin = await make_user(Role.ADMIN)
    ws, cp, task = await _connect(a, "TWO-16")
    try:
        async with (
            graphql_ws(b.ws_url, token=admin.token) as subscriber,
            graphql_ws(b.ws_url, token=driver.token) as driver_ws,
        ):
            # Status: published by A, seen on B.
            op = await subscriber.subscribe(
                "subscription { stationStatus { kind stationId status connectorNumber } }"
            )
            seen = None
            for _ in range(40):
                await cp.call(
                    call16.StatusNotification(
                        connector_id=1,
                        error_code="NoError",
                        status="Preparing",
                        timestamp=ts(utcnow()),
                    )
                )
                try:
                    while True:
                        data = (await subscriber.next_data(op, wait_s=0.5))["stationStatus"]
                        if data["kind"] == "connector":
                            seen = data
                            break
                except TimeoutError:
                    continue
                break
            assert seen == {
                "kind": "connector",
                "stationId": str(station_id),
                "status": "Preparing",
                "connectorNumber": 1,
            }

            # A command sent to B reaches the station on A; the answer comes back.
            data = await http_b.ok(
                "mutation($s: ID!) { r: getConfiguration(stationId: $s, "
                'keys: ["HeartbeatInterval"]) { status keys { key value readonly } } }',
                {"s": str(station_id)},
                token=admin.token,
            )
            assert data["r"]["keys"] == [
                {"key": "HeartbeatInterval", "value": "300", "readonly": False}
            ]
            assert cp.rec.received[-1] == ("GetConfiguration", {"key": ["HeartbeatInterval"]})

            # The driver starts from B; the station (on A) starts the session.
            data = await http_b.ok(
                "mutation($s: ID!) { r: remoteStart(stationId: $s, connectorId: 1) { status } }",
                {"s": str(station_id)},
                token=driver.token,
            )
            assert data["r"]["status"] == "Accepted"
            began = utcnow().replace(microsecond=0) - timedelta(minutes=30)
            started = await cp.call(
                call16.StartTransaction(
                    connector_id=1, id_tag="TWOCARD1", meter_start=0, timestamp=ts(began)
                )
            )
            [charge] = await sessions_of(sessionmaker, station_id)

            # The session's curve: meter values on A, the driver's subscription on B.
            curve = await driver_ws.subscribe(
                "subscription($id: ID!) { sessionCurve(sessionId: $id) { kind energyWh "
                "points { powerW energyWh } } }",
                {"id": str(charge.id)},
            )
            event = None
            for minute in range(1, 41):
                await cp.call(
                    call16.MeterValues(
                        connector_id=1,
                        transaction_id=started.transaction_id,
                        meter_value=[
                            {
                                "timestamp": ts(began + timedelta(minutes=minute)),
                                "sampled_value": [
                                    {
                                        "value": str(100 * minute),
                                        "measurand": "Energy.Active.Import.Register",
                                        "unit": "Wh",
                                    },
                                    {
                                        "value": "6000",
                                        "measurand": "Power.Active.Import",
                                        "unit": "W",
                                    },
                                ],
                            }
                        ],
                    )
                )
                try:
                    event = (await driver_ws.next_data(curve, wait_s=0.5))["sessionCurve"]
                    break
                except TimeoutError:
                    continue
            assert event is not None and event["kind"] == "updated"
            assert event["points"][0]["powerW"] == 6000

            # The driver stops it from B: RemoteStopTransaction reaches the station on A.
            data = await http_b.ok(
                "mutation($id: ID!) { r: remoteStop(sessionId: $id) { status accepted } }",
                {"id": str(charge.id)},
                token=driver.token,
            )
            assert data["r"] == {"status": "Accepted", "accepted": True}
            assert cp.rec.received[-1] == (
                "RemoteStopTransaction",
                {"transaction_id": started.transaction_id},
            )
    finally:
        task.cancel()
        await ws.close()

    # Closed on A: B's commands learn at once that the station is offline.
    for _ in range(50):
        result = await http_b(
            "mutation($s: ID!) { r: clearCache(stationId: $s) { status } }",
            {"s": str(station_id)},
            token=admin.token,
        )
        code = result["errors"][0]["extensions"]["code"]
        if code == "STATION_OFFLINE":
            break
        await asyncio.sleep(0.1)
    assert code == "STATION_OFFLINE"
