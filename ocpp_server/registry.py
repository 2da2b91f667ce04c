"""Which process holds which station, and commands that reach it from any process.

Each server process:
- has a row in `server_processes`, refreshed every `heartbeat_s`; rows older than
  `stale_after` belong to a crashed or frozen process and are ignored (and later deleted, with
  the connections they registered);
- writes `station_connections[station] = (this process, this connection)` when a station's
  websocket opens (or when an unknown station becomes known at its boot), and deletes it when
  that same connection closes — a later connection of the station, here or in another process,
  has overwritten it, so a late close never unregisters the new one;
- keeps one connection per identity: a new connection of a station replaces the old one, which
  is closed without marking the station offline (reconnect storms stay cheap and clean);
- listens on its own channel `process:{id}` for calls, runs them on the local websocket and
  publishes the answer on the caller's channel;
- sweeps for stations that stopped heartbeating and marks them offline (safe in every process
  at once: `StationStatus.mark_stale_offline`).

`send()` is the domain's `StationLink`: from any process, it finds the holder in the shared
store, runs the command locally or sends it over the bus, and waits at most
`command_timeout` for the answer. STATION_OFFLINE: nobody holds the station (or its process is
stale); STATION_TIMEOUT: no answer in time; STATION_REJECTED: the station answered a CALLERROR.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OCPPError
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.broadcast import BroadcastBus
from backend.db.base import utcnow
from backend.db.models import ServerProcess, StationConnection
from backend.domain.charging.commands import Command, CommandAnswer
from backend.domain.charging.status import StationStatus
from backend.domain.errors import (
    DomainError,
    InvalidInput,
    StationOffline,
    StationRejected,
    StationTimeout,
)
from backend.events import EventBus, NullBus

if TYPE_CHECKING:
    from ocpp_server.base import StationHandler

log = logging.getLogger("vev_iq.ocpp.registry")

_ERRORS: dict[str, type[DomainError]] = {
    cls.code: cls for cls in (StationOffline, StationTimeout, StationRejected, InvalidInput)
}


def new_process_id() -> str:
    return f"{socket.gethostname()[:32]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class StationRegistry:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: EventBus | None = None,
        *,
        command_timeout: float = 30.0,
        heartbeat_s: float = 5.0,
        sweep_s: float = 30.0,
        max_concurrent_db: int = 16,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.bus: EventBus = bus or NullBus()
        self.process_id = new_process_id()
        self.command_timeout = command_timeout
        self.heartbeat_s = heartbeat_s
        self.sweep_s = sweep_s
        self.stale_after = timedelta(seconds=max(4 * heartbeat_s, 15.0))
        # Connection bookkeeping is bounded: a storm of reconnects queues here instead of
        # exhausting the database pool.
        self.db_slots = asyncio.Semaphore(max_concurrent_db)
        self.by_identity: dict[str, StationHandler] = {}
        self.by_station: dict[uuid.UUID, StationHandler] = {}
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stack = contextlib.AsyncExitStack()
        self.started = False

    @property
    def _shared_bus(self) -> BroadcastBus | None:
        bus = self.bus
        return bus if isinstance(bus, BroadcastBus) and bus.shared and bus.connected else None

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        async with self.sessionmaker() as session:
            session.add(
                ServerProcess(id=self.process_id, host=socket.gethostname()[:255], pid=os.getpid())
            )
            await session.commit()
        bus = self._shared_bus
        if bus is not None:
            inbox = await self._stack.enter_async_context(bus.subscribe(self._channel()))
            self._spawn(self._serve_inbox(inbox))
        self._spawn(self._heartbeat_loop())
        self._spawn(self._sweep_loop())
        self.started = True
        log.info("station registry started as %s", self.process_id)

    async def stop(self) -> None:
        self.started = False
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        await self._stack.aclose()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(StationOffline("The server is shutting down."))
        with contextlib.suppress(Exception):
            async with self.sessionmaker() as session:
                await session.execute(
                    delete(StationConnection).where(StationConnection.process_id == self.process_id)
                )
                await session.execute(
                    delete(ServerProcess).where(ServerProcess.id == self.process_id)
                )
                await session.commit()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _channel(self, process_id: str | None = None) -> str:
        return f"process:{process_id or self.process_id}"

    async def _heartbeat_loop(self) -> None:
        beats = 0
        while True:
            await asyncio.sleep(self.heartbeat_s)
            beats += 1
            try:
                await self._beat(collect=beats % 12 == 0)
            except Exception:
                log.warning("registry heartbeat failed", exc_info=True)

    async def _beat(self, collect: bool = False) -> None:
        now = utcnow()
        async with self.sessionmaker() as session:
            result = await session.execute(
                update(ServerProcess)
                .where(ServerProcess.id == self.process_id)
                .values(heartbeat_at=now)
            )
            if result.rowcount == 0 and self.by_station:  # type: ignore[attr-defined]
                # Collected as stale after a long pause: come back, with our connections.
                # (A process holding no station needs no row: `attach` writes it again.)
                await self._alive(session)
                for station_id, handler in list(self.by_station.items()):
                    await self._upsert(session, station_id, handler.connection_id)
            if collect:
                await session.execute(
                    delete(ServerProcess).where(
                        ServerProcess.heartbeat_at < now - 10 * self.stale_after
                    )
                )
            await session.commit()

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_s)
            try:
                await self.sweep()
            except Exception:
                log.warning("offline sweep failed", exc_info=True)

    async def sweep(self) -> list[uuid.UUID]:
        async with self.sessionmaker() as session:
            return await StationStatus(session, self.bus).mark_stale_offline()

    # --- connections ---------------------------------------------------------------------------

    async def open(self, handler: StationHandler) -> None:
        """A websocket for this identity opened here: it replaces any older one."""
        old = self.by_identity.get(handler.id)
        self.by_identity[handler.id] = handler
        if old is not None and old is not handler:
            old.replaced = True
            log.info("%s: a new connection replaces the previous one", handler.id)
            await old.close_connection()

    async def attach(self, handler: StationHandler) -> None:
        """The station behind this connection is known: record that we hold it."""
        station = handler.station
        if station is None or self.by_identity.get(handler.id) is not handler:
            return
        handler.attached_station_id = station.id
        self.by_station[station.id] = handler
        async with self.db_slots, self.sessionmaker() as session:
            if handler.replaced:  # replaced while waiting for a slot: the newer one records
                return
            await self._alive(session)
            await self._upsert(session, station.id, handler.connection_id)
            await session.commit()

    async def _alive(self, session: AsyncSession) -> None:
        """This process's row, fresh (recreated if it was collected or wiped meanwhile)."""
        values = {
            "id": self.process_id,
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": utcnow(),
            "heartbeat_at": utcnow(),
        }
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(ServerProcess).values(**values)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["id"], set_={"heartbeat_at": statement.excluded.heartbeat_at}
            )
        )

    async def _upsert(
        self, session: AsyncSession, station_id: uuid.UUID, connection_id: uuid.UUID
    ) -> None:
        values = {
            "station_id": station_id,
            "process_id": self.process_id,
            "connection_id": connection_id,
            "connected_at": utcnow(),
        }
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(StationConnection).values(**values)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["station_id"],
                set_={k: statement.excluded[k] for k in values if k != "station_id"},
            )
        )

    async def release(self, handler: StationHandler) -> bool:
        """The websocket closed. True when it was the station's current connection (the
        station is now disconnected); False when a newer connection replaced it."""
        if self.by_identity.get(handler.id) is handler:
            del self.by_identity[handler.id]
        station_id = getattr(handler, "attached_station_id", None)
        if station_id is not None and self.by_station.get(station_id) is handler:
            del self.by_station[station_id]
        if station_id is None:
            return handler.station is not None and not handler.replaced
        # Only this connection's own row: a newer connection's row stays.
        async with self.db_slots, self.sessionmaker() as session:
            result = await session.execute(
                delete(StationConnection).where(
                    StationConnection.station_id == station_id,
                    StationConnection.connection_id == handler.connection_id,
                )
            )
            await session.commit()
        return not handler.replaced and bool(result.rowcount)  # type: ignore[attr-defined]

    # --- commands ------------------------------------------------------------------------------

    async def holder(self, station_id: uuid.UUID) -> str | None:
        """The live process holding the station's websocket, if any."""
        async with self.sessionmaker() as session:
            found: str | None = await session.scalar(
                select(StationConnection.process_id)
                .join(ServerProcess, ServerProcess.id == StationConnection.process_id)
                .where(
                    StationConnection.station_id == station_id,
                    ServerProcess.heartbeat_at > utcnow() - self.stale_after,
                )
            )
            return found

    async def send(self, station_id: uuid.UUID, command: Command) -> CommandAnswer:
        process_id = await self.holder(station_id)
        if process_id is None:
            raise StationOffline("The station is not connected.")
        if process_id == self.process_id:
            return await self.run_local(station_id, command)
        bus = self._shared_bus
        if bus is None:
            raise StationOffline("The station is connected to a process this one cannot reach.")
        request_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            sent = await bus.send(
                self._channel(process_id),
                {
                    "type": "call",
                    "id": request_id,
                    "reply_to": self.process_id,
                    "station_id": str(station_id),
                    "command": command.to_dict(),
                },
            )
            if not sent:
                raise StationOffline("The process holding the station cannot be reached.")
            # The holder times the station out itself; the margin covers the bus.
            reply = await asyncio.wait_for(future, self.command_timeout + 5)
        except TimeoutError as error:
            raise StationTimeout("No answer from the station's server process.") from error
        finally:
            self._waiting.pop(request_id, None)
        if reply.get("ok"):
            return CommandAnswer.from_dict(reply["answer"])
        error_class = _ERRORS.get(str(reply.get("code")), StationRejected)
        raise error_class(str(reply.get("message")), **(reply.get("extensions") or {}))

    async def run_local(self, station_id: uuid.UUID, command: Command) -> CommandAnswer:
        from ocpp_server.commands import execute

        handler = self.by_station.get(station_id)
        if handler is None:
            raise StationOffline("The station is not connected.")
        try:
            return await asyncio.wait_for(execute(handler, command), self.command_timeout)
        except TimeoutError as error:
            raise StationTimeout(
                f"The station did not answer within {self.command_timeout:g} s."
            ) from error
        except OCPPError as error:
            raise StationRejected(
                f"The station refused the command: {error.description or error.code}",
                ocppError=error.code,
            ) from error

    async def _serve_inbox(self, inbox: AsyncIterator[dict[str, Any]]) -> None:
        async for message in inbox:
            kind = message.get("type")
            if kind == "call":
                self._spawn(self._answer(message))
            elif kind == "reply":
                future = self._waiting.get(str(message.get("id")))
                if future is not None and not future.done():
                    future.set_result(message)

    async def _answer(self, message: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"type": "reply", "id": message.get("id")}
        try:
            answer = await self.run_local(
                uuid.UUID(str(message["station_id"])), Command.from_dict(message["command"])
            )
            reply |= {"ok": True, "answer": answer.to_dict()}
        except DomainError as error:
            reply |= {
                "ok": False,
                "code": error.code,
                "message": error.message,
                "extensions": {k: v for k, v in error.extensions.items() if k != "code"},
            }
        except Exception as error:  # a bug here must still answer the caller
            log.exception("command %s failed", message.get("command"))
            reply |= {"ok": False, "code": StationRejected.code, "message": str(error)[:200]}
        bus = self._shared_bus
        if bus is not None:
            await bus.send(self._channel(str(message.get("reply_to"))), json.dumps(reply))
