"""Statistics on a large history: each query's time, against loading the rows into Python.

    .venv/bin/python -m bench.statistics [--db postgres|sqlite] [--sessions N] [--runs 5]
        [--sample 50000] [--keep] [--no-index-effect]

Generates a history (seeded, synthetic: 20 sites, 40 site areas, 400 stations, 5,000
drivers of whom 5 % restricted processing and 2 % objected to analytics; sessions over two
years with office-like hours, energy, idle time, costs in EUR or CHF, and a frozen tariff and
cost lines as wide as real ones) in PostgreSQL's `vev_iq_bench` database (created when
missing; its schema is reset; never the tests' database) with COPY, or in a temporary SQLite
file with multi-row INSERTs. Then each statistics query runs through the domain code
(`backend.domain.statistics.statistics`, as the GraphQL query does) once to warm up and
`--runs` times; the p50 is printed. The baseline, measured in the same run, is what a naive
implementation does: load the sessions in scope with the ORM and add them up in Python. It
runs on the first `--sample` sessions of each query's scope and is scaled up linearly to the
whole scope (its cost is per row). On PostgreSQL the four heaviest queries are then timed again
with the plain start-time index that migration 0008 replaced by a covering one (the index is
put back afterwards; `--no-index-effect` skips this). `--keep` reuses a bench database that
already holds the history (PostgreSQL only).

PostgreSQL: 1,000,000 sessions by default; SQLite: 200,000.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics as pystats
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, insert, select, text

from backend.db import migrations
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import (
    ChargingSession,
    ChargingStation,
    ConsentRecord,
    Role,
    SiteRole,
    User,
    UserStatus,
)
from backend.domain import statistics as stats
from backend.domain.prediction import demand
from backend.domain.viewer import Viewer

PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
PG_BENCH_DB = "vev_iq_bench"
SECRET = "bench-secret"
END = datetime(2026, 11, 30, tzinfo=UTC)  # the history ends here; "now" for the queries
DAYS = 730
SITES, AREAS_PER_SITE, STATIONS_PER_AREA, DRIVERS = 20, 2, 10, 5000
CHF_SITES = 4  # the last sites bill in CHF

# A frozen tariff and a cost breakdown as the billing code stores them (about as wide).
TARIFF = json.dumps(
    {
        "id": "b5c0c6e4-1b7e-4b58-9a43-6f1f0e0e9a11",
        "currency": "EUR",
        "time_zone": "Europe/Paris",
        "vat_percent": "20",
        "elements": [
            {"price_components": [{"type": "ENERGY", "price": "0.30", "step_size": 1}]},
            {
                "price_components": [{"type": "PARKING_TIME", "price": "2.00", "step_size": 60}],
                "restrictions": {"start_time": "08:00", "end_time": "19:00", "min_duration": 7200},
            },
        ],
    }
)
COST_LINES = json.dumps(
    [
        {
            "dimension": "ENERGY",
            "element_index": 0,
            "quantity": "18.420",
            "unit": "kWh",
            "unit_price": "0.30",
            "step_size": 1,
            "amount_excl_vat": "5.53",
            "vat_percent": "20",
            "vat": "1.11",
            "amount_incl_vat": "6.64",
        }
    ]
)
COST_STATE = json.dumps({"priced_until": "2026-01-01T10:00:00+00:00", "energy_wh": 18420})


@dataclass
class World:
    url: str
    sites: list[uuid.UUID]
    stations: list[uuid.UUID]
    admin: uuid.UUID
    drivers: list[uuid.UUID]


# --- the database --------------------------------------------------------------------------------


async def _postgres_ready(keep: bool) -> tuple[str, bool]:
    """The bench database's URL, and whether it already holds a history to keep."""
    import asyncpg  # type: ignore[import-untyped]

    plain = PG_SERVER.replace("+asyncpg", "")
    try:
        conn = await asyncpg.connect(f"{plain}/{PG_BENCH_DB}")
    except asyncpg.InvalidCatalogNameError:
        # Created from the server's maintenance database, never from the tests' database.
        admin = await asyncpg.connect(f"{plain}/postgres")
        try:
            await admin.execute(f'CREATE DATABASE "{PG_BENCH_DB}"')
        finally:
            await admin.close()
        conn = await asyncpg.connect(f"{plain}/{PG_BENCH_DB}")
    try:
        has_history = False
        if keep:
            exists = await conn.fetchval("SELECT to_regclass('public.charging_sessions')")
            has_history = bool(exists) and bool(
                await conn.fetchval("SELECT EXISTS (SELECT 1 FROM charging_sessions)")
            )
        if not has_history:
            await conn.execute("DROP SCHEMA public CASCADE")
            await conn.execute("CREATE SCHEMA public")
    finally:
        await conn.close()
    return f"{PG_SERVER}/{PG_BENCH_DB}", has_history


