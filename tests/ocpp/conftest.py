"""OCPP tests: the whole app on a real port, stations built with the `ocpp` library's client
side over `websockets`, and a world of one site with an accepted station per version."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import websockets
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v201 import ChargePoint as Cp201
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import (
    ChargingSession,
    ChargingStation,
    RegistrationStatus,
    RfidCard,
    Site,
    SiteArea,
    SiteRole,
)
from backend.settings import Settings
from tests.live_server import LiveServer

BADGE = "AABBCCDD"
OTHER_BADGE = "11223344"


@pytest.fixture(scope="session")
def ocpp_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()


@dataclass
class World:
    site_id: uuid.UUID
    area_id: uuid.UUID
    station16: uuid.UUID
    station201: uuid.UUID
    driver_id: uuid.UUID
    outsider_id: uuid.UUID


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession], make_user: Any) -> World:
    async with sessionmaker() as db:
        site = Site(name="HQ")
        db.add(site)
        await db.flush()
        area = SiteArea(site_id=site.id, name="Parking", max_power_w=100_000, access_control=True)
        db.add(area)
        await db.flush()
        stations = [
            ChargingStation(
                ocpp_identity=name,
                site_area_id=area.id,
                site_id=site.id,
                registration_status=RegistrationStatus.ACCEPTED,
            )
            for name in ("CP16", "CP201")
        ]
        db.add_all(stations)
        await db.commit()
    driver = await make_user(sites={site.id: SiteRole.MEMBER})
    outsider = await make_user()
    async with sessionmaker() as db:
        db.add(RfidCard(uid=BADGE, user_id=driver.id))
        db.add(RfidCard(uid=OTHER_BADGE, user_id=outsider.id))
        await db.commit()
    return World(site.id, area.id, stations[0].id, stations[1].id, driver.id, outsider.id)


class Station16(Cp16):
    pass


class Station201(Cp201):
    pass


def headers(identity: str, password: str | None) -> dict[str, str]:
    if password is None:
        return {}
    token = base64.b64encode(f"{identity}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def url(server: LiveServer, identity: str, token: str | None = None) -> str:
    return f"{server.ws_url}/ocpp/{identity}" + (f"?token={token}" if token else "")


@asynccontextmanager
async def station(
    server: LiveServer,
    identity: str,
    version: str = "1.6",
    *,
    password: str | None = None,
    token: str | None = None,
) -> AsyncIterator[Any]:
    """A station client: `await cp.call(payload, suppress=False)` sends a CALL."""
    protocol = "ocpp1.6" if version == "1.6" else "ocpp2.0.1"
    ws = await websockets.connect(
        url(server, identity, token),
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers=headers(identity, password),
    )
    assert ws.subprotocol == protocol
    cp = (Station16 if version == "1.6" else Station201)(identity, ws, response_timeout=10)
    task = asyncio.create_task(cp.start())
    try:
        yield cp
    finally:
        task.cancel()
        await ws.close()


@asynccontextmanager
async def raw(server: LiveServer, identity: str, version: str = "1.6") -> AsyncIterator[Any]:
    protocol = "ocpp1.6" if version == "1.6" else "ocpp2.0.1"
    async with websockets.connect(
        url(server, identity),
        subprotocols=[protocol],  # type: ignore[list-item]
    ) as ws:
        yield ws


async def exchange(ws: Any, frame: Any) -> list[Any]:
    await ws.send(frame if isinstance(frame, str) else json.dumps(frame))
    return json.loads(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[no-any-return]


def ts(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def base_time() -> datetime:
    return (utcnow() - timedelta(hours=1)).replace(microsecond=0)


async def sessions_of(
    sessionmaker: async_sessionmaker[AsyncSession], station_id: uuid.UUID
) -> list[ChargingSession]:
    async with sessionmaker() as db:
        rows = await db.scalars(
            select(ChargingSession)
            .where(ChargingSession.station_id == station_id)
            .order_by(ChargingSession.started_at)
        )
        return list(rows)
