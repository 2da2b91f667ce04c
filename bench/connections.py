"""Memory per connected idle station: RSS of the server process, from /proc.

    .venv/bin/python -m bench.connections [--stations 5000] [--clients 4] [--db sqlite]

For VEV-IQ's OCPP server (ocpp_server, as `vev-iq serve` runs it) and, as a yardstick in the
same run, a bare `websockets` server that answers every frame: a few warm-up stations connect
first (imports, caches, pools), the server's RSS is read, then `--stations` more stations
connect over loopback from `--clients` client processes, each sends BootNotification and
Heartbeat (OCPP 1.6J) and waits for the answers, and then stays connected and idle; the RSS
is read again once it settles. Memory per station = (after - before) / stations.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import time
from typing import Any

from bench.common import (
    CLIENT_CPUS,
    ServerProcess,
    database,
    pin,
    raise_nofile,
    seed,
    station_names,
    table,
    ws_url,
)

WARM_UP = 20
BOOT = (
    '[2,"b-%s","BootNotification",{"chargePointVendor":"Bench","chargePointModel":"Idle",'
    '"chargePointSerialNumber":"%s","firmwareVersion":"1.0"}]'
)
HEARTBEAT = '[2,"h-%s","Heartbeat",{}]'


async def _hold(port: int, identities: list[str], ready: Any, done: Any) -> int:
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(64)
    failures = 0

    async def one(identity: str) -> Any:
        nonlocal failures
        for attempt in range(5):
            try:
                async with gate:
                    ws = await connect(
                        ws_url(port, identity),
                        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                        compression=None,
                        open_timeout=60,
                        ping_interval=None,
                        max_queue=2,
                    )
                    for frame in (BOOT % (identity, identity), HEARTBEAT % identity):
                        await ws.send(frame)
                        reply = await asyncio.wait_for(ws.recv(), 60)
                        assert str(reply).startswith("[3,"), reply
                    return ws
            except (OSError, TimeoutError, AssertionError):
                await asyncio.sleep(0.2 * (attempt + 1))
        failures += 1
        return None

    sockets = await asyncio.gather(*(one(i) for i in identities))
    ready.put(len(identities) - failures)
    await asyncio.to_thread(done.wait)
    await asyncio.gather(*(ws.close() for ws in sockets if ws), return_exceptions=True)
    return failures


def client_main(port: int, identities: list[str], ready: Any, done: Any) -> None:
    pin(CLIENT_CPUS)
    raise_nofile(len(identities) + 256)
    asyncio.run(_hold(port, identities, ready, done))


def connect_all(port: int, identities: list[str], clients: int) -> tuple[int, Any, list[Any]]:
    ctx = mp.get_context("spawn")
    ready, done = ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=client_main, args=(port, identities[i::clients], ready, done))
        for i in range(clients)
        if identities[i::clients]
    ]
    for proc in procs:
        proc.start()
    connected = sum(ready.get(timeout=110) for _ in procs)
    return connected, done, procs


def settle(server: ServerProcess, seconds: float = 2.0) -> int:
    time.sleep(seconds)
    return server.rss_kib()


def run_once(kind: str, db: str, count: int, clients: int) -> dict[str, Any]:
    with database(db) as url:
        asyncio.run(seed(url, count + WARM_UP, "IDLE-", sessions=False))
        names = station_names(count + WARM_UP, "IDLE-")
        server = ServerProcess(kind, url)
        handles = []
        try:
            server.wait_ready()
            started = time.monotonic()
            _, done, procs = connect_all(server.port, names[:WARM_UP], 1)
            handles.append((done, procs))
            before = settle(server)
            connected, done, procs = connect_all(server.port, names[WARM_UP:], clients)
            handles.append((done, procs))
            connect_s = time.monotonic() - started
            after = settle(server)
        finally:
            for done, procs in handles:
                done.set()
                for proc in procs:
                    proc.join(timeout=20)
            server.stop()
    return {
        "kind": kind,
        "connected": connected,
        "before": before,
        "after": after,
        "per": (after - before) / max(connected, 1),
        "seconds": connect_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--db", default="sqlite", help="sqlite or postgres")
    args = parser.parse_args()
    limit = raise_nofile(args.stations + 1024)
    if limit < args.stations + 256:
        raise SystemExit(f"open files limited to {limit}: raise the hard limit (ulimit -Hn)")
    results = {}
    for kind in ("echo", "ours"):
        result = run_once(kind, args.db, args.stations, args.clients)
        results[kind] = result
        print(
            f"  {kind:5} {result['connected']} connected in {result['seconds']:.1f} s, "
            f"RSS {result['before']} -> {result['after']} KiB: {result['per']:.1f} KiB each",
            flush=True,
        )
    echo, ours = results["echo"], results["ours"]
    print()
    print(
        table(
            ["server", "stations", "RSS before KiB", "RSS after KiB", "KiB / station", "ratio"],
            [
                [
                    "bare websockets (answers every frame)",
                    str(echo["connected"]),
                    str(echo["before"]),
                    str(echo["after"]),
                    f"{echo['per']:.1f}",
                    "",
                ],
                [
                    f"VEV-IQ ({args.db})",
                    str(ours["connected"]),
                    str(ours["before"]),
                    str(ours["after"]),
                    f"{ours['per']:.1f}",
                    f"{ours['per'] / max(echo['per'], 1e-9):.2f}x",
                ],
            ],
        )
    )


if __name__ == "__main__":
    main()
