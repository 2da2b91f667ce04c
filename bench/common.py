"""What both benchmarks share: a fresh database, seeded stations, a server process on a
core of its own, and client processes that drive real websocket stations over loopback."""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from backend.db import migrations
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import (
    ChargingSession,
    ChargingStation,
    Connector,
    MeterSample,
    RegistrationStatus,
    SessionStatus,
    Site,
    SiteArea,
)

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = "vev_iq_bench"
SERVER_CPU = 0
CLIENT_CPUS = {1}
# Sessions started long enough ago that every sample of a run falls after their start.
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def cpus() -> set[int]:
    return set(os.sched_getaffinity(0))


def pin(cpu_set: set[int]) -> None:
    """Keep this process on these cores (when the machine has them)."""
    usable = cpu_set & cpus()
    if usable:
        os.sched_setaffinity(0, usable)


def raise_nofile(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard) if hard != resource.RLIM_INFINITY else max(soft, wanted)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file in a temporary folder, or PostgreSQL's
    `vev_iq_bench` database (created beside the tests' `test` database, never touching it)."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="vev-iq-bench-"))
        url = f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
        try:
            migrations.upgrade(url)
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if kind != "postgres":
        raise ValueError(kind)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_BENCH_DB}"
    asyncio.run(_reset_postgres(url))
    migrations.upgrade(url)
    yield url


async def _reset_postgres(url: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        exists = await conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": PG_BENCH_DB}
        )
        if not exists:
            await conn.execute(text(f'CREATE DATABASE "{PG_BENCH_DB}"'))
    await admin.dispose()
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@dataclass(frozen=True)
class Station:
    identity: str
    transaction_id: str


def station_names(count: int, prefix: str) -> list[str]:
    return [f"{prefix}{i:05d}" for i in range(count)]


async def seed(url: str, count: int, prefix: str, *, sessions: bool) -> list[Station]:
    """Accepted stations (no password), each with a session open on connector 1 when asked."""
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    stations: list[Station] = []
    async with maker() as db:
        site = Site(name="Bench")
        db.add(site)
        await db.flush()
        area = SiteArea(site_id=site.id, name="Bench area", max_power_w=10_000_000)
        db.add(area)
        await db.flush()
        for number, identity in enumerate(station_names(count, prefix), start=1):
            station = ChargingStation(
                id=uuid.uuid4(),
                ocpp_identity=identity,
                site_id=site.id,
                site_area_id=area.id,
                registration_status=RegistrationStatus.ACCEPTED,
            )
            db.add(station)
            stations.append(Station(identity, str(number) if sessions else ""))
        await db.flush()
        if sessions:
            rows = await db.scalars(
                select(ChargingStation)
                .where(ChargingStation.ocpp_identity.startswith(prefix))
                .order_by(ChargingStation.ocpp_identity)
            )
            connectors = [Connector(id=uuid.uuid4(), station_id=row.id, evse_id=1) for row in rows]
            db.add_all(connectors)
            await db.flush()
            for number, connector in enumerate(connectors, start=1):
                db.add(
                    ChargingSession(
                        station_id=connector.station_id,
                        connector_id=connector.id,
                        ocpp_transaction_id=str(number),
                        status=SessionStatus.ACTIVE,
                        started_at=T0 - timedelta(days=1),
                        meter_start_wh=0,
                        last_meter_wh=0,
                        energy_wh=0,
                        instant_power_w=0,
                        inactivity_s=0,
                    )
                )
        await db.commit()
    await engine.dispose()
    return stations


async def count_samples(url: str) -> int:
    engine = create_engine(url)
    async with engine.connect() as conn:
        found = await conn.scalar(select(func.count()).select_from(MeterSample))
    await engine.dispose()
    return int(found or 0)


class ServerProcess:
    """`python -m bench.server KIND` on its own core, until stopped."""

    def __init__(self, kind: str, url: str, *, version: str = "1.6") -> None:
        self.port = free_port()
        self.kind = kind
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.server",
                kind,
                "--db",
                url,
                "--port",
                str(self.port),
                "--version",
                version,
            ],
            cwd=ROOT,
            env=env,
        )
        self.pid = self.process.pid

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.kind} server exited ({self.process.returncode})")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the {self.kind} server did not start")

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def ws_url(port: int, identity: str) -> str:
    return f"ws://127.0.0.1:{port}/ocpp/{identity}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    body = [
        "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join([line, rule, *body])