def _session_rows(world: World, count: int, first: int) -> list[tuple[Any, ...]]:
    """Sessions number `first`… (tuples in `SESSION_COLUMNS` order), office-like: weekday
    mornings, growing over the years."""
    rng = random.Random(first)
    start_of_history = END - timedelta(days=DAYS)
    hours = list(range(24))
    hour_weights = [1, 1, 1, 1, 1, 2, 4, 10, 16, 12, 8, 6, 7, 8, 7, 6, 6, 7, 6, 4, 3, 2, 1, 1]
    chf_stations = set(world.stations[-CHF_SITES * AREAS_PER_SITE * STATIONS_PER_AREA :])
    rows = []
    day_choices = list(range(DAYS))
    day_weights = [
        (0.45 if (start_of_history + timedelta(days=d)).weekday() >= 5 else 1.0)
        * (0.6 + 0.4 * d / DAYS)  # demand grows over the two years
        for d in range(DAYS)
    ]
    days = rng.choices(day_choices, day_weights, k=count)
    starts_h = rng.choices(hours, hour_weights, k=count)
    for i in range(count):
        started = start_of_history + timedelta(
            days=days[i], hours=starts_h[i], seconds=rng.randrange(3600)
        )
        connected = rng.randrange(1200, 10 * 3600)
        idle = int(connected * rng.random() * 0.5)
        energy = int((connected - idle) / 3600 * rng.choice((3700, 7400, 11000)))
        station = rng.choice(world.stations)
        user = rng.choice(world.drivers) if rng.random() > 0.03 else None
        currency = "CHF" if station in chf_stations else "EUR"
        excl = energy * 30 // 1000
        vat = excl * 20 // 100
        stopped = started + timedelta(seconds=connected)
        active = stopped > END
        rows.append(
            (
                uuid.uuid4(),
                started,
                stopped,
                station,
                user,
                f"TAG{rng.randrange(10**8):08d}",
                str(first + i),  # unique per station (here: everywhere)
                "active" if active else "completed",
                started,
                None if active else stopped,
                0,
                None if active else energy,
                energy,
                0,
                idle,
                None if active else "Local",
                False,
                TARIFF,
                currency,
                excl,
                vat,
                excl + vat,
                COST_LINES,
                COST_STATE,
                "unbilled" if active else "invoiced",
            )
        )
    return rows


SESSION_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "station_id",
    "user_id",
    "id_tag",
    "ocpp_transaction_id",
    "status",
    "started_at",
    "stopped_at",
    "meter_start_wh",
    "meter_stop_wh",
    "energy_wh",
    "instant_power_w",
    "inactivity_s",
    "stop_reason",
    "closed_by_csms",
    "tariff_snapshot",
    "cost_currency",
    "cost_excl_vat_minor",
    "cost_vat_minor",
    "cost_incl_vat_minor",
    "cost_lines",
    "cost_state",
    "billing_state",
)


