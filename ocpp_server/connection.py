"""One station's websocket: subprotocol, HTTP basic auth through the domain, the message loop.

- The station offers `ocpp2.0.1` and/or `ocpp1.6`; the first one it offers that we speak wins.
  Offering neither is refused before the handshake completes.
- Credentials: HTTP basic auth, user = the station's identity (OCPP security profiles 1 and
  2; TLS ends at the proxy). A wrong or missing password for a station that has one is
  answered 401 and the websocket never opens.
- A registration token may ride in the URL (`?token=…`); the boot notification uses it.
- Reconnect storms: the password check is one indexed read and a SHA-256; the database work of
  a connect or a close waits for one of a bounded number of slots (the registry's); a new
  connection of a station replaces the old one in this process (which is closed without
  marking the station offline), and the shared registry tells a late close of an old
  connection from the current one in any process. Dead sockets are found by the websocket
  pings of the server (uvicorn's `ws_ping_interval` / `ws_ping_timeout`, 20 s each).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from typing import Any

from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from backend.db.models import LogCategory, LogLevel
from backend.domain.charging import Charging
from ocpp_server.base import OcppContext, StationHandler
from ocpp_server.registry import StationRegistry
from ocpp_server.v16.station import V16Station
from ocpp_server.v201.station import V201Station

log = logging.getLogger("vev_iq.ocpp")

SUBPROTOCOLS: dict[str, type[StationHandler]] = {
    "ocpp2.0.1": V201Station,
    "ocpp1.6": V16Station,
}
# OCPP identities travel in the URL: the same rule as stations declared by admins.
IDENTITY = re.compile(r"^[A-Za-z0-9._\-:*]{1,48}$")


class StarletteConnection:
    """The `recv`/`send` pair the `ocpp` library expects, over a Starlette websocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def recv(self) -> str:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if message.get("text") is not None:
            return str(message["text"])
        return bytes(message.get("bytes") or b"").decode("utf-8", errors="replace")

    async def send(self, message: str) -> None:
        await self.websocket.send_text(message)

    async def close(self) -> None:
        await self.websocket.close(code=1001, reason="replaced by a newer connection")


def basic_auth(websocket: WebSocket) -> tuple[str, str] | None:
    header = websocket.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def choose_subprotocol(offered: list[str]) -> str | None:
    return next((p for p in offered if p in SUBPROTOCOLS), None)


async def deny(websocket: WebSocket, status: int, headers: dict[str, str] | None = None) -> None:
    try:
        await websocket.send_denial_response(Response(status_code=status, headers=headers))
    except RuntimeError:  # the server cannot send an HTTP answer: close the handshake
        await websocket.close(code=1008)


async def serve_station(websocket: WebSocket, ctx: OcppContext) -> None:
    identity = websocket.path_params.get("station_id", "")
    protocol = choose_subprotocol(list(websocket.scope.get("subprotocols") or []))
    if not IDENTITY.match(identity) or protocol is None:
        if ctx.system_log is not None:
            ctx.system_log.emit(
                LogLevel.WARNING,
                LogCategory.OCPP,
                "ocpp.connection_refused",
                "A station connection was refused: "
                + (
                    "its identity is not valid."
                    if protocol
                    else "it offers no OCPP version we speak."
                ),
                # Only a valid identity is kept: anything else may be garbage or worse.
                ocpp_identity=identity if IDENTITY.match(identity) else None,
                details={"offered": list(websocket.scope.get("subprotocols") or [])[:5]},
            )
        await deny(websocket, 400 if protocol else 426)
        return
    credentials = basic_auth(websocket)
    if credentials is not None and credentials[0] != identity:
        credentials = None
    registry = ctx.registry
    async with registry.db_slots if registry else _NO_LIMIT, ctx.sessionmaker() as session:
        charging = Charging(session, ctx.bus)
        allowed = await charging.registration.authenticate(
            identity, credentials[1] if credentials else None
        )
        station = await charging.status.ref(identity) if allowed else None
    if not allowed:
        log.warning("%s: refused (wrong or missing password)", identity)
        if ctx.system_log is not None:
            ctx.system_log.emit(
                LogLevel.WARNING,
                LogCategory.SECURITY,
                "security.station_auth_failed",
                "A station connection was refused: wrong or missing password.",
                ocpp_identity=identity,
                details={"anonymous": credentials is None},
            )
        await deny(websocket, 401, {"www-authenticate": 'Basic realm="OCPP"'})
        return

    await websocket.accept(subprotocol=protocol)
    handler = SUBPROTOCOLS[protocol](
        identity,
        StarletteConnection(websocket),
        ctx,
        station,
        registration_token=websocket.query_params.get("token"),
    )
    try:
        if registry is not None:
            await registry.open(handler)
        if station is not None:
            if registry is not None:
                await _attach(registry, handler)
            await _connection_changed(ctx, station.id, True)
        await handler.start()
    except WebSocketDisconnect:
        pass
    finally:
        await _closed(ctx, handler)


async def _attach(registry: StationRegistry, handler: StationHandler) -> None:
    try:
        await registry.attach(handler)
    except Exception:  # the station works on; only commands cannot reach it until it reconnects
        log.exception("%s: could not record the connection in the registry", handler.id)


class _NoLimit:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


_NO_LIMIT = _NoLimit()


async def _closed(ctx: OcppContext, handler: StationHandler) -> None:
    """The websocket closed: unregister it, and mark the station disconnected unless a newer
    connection of the station already took over."""
    try:
        current = await ctx.registry.release(handler) if ctx.registry else True
    except Exception:
        log.exception("%s: could not unregister the connection", handler.id)
        current = True
    if current and handler.station is not None:
        await _connection_changed(ctx, handler.station.id, False)


async def _connection_changed(ctx: OcppContext, station_id: Any, connected: bool) -> None:
    try:
        slots = ctx.registry.db_slots if ctx.registry else _NO_LIMIT
        async with slots, ctx.sessionmaker() as session:
            await Charging(session, ctx.bus).status.connection_changed(station_id, connected)
    except Exception:  # a failed status update must not break the connection's lifecycle
        log.exception("station %s: could not record the connection change", station_id)
