"""OCPP ingest: how many meter values per second VEV-IQ persists, and how fast it answers.

    .venv/bin/python -m bench.ocpp_ingest [--stations 200] [--seconds 6]
        [--db sqlite,postgres] [--version 1.6,2.0.1] [--clients 2]

For each database and OCPP version, two runs on a fresh database with the same stations
(each with an open transaction): the `ocpp` library's default handling path
(bench/baseline.py) and VEV-IQ's server (ocpp_server). The server process runs alone on core
0; client processes (core 1) open one real websocket per station over loopback, and each
station sends MeterValues (1.6J) or TransactionEvent Updated with meter values (2.0.1), one
call in flight at a time as OCPP requires, for `--seconds`. Measured:
- persisted/s: rows in meter_samples at the end, divided by the time from the start to the
  last answer (every sample has its own timestamp, so each message is one row);
- p50 / p99: time to answer, seen by the station (send to CALLRESULT);
- per CPU-s: persisted rows per second of the server process's own CPU time (so that the
  database's processes, on PostgreSQL, do not count for the server);
- acked ≤ rows: every acknowledged message is in the database (never an answer before the
  commit).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    CLIENT_CPUS,
    T0,
    ServerProcess,
    Station,
    count_samples,
    database,
    pin,
    raise_nofile,
    seed,
    table,
    ws_url,
)

SAMPLED_16 = (
    '{"value":"%d","measurand":"Energy.Active.Import.Register","unit":"Wh"},'
    '{"value":"%d","measurand":"Power.Active.Import","unit":"W"},'
    '{"value":"16.0","measurand":"Current.Import","phase":"L1","unit":"A"},'
    '{"value":"16.0","measurand":"Current.Import","phase":"L2","unit":"A"},'
    '{"value":"16.0","measurand":"Current.Import","phase":"L3","unit":"A"},'
    '{"value":"230.0","measurand":"Voltage","phase":"L1-N","unit":"V"},'
    '{"value":"230.0","measurand":"Voltage","phase":"L2-N","unit":"V"},'
    '{"value":"230.0","measurand":"Voltage","phase":"L3-N","unit":"V"},'
    '{"value":"%d","measurand":"SoC","unit":"Percent"}'
)
FRAME_16 = (
    '[2,"%s","MeterValues",{"connectorId":1,"transactionId":%s,'
    '"meterValue":[{"timestamp":"%s","sampledValue":[' + SAMPLED_16 + "]}]}]"
)
SAMPLED_201 = (
    '{"value":%d,"measurand":"Energy.Active.Import.Register","unitOfMeasure":{"unit":"Wh"}},'
    '{"value":%d,"measurand":"Power.Active.Import","unitOfMeasure":{"unit":"W"}},'
    '{"value":16.0,"measurand":"Current.Import","phase":"L1","unitOfMeasure":{"unit":"A"}},'
    '{"value":16.0,"measurand":"Current.Import","phase":"L2","unitOfMeasure":{"unit":"A"}},'
    '{"value":16.0,"measurand":"Current.Import","phase":"L3","unitOfMeasure":{"unit":"A"}},'
    '{"value":230.0,"measurand":"Voltage","phase":"L1-N","unitOfMeasure":{"unit":"V"}},'
    '{"value":230.0,"measurand":"Voltage","phase":"L2-N","unitOfMeasure":{"unit":"V"}},'
    '{"value":230.0,"measurand":"Voltage","phase":"L3-N","unitOfMeasure":{"unit":"V"}},'
    '{"value":%d,"measurand":"SoC","unitOfMeasure":{"unit":"Percent"}}'
)
FRAME_201 = (
    '[2,"%s","TransactionEvent",{"eventType":"Updated","timestamp":"%s",'
    '"triggerReason":"MeterValuePeriodic","seqNo":%d,"transactionInfo":{"transactionId":"%s"},'
    '"evse":{"id":1,"connectorId":1},"meterValue":[{"timestamp":"%s","sampledValue":['
    + SAMPLED_201
    + "]}]}]"
)


def frame(version: str, station: Station, n: int) -> str:
    at = (T0 + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    energy, power, soc = n * 3, 11_000, min(100, n // 60)
    if version == "1.6":
        return FRAME_16 % (n, station.transaction_id, at, energy, power, soc)
    return FRAME_201 % (n, at, n, station.transaction_id, at, energy, power, soc)


# --- client processes ------------------------------------------------------------------------


async def _drive(
    port: int,
    version: str,
    stations: list[Station],
    ready: Any,
    go: Any,
    window: Any,
) -> tuple[int, int, list[float], float]:
    from websockets.asyncio.client import connect

    protocol = "ocpp1.6" if version == "1.6" else "ocpp2.0.1"
    gate = asyncio.Semaphore(50)

    async def open_one(station: Station) -> Any:
        async with gate:
            return await connect(
                ws_url(port, station.identity),
                subprotocols=[protocol],  # type: ignore[list-item]
                compression=None,
                open_timeout=60,
                ping_interval=None,
                max_queue=4,
            )

    sockets = await asyncio.gather(*(open_one(s) for s in stations))
    ready.put(len(sockets))
    await asyncio.to_thread(go.wait)
    start_at, end_at = window[0], window[1]
    await asyncio.sleep(max(0.0, start_at - time.time()))
    latencies: list[float] = []
    counts = [0, 0]
    last = [start_at]

    async def run(ws: Any, station: Station) -> None:
        n = 0
        clock = time.perf_counter
        while time.time() < end_at:
            n += 1
            message = frame(version, station, n)
            sent = clock()
            await ws.send(message)
            reply = await ws.recv()
            latencies.append(clock() - sent)
            counts[0 if reply.startswith("[3,") else 1] += 1
        last[0] = max(last[0], time.time())

    await asyncio.gather(*(run(ws, s) for ws, s in zip(sockets, stations, strict=True)))
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return counts[0], counts[1], latencies, last[0]


def client_main(
    port: int, version: str, stations: list[Station], ready: Any, go: Any, window: Any, out: Any
) -> None:
    pin(CLIENT_CPUS)
    raise_nofile(len(stations) + 256)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(_drive(port, version, stations, ready, go, window)))


# --- one run ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_once(
    kind: str, db: str, version: str, count: int, seconds: float, clients: int
) -> dict[str, Any]:
    with database(db) as url:
        stations = asyncio.run(seed(url, count, "BENCH-", sessions=True))
        server = ServerProcess(kind, url, version=version)
        try:
            server.wait_ready()
            ctx = mp.get_context("spawn")
            ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
            window = ctx.Array("d", [0.0, 0.0])
            slices = [stations[i::clients] for i in range(clients)]
            procs = [
                ctx.Process(
                    target=client_main, args=(server.port, version, part, ready, go, window, out)
                )
                for part in slices
                if part
            ]
            for proc in procs:
                proc.start()
            for _ in procs:
                ready.get(timeout=90)
            start_at = time.time() + 0.3
            window[0], window[1] = start_at, start_at + seconds
            cpu_before = cpu_seconds(server.pid)
            go.set()
            results = [out.get(timeout=seconds + 60) for _ in procs]
            cpu_used = cpu_seconds(server.pid) - cpu_before
            for proc in procs:
                proc.join(timeout=10)
        finally:
            server.stop()
        rows = asyncio.run(count_samples(url))
    acked = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    latencies = sorted(x for r in results for x in r[2])
    elapsed = max(r[3] for r in results) - start_at
    return {
        "kind": kind,
        "db": db,
        "version": version,
        "rows": rows,
        "acked": acked,
        "errors": errors,
        "rate": rows / elapsed,
        "per_cpu": rows / cpu_used if cpu_used else 0.0,
        "p50": statistics.quantiles(latencies, n=100)[49] * 1000 if latencies else 0.0,
        "p99": statistics.quantiles(latencies, n=100)[98] * 1000 if latencies else 0.0,
        "durable": acked <= rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--version", default="1.6,2.0.1", help="1.6, 2.0.1 or both")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    args = parser.parse_args()
    print(
        f"{args.stations} stations, {args.seconds:g} s per run, server on 1 core "
        f"(of {os.cpu_count()}), clients in {args.clients} processes"
    )
    rows: list[list[str]] = []
    for db in args.db.split(","):
        for version in args.version.split(","):
            found = {}
            for kind in ("baseline", "ours"):
                result = run_once(kind, db, version, args.stations, args.seconds, args.clients)
                found[kind] = result
                print(
                    f"  {db:8} {version:5} {kind:8} {result['rate']:8.0f} rows/s  "
                    f"p50 {result['p50']:7.1f} ms  p99 {result['p99']:7.1f} ms  "
                    f"acked {result['acked']} rows {result['rows']} errors {result['errors']}",
                    flush=True,
                )
            base, ours = found["baseline"], found["ours"]
            for result in (base, ours):
                rows.append(
                    [
                        db,
                        version,
                        "ocpp library default" if result is base else "VEV-IQ",
                        f"{result['rate']:.0f}",
                        f"{result['per_cpu']:.0f}",
                        f"{result['p50']:.1f}",
                        f"{result['p99']:.1f}",
                        "yes" if result["durable"] and not result["errors"] else "NO",
                        ""
                        if result is base
                        else f"{ours['rate'] / base['rate']:.1f}x / "
                        f"{ours['per_cpu'] / max(base['per_cpu'], 1e-9):.1f}x",
                    ]
                )
    print()
    print(
        table(
            [
                "db",
                "ocpp",
                "server",
                "persisted/s",
                "per CPU-s",
                "p50 ms",
                "p99 ms",
                "acked<=rows",
                "ratio (rate / per CPU-s)",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