async def _seed_places_and_people(url: str) -> World:
    from backend.db.models import Site, SiteArea

    rng = random.Random(7)
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    sites: list[uuid.UUID] = []
    stations: list[uuid.UUID] = []
    drivers: list[uuid.UUID] = []
    async with maker() as db:
        for s in range(SITES):
            site = Site(
                id=uuid.uuid4(),
                name=f"Site {s:02d}",
                timezone="Europe/Zurich" if s >= SITES - CHF_SITES else "Europe/Paris",
            )
            db.add(site)
            sites.append(site.id)
            for a in range(AREAS_PER_SITE):
                area = SiteArea(id=uuid.uuid4(), site_id=site.id, name=f"Area {a}", max_power_w=1)
                db.add(area)
                for n in range(STATIONS_PER_AREA):
                    station = ChargingStation(
                        id=uuid.uuid4(),
                        ocpp_identity=f"ST-{s:02d}-{a}-{n:02d}",
                        site_id=site.id,
                        site_area_id=area.id,
                    )
                    db.add(station)
                    stations.append(station.id)
        admin = User(
            id=uuid.uuid4(),
            email="admin@bench.invalid",
            first_name="Admin",
            last_name="Bench",
            role=Role.ADMIN,
            status=UserStatus.ACTIVE,
        )
        db.add(admin)
        await db.flush()
        users: list[dict[str, Any]] = []
        for d in range(DRIVERS):
            draw = rng.random()
            users.append(
                {
                    "id": uuid.uuid4(),
                    "email": f"driver{d}@bench.invalid",
                    "first_name": "Driver",
                    "last_name": f"{d:05d}",
                    "role": Role.BASIC,
                    "status": UserStatus.ACTIVE,
                    "exclude_from_analytics": draw < 0.05,
                    "objections": ["analytics"] if 0.05 <= draw < 0.07 else [],
                }
            )
        await db.execute(insert(User), users)
        await db.execute(
            insert(ConsentRecord),
            [{"id": uuid.uuid4(), "user_id": u["id"], "policy_version": "2026-11"} for u in users],
        )
        drivers = [u["id"] for u in users]
        await db.commit()
    await engine.dispose()
    return World(url=url, sites=sites, stations=stations, admin=admin.id, drivers=drivers)


async def _load_world(url: str) -> World:
    engine = create_engine(url)
    async with engine.connect() as conn:
        sites = list((await conn.execute(text("SELECT id FROM sites ORDER BY name"))).scalars())
        stations = list(
            (
                await conn.execute(text("SELECT id FROM charging_stations ORDER BY ocpp_identity"))
            ).scalars()
        )
        admin = (await conn.execute(text("SELECT id FROM users WHERE role = 'admin'"))).scalar()
        drivers = list(
            (
                await conn.execute(text("SELECT id FROM users WHERE role = 'basic' ORDER BY email"))
            ).scalars()
        )
    await engine.dispose()
    if admin is None:
        raise RuntimeError(f"{PG_BENCH_DB} holds no history to keep: run without --keep")
    return World(url=url, sites=sites, stations=stations, admin=admin, drivers=drivers)


