"""A server process for the benchmarks: `python -m bench.server ours|baseline|echo --db URL`.

- ours: VEV-IQ's OCPP server alone (`ocpp_server.app.create_ocpp_app`), as `vev-iq serve`
  runs it (uvicorn, one worker, no per-message deflate);
- baseline: the `ocpp` library's default handling path (bench/baseline.py), same transport;
- echo: a bare `websockets` server that answers every frame with a CALLRESULT (connections).
The process pins itself to core 0 so that "per core" means one core.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
from pathlib import Path

import uvicorn

from bench.common import SERVER_CPU, pin, raise_nofile


async def echo_server(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            text = message if isinstance(message, str) else message.decode()
            unique_id = text.split(",", 2)[1] if text.count(",") >= 2 else '"-1"'
            await ws.send(f"[3,{unique_id},{{}}]")

    def choose(connection: ServerConnection, offered: list[str]) -> str | None:
        return offered[0] if offered else None

    async with serve(
        handler,
        "127.0.0.1",
        port,
        subprotocols=["ocpp1.6", "ocpp2.0.1"],  # type: ignore[list-item]
        select_subprotocol=choose,  # type: ignore[arg-type]
        compression=None,
        backlog=4096,
    ):
        await asyncio.Future()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["ours", "baseline", "echo"])
    parser.add_argument("--db", default="")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--version", default="1.6")
    args = parser.parse_args()
    pin({SERVER_CPU})
    raise_nofile(65536)  # as far as the hard limit allows
    logging.basicConfig(level=logging.WARNING)
    if args.kind == "echo":
        try:
            asyncio.run(echo_server(args.port))
        except KeyboardInterrupt:
            pass
        return
    if args.kind == "ours":
        from backend.settings import Settings
        from ocpp_server.app import create_ocpp_app

        settings = Settings(
            database_url=args.db,
            broadcast_url="memory://",
            data_dir=Path(tempfile.mkdtemp(prefix="vev-iq-bench-data-")),
            secret_key="bench",
        )
        app = create_ocpp_app(settings)
    else:
        from bench.baseline import create_baseline_app

        app = create_baseline_app(args.db)
    trace = os.environ.get("BENCH_TRACEMALLOC")  # path:seconds: what holds memory, then
    if trace:
        import threading
        import tracemalloc

        tracemalloc.start(8)
        path, delay = trace.rsplit(":", 1)

        def dump() -> None:
            stats = tracemalloc.take_snapshot().statistics("traceback")[:40]
            with open(path, "w") as out:
                for stat in stats:
                    out.write(f"{stat.size / 1024:.0f} KiB in {stat.count} blocks\n")
                    out.write("\n".join(stat.traceback.format()[-8:]) + "\n\n")

        threading.Timer(float(delay), dump).start()
    profile = os.environ.get("BENCH_PROFILE")  # a file: cProfile the server into it
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        ws_per_message_deflate=False,
        backlog=4096,
        timeout_graceful_shutdown=5,
    )
    if profile:
        profiler.disable()
        profiler.dump_stats(profile)


if __name__ == "__main__":
    main()
