"""One planning run per site area at a time: many runners (as many server processes would)
racing for the same area's lease never overlap, and a run asked for before the last run
read its state is skipped."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import Site, SiteArea
from backend.domain.load_management import lease as leases
from backend.domain.load_management import runner
from backend.domain.load_management.runner import LoadManager, RunReport


async def _area(sessionmaker: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    async with sessionmaker() as db:
        site = Site(name="Lease site")
        db.add(site)
        await db.flush()
        area = SiteArea(site_id=site.id, name="A", max_power_w=22_080, smart_charging=True)
        db.add(area)
        await db.commit()
        return area.id


async def test_concurrent_runners_never_overlap(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: Any
) -> None:
    area_id = await _area(sessionmaker)
    inside = 0
    peak = 0
    runs = 0

    async def fake_run(*args: Any, **kw: Any) -> RunReport:
        nonlocal inside, peak, runs
        inside += 1
        peak = max(peak, inside)
        runs += 1
        await asyncio.sleep(0.02)
        inside -= 1
        return RunReport(area_id)

    monkeypatch.setattr(runner, "run_unit", fake_run)
    managers = [LoadManager(sessionmaker, None, lease_ttl_s=30, wait_s=30) for _ in range(4)]

    async def hammer(manager: LoadManager) -> None:
        for _ in range(3):
            await manager.run_when_free(area_id, utcnow())

    await asyncio.gather(*(hammer(m) for m in managers))
    assert peak == 1
    assert runs >= 1
    # Asked before the last run read its state: skipped.
    before = utcnow()
    await managers[0].run_when_free(area_id, utcnow())
    count = runs
    assert await managers[1].run_when_free(area_id, before) is None
    assert runs == count


async def test_an_expired_lease_is_taken_over(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    area_id = await _area(sessionmaker)
    first = await leases.acquire(sessionmaker, area_id, ttl_s=0.2)
    assert first is not None
    assert await leases.acquire(sessionmaker, area_id, ttl_s=5) is None
    await asyncio.sleep(0.3)
    second = await leases.acquire(sessionmaker, area_id, ttl_s=5)
    assert second is not None
    assert not await leases.renew(sessionmaker, first, 5)  # the crashed holder lost it
    await leases.release(sessionmaker, second, utcnow())