async def _copy_sessions(world: World, count: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(world.url.replace("+asyncpg", ""))
    try:
        chunk = 100_000
        for offset in range(0, count, chunk):
            rows = _session_rows(world, min(chunk, count - offset), first=offset + 1)
            await conn.copy_records_to_table(
                "charging_sessions", records=rows, columns=list(SESSION_COLUMNS)
            )
            print(f"  {offset + len(rows):>9,} sessions copied", flush=True)
        # Statistics for the planner, and the visibility map that lets index-only scans skip
        # the table (autovacuum does both on its own in production, as rows come in).
        await conn.execute("VACUUM (ANALYZE) charging_sessions")
        await conn.execute("VACUUM (ANALYZE) users")
    finally:
        await conn.close()


async def _insert_sessions(world: World, count: int) -> None:
    engine = create_engine(world.url)
    table = ChargingSession.__table__
    assert isinstance(table, Table)
    chunk = 20_000
    for offset in range(0, count, chunk):
        rows = _session_rows(world, min(chunk, count - offset), first=offset + 1)
        values = []
        for row in rows:
            record = dict(zip(SESSION_COLUMNS, row, strict=True))
            for key in ("tariff_snapshot", "cost_lines", "cost_state"):
                record[key] = json.loads(record[key])
            values.append(record)
        async with engine.begin() as conn:
            await conn.execute(insert(table), values)
        print(f"  {offset + len(rows):>9,} sessions inserted", flush=True)
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


# --- the measures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    viewer: Viewer
    query: stats.StatisticsQuery


def cases(world: World) -> list[Case]:
    admin = Viewer(user_id=world.admin, role=Role.ADMIN)
    site = world.sites[0]
    site_admin = Viewer(
        user_id=world.drivers[-1], role=Role.BASIC, site_roles={site: SiteRole.SITE_ADMIN}
    )
    driver = Viewer(user_id=world.drivers[0], role=Role.BASIC)
    year = END - timedelta(days=365)
    month = END - timedelta(days=30)
    quarter = END - timedelta(days=90)
    q = stats.StatisticsQuery
    g, p = stats.GroupBy, stats.Period
    return [
        Case("admin: everything, by site x month", admin, q(g.SITE, p.MONTH)),
        Case("admin: last year, by area x month", admin, q(g.SITE_AREA, p.MONTH, year)),
        Case("admin: last year, by driver x year", admin, q(g.USER, p.YEAR, year)),
        Case("admin: last 30 days, by station x day", admin, q(g.STATION, p.DAY, month)),
        Case("admin: one site, last 90 days x day", admin, q(g.NONE, p.DAY, quarter, None, site)),
        Case("site admin: their site, 90 days, station x day", site_admin,
             q(g.STATION, p.DAY, quarter)),
        Case("driver: own sessions, by month", driver, q(g.NONE, p.MONTH)),
    ]  # fmt: skip


async def _timed(run: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, Any]:
    result = await run()  # warm-up (plans, caches)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = await run()
        times.append(time.perf_counter() - t0)
    return pystats.median(times), result


async def _naive(maker: Any, case: Case, sample: int) -> tuple[float, int]:
    """Load up to `sample` sessions of the case's scope with the ORM and aggregate them in
    Python (dict per period and group): seconds, and the rows loaded."""
    stmt = select(ChargingSession).where(stats.aggregates.counted_sessions(case.viewer))
    if case.query.started_from is not None:
        stmt = stmt.where(ChargingSession.started_at >= case.query.started_from)
    if case.query.site_id is not None:
        stmt = stmt.where(
            ChargingSession.station_id.in_(
                select(ChargingStation.id).where(ChargingStation.site_id == case.query.site_id)
            )
        )
    t0 = time.perf_counter()
    async with maker() as db:
        stations = dict(
            (await db.execute(select(ChargingStation.id, ChargingStation.site_id))).all()
        )
        rows = list(await db.scalars(stmt.limit(sample)))
        sums: dict[tuple[Any, ...], list[int]] = {}
        for r in rows:
            key = (
                r.started_at.strftime("%Y-%m-%d"),
                stations.get(r.station_id),
                r.cost_currency,
            )
            end = r.stopped_at or END
            connected = max(0, int((end - r.started_at).total_seconds()))
            acc = sums.setdefault(key, [0, 0, 0, 0, 0, 0])
            acc[0] += 1
            acc[1] += r.energy_wh
            acc[2] += connected
            acc[3] += r.inactivity_s
            acc[4] += r.cost_excl_vat_minor or 0
            acc[5] += r.cost_incl_vat_minor or 0
    return time.perf_counter() - t0, len(rows)


COVERED = (
    "station_id, user_id, stopped_at, energy_wh, inactivity_s, cost_currency, "
    "cost_excl_vat_minor, cost_incl_vat_minor"
)


async def _set_index(world: World, covering: bool) -> None:
    """The start-time index with (migration 0008) or without the columns statistics read."""
    import asyncpg

    conn = await asyncpg.connect(world.url.replace("+asyncpg", ""))
    try:
        await conn.execute("DROP INDEX ix_charging_sessions_started_at")
        include = f" INCLUDE ({COVERED})" if covering else ""
        await conn.execute(
            f"CREATE INDEX ix_charging_sessions_started_at ON charging_sessions (started_at)"
            f"{include}"
        )
        await conn.execute("VACUUM (ANALYZE) charging_sessions")
    finally:
        await conn.close()


async def _without_covering_index(world: World, maker: Any, runs: int) -> None:
    """The heaviest queries again with the plain start-time index (before migration 0008)."""
    print("\nthe same with the plain start-time index (before migration 0008):")
    await _set_index(world, covering=False)
    try:
        for case in cases(world)[:4]:

            async def run(case: Case = case) -> stats.StatisticsResult:
                async with maker() as db:
                    return await stats.statistics(
                        db, case.viewer, case.query, secret=SECRET, now=END
                    )

            p50, _ = await _timed(run, runs)
            print(f"{case.name:<50} {'':>6} {'':>9} {p50 * 1000:>8.1f}", flush=True)
    finally:
        await _set_index(world, covering=True)
    print()


async def measure(world: World, runs: int, sample: int, index_effect: bool = True) -> None:
    engine = create_engine(world.url)
    maker = create_sessionmaker(engine)
    async with maker() as db:
        total = await db.scalar(select(func.count()).select_from(ChargingSession))
    print(f"\n{total:,} sessions, {len(world.stations)} stations, {len(world.drivers):,} drivers")
    header = (
        f"{'query':<50} {'rows':>6} {'sessions':>9} {'p50 ms':>8} {'naive ms':>10} {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    for case in cases(world):

        async def run(case: Case = case) -> stats.StatisticsResult:
            async with maker() as db:
                return await stats.statistics(db, case.viewer, case.query, secret=SECRET, now=END)

        p50, result = await _timed(run, runs)
        in_scope = result.total.sessions
        naive_s, loaded = await _naive(maker, case, sample)
        naive_full = naive_s * in_scope / loaded if loaded else 0.0
        print(
            f"{case.name:<50} {len(result.rows):>6} {in_scope:>9,} {p50 * 1000:>8.1f} "
            f"{naive_full * 1000:>10.0f} {naive_full / p50 if p50 else 0:>6.0f}x",
            flush=True,
        )

    if world.url.startswith("postgresql") and index_effect:
        await _without_covering_index(world, maker, runs)

    admin = Viewer(user_id=world.admin, role=Role.ADMIN)

    async def forecast() -> demand.DemandForecast:
        async with maker() as db:
            return await demand.site_forecast(db, admin, world.sites[0], 7, now=END)

    p50, _ = await _timed(forecast, runs)
    print(f"{'demand forecast: one site, 12 weeks → 7 days':<50} {'168':>6} {'':>9} "
          f"{p50 * 1000:>8.1f}")  # fmt: skip
    await engine.dispose()
    print(
        "\nnaive: the ORM loads the sessions in scope and Python adds them up, measured on up to "
        f"{sample:,} of them and scaled to the scope; ratio = naive / p50."
    )


async def main_async(args: argparse.Namespace) -> None:
    folder: Path | None = None
    if args.db == "postgres":
        url, has_history = await _postgres_ready(args.keep)
        count = args.sessions or 1_000_000
    else:
        folder = Path(tempfile.mkdtemp(prefix="vev-iq-bench-stats-"))
        url = f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
        has_history = False
        count = args.sessions or 200_000
    try:
        if has_history:
            print(f"reusing the history in {PG_BENCH_DB}")
            world = await _load_world(url)
        else:
            print(f"migrating and seeding {args.db} with {count:,} sessions…", flush=True)
            await asyncio.to_thread(migrations.upgrade, url)
            t0 = time.perf_counter()
            world = await _seed_places_and_people(url)
            if args.db == "postgres":
                await _copy_sessions(world, count)
            else:
                await _insert_sessions(world, count)
            print(f"seeded in {time.perf_counter() - t0:.0f} s")
        await measure(world, args.runs, args.sample, not args.no_index_effect)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--sessions", type=int, default=0, help="default 1e6 (PG), 2e5 (SQLite)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sample", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="reuse the PostgreSQL history")
    parser.add_argument(
        "--no-index-effect",
        action="store_true",
        help="skip timing the heaviest queries without the covering index (PostgreSQL)",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
