"""The OCPP endpoint `/ocpp/{station_id}`: mounted in the main app, or served alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from backend.broadcast import BroadcastBus
from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.system_logs import SystemLogWriter
from backend.settings import Settings, get_settings
from ocpp_server.base import OcppContext
from ocpp_server.connection import serve_station
from ocpp_server.ingest import IngestBatcher
from ocpp_server.registry import StationRegistry

__all__ = [
    "OcppContext",
    "StationSockets",
    "create_ocpp_app",
    "ocpp_context",
    "ocpp_routes",
    "ocpp_running",
]


def ocpp_routes(ctx: OcppContext) -> list[BaseRoute]:
    """The routes to add to an application (backend/app.py adds them to the main app)."""

    async def endpoint(websocket: WebSocket) -> None:
        await serve_station(websocket, ctx)

    return [WebSocketRoute("/ocpp/{station_id}", endpoint)]


class StationSockets:
    """Sends station websockets straight to the OCPP handler, past the web app's middleware
    and router: an idle station keeps its whole ASGI call chain alive for hours, and with
    thousands of stations every frame of that chain costs memory."""

    PREFIX = "/ocpp/"

    def __init__(self, app: ASGIApp, ctx: OcppContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "websocket" and path.startswith(self.PREFIX):
            station_id = path[len(self.PREFIX) :]
            if station_id and "/" not in station_id:
                scope["path_params"] = {"station_id": station_id}
                await serve_station(WebSocket(scope, receive, send), self.ctx)
                return
        await self.app(scope, receive, send)


def ocpp_context(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], bus: BroadcastBus
) -> OcppContext:
    """The OCPP side of one server process: its bus and its station registry."""
    registry = StationRegistry(
        sessionmaker,
        bus,
        command_timeout=settings.station_command_timeout_s,
        heartbeat_s=settings.process_heartbeat_s,
        sweep_s=settings.offline_sweep_s,
    )
    return OcppContext(
        sessionmaker=sessionmaker,
        bus=bus,
        registry=registry,
        ingest=IngestBatcher(sessionmaker, bus),
        system_log=SystemLogWriter(sessionmaker),
    )


@asynccontextmanager
async def ocpp_running(ctx: OcppContext) -> AsyncIterator[None]:
    """Connect the bus and start the registry for the lifetime of the application; at the end,
    write the meter values and system log rows still queued."""
    bus = ctx.bus
    if isinstance(bus, BroadcastBus):
        await bus.connect()
    try:
        if ctx.registry is not None:
            await ctx.registry.start()
        try:
            yield
        finally:
            if ctx.ingest is not None:
                await ctx.ingest.close()
            if ctx.system_log is not None:
                await ctx.system_log.close()
            if ctx.registry is not None:
                await ctx.registry.stop()
    finally:
        if isinstance(bus, BroadcastBus):
            await bus.disconnect()


def create_ocpp_app(settings: Settings | None = None) -> ASGIApp:
    """The OCPP server alone (e.g. `uvicorn --factory ocpp_server.app:create_ocpp_app`)."""
    settings = settings or get_settings()
    engine = create_engine(settings.resolved_database_url())
    bus = BroadcastBus(settings.broadcast_url, settings.broadcast_prefix)
    ctx = ocpp_context(settings, create_sessionmaker(engine), bus)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with ocpp_running(ctx):
            yield
        await engine.dispose()

    return StationSockets(Starlette(routes=ocpp_routes(ctx), lifespan=lifespan), ctx)
