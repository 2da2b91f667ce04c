"""A scenario: N simulated stations against one CSMS, OCPP 1.6J and 2.0.1 mixed.

`vev-iq simulate` builds one from its options; `vev-iq demo` builds one for the demo stations
it seeded. Stations are named `{prefix}{n:03d}`; the first `round(N * ocpp16_share)` speak
OCPP 1.6J, the others 2.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from backend.simulator.station import V16, V201, Behaviour, SimulatedStation, StationSpec

log = logging.getLogger("vev_iq.simulator")


def ocpp_url(url: str) -> str:
    """The OCPP endpoint from a server URL: http(s) becomes ws(s), `/ocpp` is added if absent."""
    parts = urlsplit(url if "://" in url else f"ws://{url}")
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/")
    if not path.endswith("/ocpp"):
        path += "/ocpp"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def station_specs(
    count: int,
    *,
    ocpp16_share: float = 0.5,
    prefix: str = "SIM-",
    password: str | None = None,
    connectors: int = 1,
    max_power_w: int = 22_000,
) -> list[StationSpec]:
    v16 = round(count * min(1.0, max(0.0, ocpp16_share)))
    return [
        StationSpec(
            identity=f"{prefix}{n + 1:03d}",
            version=V16 if n < v16 else V201,
            password=password,
            connectors=connectors,
            max_power_w=max_power_w,
        )
        for n in range(count)
    ]


@dataclass
class Scenario:
    specs: Sequence[StationSpec]
    behaviour: Behaviour
    stations: list[SimulatedStation] = field(default_factory=list)

    async def run(self, duration_s: float | None = None) -> None:
        """Run every station until cancelled (or for `duration_s` seconds)."""
        self.stations = [SimulatedStation(spec, self.behaviour) for spec in self.specs]
        tasks = [asyncio.create_task(s.run(), name=s.spec.identity) for s in self.stations]
        try:
            if duration_s is None:
                await asyncio.gather(*tasks)
            else:
                await asyncio.wait(tasks, timeout=duration_s)
        finally:
            await self.stop(tasks)

    async def stop(self, tasks: Sequence[asyncio.Task[None]] = ()) -> None:
        for station in self.stations:
            await station.stop()
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default="ws://127.0.0.1:8000/ocpp",
        help="the CSMS (http://host:port or ws://host:port/ocpp; /ocpp is added if missing)",
    )
    parser.add_argument("--stations", type=int, default=4, help="how many stations (default 4)")
    parser.add_argument(
        "--ocpp16-share",
        type=float,
        default=0.5,
        help="share of OCPP 1.6J stations, the rest speak 2.0.1 (default 0.5)",
    )
    parser.add_argument(
        "--interval", type=float, default=10.0, help="seconds between meter values (default 10)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="time acceleration: batteries fill and idle times pass this many times faster; "
        "timestamps stay real (default 1)",
    )
    parser.add_argument("--password", help="the stations' HTTP basic-auth password")
    parser.add_argument(
        "--token", help="a site area's registration token (stations register themselves)"
    )
    parser.add_argument(
        "--badges",
        default="",
        help="comma-separated RFID uids the simulated drivers badge with (none: remote starts "
        "only)",
    )
    parser.add_argument("--prefix", default="SIM-", help="station identities' prefix")
    parser.add_argument("--connectors", type=int, default=1, help="connectors per station")
    parser.add_argument("--max-power", type=int, default=22_000, help="station max power, W")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--seed", type=int, help="random seed, for a repeatable scenario")


def from_arguments(args: argparse.Namespace) -> tuple[Scenario, float | None]:
    if args.stations < 1:
        raise SystemExit("--stations must be at least 1")
    if args.interval <= 0 or args.speed <= 0:
        raise SystemExit("--interval and --speed must be positive")
    specs = station_specs(
        args.stations,
        ocpp16_share=args.ocpp16_share,
        prefix=args.prefix,
        password=args.password,
        connectors=args.connectors,
        max_power_w=args.max_power,
    )
    behaviour = Behaviour(
        server_url=ocpp_url(args.url),
        badges=[b.strip() for b in args.badges.split(",") if b.strip()],
        interval_s=args.interval,
        speed=args.speed,
        registration_token=args.token,
        seed=args.seed,
    )
    return Scenario(specs, behaviour), args.duration


def run_from_arguments(args: argparse.Namespace) -> int:
    scenario, duration = from_arguments(args)
    versions = ", ".join(f"{s.identity} ({s.version})" for s in scenario.specs)
    print(f"Simulating {len(scenario.specs)} stations against {scenario.behaviour.server_url}:")
    print(f"  {versions}")
    print("Ctrl-C stops them.")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(scenario.run(duration))
    return 0
