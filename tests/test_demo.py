"""`vev-iq demo`: seeding is idempotent; the demo serves, charges within seconds, and stops."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
from sqlalchemy import func, select

from backend import demo
from backend.db.base import Base
from backend.db.models import (
    ChargingSession,
    ChargingStation,
    RegistrationStatus,
    Role,
    Site,
    SiteArea,
    Tariff,
    User,
)
from backend.domain.charging.registration import check_station_password
from backend.settings import Settings
from tests.conftest import free_port


async def _counts(sessionmaker: Any) -> dict[str, int]:
    async with sessionmaker() as db:
        return {
            table.name: int(await db.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


async def test_seed_is_idempotent(settings: Settings, sessionmaker: Any, tmp_path: Any) -> None:
    settings = settings.model_copy(update={"data_dir": tmp_path})
    first = await demo.seed(settings)
    assert first.created > 20
    before = await _counts(sessionmaker)
    again = await demo.seed(settings)
    assert again.created == 0
    assert await _counts(sessionmaker) == before
    assert again.logins == first.logins and demo.DEMO_USER_EMAIL in again.logins
    assert (tmp_path / "demo-logins.txt").stat().st_mode & 0o077 == 0
    async with sessionmaker() as db:
        sites = list(await db.scalars(select(Site).order_by(Site.name)))
        assert [s.address_city for s in sites] == ["Grenoble", "München"]
        assert all(s.latitude and s.longitude for s in sites)
        assert await db.scalar(select(func.count()).select_from(SiteArea)) == 3
        stations = list(await db.scalars(select(ChargingStation)))
        assert len(stations) == 6
        for station in stations:
            assert station.registration_status is RegistrationStatus.ACCEPTED
            assert station.password_hash and check_station_password(
                station.password_hash,
                demo.station_password(settings.resolved_secret_key(), station.ocpp_identity),
            )
        roles = {u.email: u.role for u in await db.scalars(select(User))}
        assert roles[demo.DEMO_USER_EMAIL] is Role.DEMO
        # Priced from the start (the session page shows its live cost), and one area shares
        # less power than its connectors could draw (smart charging at work).
        tariffs = {t.name: t for t in await db.scalars(select(Tariff))}
        assert {t.site_id for t in tariffs.values()} == {s.id for s in sites}
        assert tariffs["Grenoble standard"].currency == "EUR"
        smart = list(await db.scalars(select(SiteArea).where(SiteArea.smart_charging)))
        assert [a.name for a in smart] == ["Parking P1"] and smart[0].max_power_w == 33_000
    assert set(first.badges["Grenoble Presqu'île"]) == {
        "DEMO0001",
        "DEMO0002",
        "DEMO0003",
        "DEMO0005",
    }


async def test_demo_charges_within_seconds(
    settings: Settings, sessionmaker: Any, tmp_path: Any
) -> None:
    settings = settings.model_copy(update={"data_dir": tmp_path})
    result = await demo.seed(settings)
    port = free_port()
    ready, stop = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(
        demo.run_demo(
            settings,
            result,
            host="127.0.0.1",
            port=port,
            speed=50,
            interval_s=0.3,
            ready=ready,
            stop=stop,
        )
    )
    try:
        await asyncio.wait_for(ready.wait(), 15)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/health")).status_code == 200
        deadline = asyncio.get_running_loop().time() + 15
        while True:
            async with sessionmaker() as db:
                live = await db.scalar(
                    select(func.count())
                    .select_from(ChargingSession)
                    .where(ChargingSession.instant_power_w > 0)
                )
            if live and live >= 3:
                break
            assert asyncio.get_running_loop().time() < deadline, "no live sessions"
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(running, 20)
    assert running.done() and running.exception() is None
