"""What both OCPP versions share: framing errors, schema validation, repeats, the domain.

`StationHandler` sits on the `ocpp` library's ChargePoint (its routing with `@on`, its
outgoing `call()`), and changes what a CSMS needs changed:
- malformed frames get a CALLERROR (the library only logs them), with the code of the
  station's OCPP version (FormationViolation in 1.6, FormatViolation / RpcFrameworkError in
  2.0.1), and the connection lives on;
- an unknown action is NotImplemented, a known one we do not handle is NotSupported (the
  library swaps them);
- schema violations map to their constraint: type → TypeConstraintViolation, missing field →
  OccurrenceConstraintViolation, value out of range or enum → PropertyConstraintViolation,
  unknown field → FormationViolation; validated in-line by validators compiled once per action
  (fastjsonschema; the library's jsonschema validators only explain a payload that fails);
- a station marked `lenient` skips schema validation (handlers coerce what they read);
- a call repeated with the same id and payload is answered again from a small cache, without
  touching the domain (the domain is idempotent anyway, for repeats across reconnects);
- calls other than BootNotification and Heartbeat are refused until the station is accepted;
- the per-call overhead of the library's dispatch is gone: the handler table is built once per
  class (not per connection), with no `inspect.signature` per call;
- meter values go through the process's write-behind batcher (`ocpp_server/ingest.py`): many
  stations' messages are written in one transaction, and each is answered once committed;
- what goes wrong (malformed frames, schema violations, unknown actions, CALLERRORs a station
  answers, refused boots, handler failures) becomes a system log row through the process's
  buffered writer (`backend.domain.system_logs.SystemLogWriter`): queued, never awaited here,
  never able to break the station's connection. Raw frames are not logged (badge numbers).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import fastjsonschema
from jsonschema.exceptions import ValidationError as SchemaValidationError
from ocpp.charge_point import (
    ChargePoint,
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, MessageType, get_validator, unpack
from ocpp.routing import create_route_map
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import LogCategory, LogLevel, RegistrationStatus
from backend.domain.charging import BootInfo, BootResult, Charging, ReadingsRequest, StationRef
from backend.events import EventBus, NullBus

if TYPE_CHECKING:
    from backend.domain.system_logs import SystemLogWriter
    from ocpp_server.ingest import IngestBatcher
    from ocpp_server.registry import StationRegistry

log = logging.getLogger("vev_iq.ocpp")

TOUCH_EVERY_S = 60
REPLY_CACHE_SIZE = 32


@dataclass
class OcppContext:
    """What every station connection of this process shares."""

    sessionmaker: async_sessionmaker[AsyncSession]
    bus: EventBus = field(default_factory=NullBus)
    # Which process holds which station; commands from any process (ocpp_server.registry).
    registry: StationRegistry | None = None
    # Meter values of many stations in one transaction (ocpp_server.ingest); None: one each.
    ingest: IngestBatcher | None = None
    # OCPP errors into the system logs, buffered (backend.domain.system_logs); None: not kept.
    system_log: SystemLogWriter | None = None


class CallError(OCPPError):
    """An OCPP CALLERROR with the code named at the raise."""

    def __init__(self, code: str, description: str, details: dict[str, Any] | None = None):
        super().__init__(description, details or {})
        self.code = code


class SchemaViolation(CallError):
    """A payload its action's JSON schema refuses (its description may quote a value)."""


# Compiled schema validators, per (OCPP version, action): None when there is no schema.
_COMPILED: dict[tuple[str, str], Callable[[Any], Any] | None] = {}


def compiled_validator(version: str, action: str) -> Callable[[Any], Any] | None:
    key = (version, action)
    if key not in _COMPILED:
        try:
            schema = get_validator(MessageType.Call, action, version).schema
        except OSError:
            _COMPILED[key] = None
        else:
            _COMPILED[key] = fastjsonschema.compile(schema)
    return _COMPILED[key]


_SNAKE_KEYS: dict[str, str] = {}
# `@after` handlers running (kept referenced until done).
_AFTER_TASKS: set[asyncio.Future[Any]] = set()


def snake_case(data: Any) -> Any:
    """The library's `camel_to_snake_case`, with each key converted once per process (its
    regular expressions per key and per message were a good part of a MeterValues' cost)."""
    if isinstance(data, dict):
        converted = {}
        for key, value in data.items():
            name = _SNAKE_KEYS.get(key)
            if name is None:
                name = next(iter(camel_to_snake_case({key: None})))
                if len(_SNAKE_KEYS) < 4096:  # keys come from schemas, but stations may invent
                    _SNAKE_KEYS[key] = name
            converted[name] = snake_case(value) if isinstance(value, dict | list) else value
        return converted
    if isinstance(data, list):
        return [snake_case(value) if isinstance(value, dict | list) else value for value in data]
    return data


@dataclass(frozen=True)
class Route:
    """One action's handler, as the library's `@on` declared it, shared by all connections."""

    on_action: Callable[..., Any]
    wants_unique_id: bool
    after_action: Callable[..., Any] | None
    after_wants_unique_id: bool


def _routes(cls: type) -> dict[str, Route]:
    table: dict[str, Route] = {}
    for action, handlers in create_route_map(cls).items():
        on_action = handlers.get("_on_action")
        if on_action is None:
            continue
        after = handlers.get("_after_action")
        table[action] = Route(
            on_action,
            "call_unique_id" in inspect.signature(on_action).parameters,
            after,
            after is not None and "call_unique_id" in inspect.signature(after).parameters,
        )
    return table


def call_error_frame(unique_id: str, code: str, description: str, details: Any = None) -> str:
    return json.dumps(
        [MessageType.CallError, unique_id, code, description, details or {}], separators=(",", ":")
    )


def parse_time(value: Any) -> datetime:
    """An OCPP timestamp as aware UTC; a time without offset is taken as UTC."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError as error:
            raise CallError("PropertyConstraintViolation", f"Not a timestamp: {value!r}") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def as_int(value: Any, name: str) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError) as error:
        raise CallError("TypeConstraintViolation", f"{name} must be an integer") from error


class StationHandler(ChargePoint):
    """One connected station, whatever its OCPP version (mixed into the versioned classes)."""

    _ocpp_version: ClassVar[str]
    # Error codes as each version spells them.
    FORMAT_VIOLATION: ClassVar[str] = "FormatViolation"
    OCCURRENCE_VIOLATION: ClassVar[str] = "OccurrenceConstraintViolation"
    NOT_ACCEPTED_CODE: ClassVar[str] = "SecurityError"
    ALWAYS_ALLOWED: ClassVar[frozenset[str]] = frozenset({"BootNotification", "Heartbeat"})
    ACTIONS: ClassVar[frozenset[str]] = frozenset()

    # The handlers of each class, found once (the library looks them up per connection).
    _ROUTES: ClassVar[dict[str, Route]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._ROUTES = _routes(cls)

    def __init__(
        self,
        identity: str,
        connection: Any,
        ctx: OcppContext,
        station: StationRef | None,
        registration_token: str | None = None,
    ) -> None:
        # What ChargePoint.__init__ sets, less its per-connection route map (see _ROUTES) and
        # with the queue and lock of outgoing calls made on the first call (most connections
        # never get a command): a connected idle station stays small.
        self.id = identity
        self._connection = connection
        self._response_timeout = 30
        self._unique_id_generator = uuid.uuid4
        self.logger = logging.getLogger("ocpp")  # the library's, as ChargePoint sets it
        self.ctx = ctx
        self.station = station
        self.registration_token = registration_token
        # Answers to recent calls: message id -> (hash of the frame, answer).
        self._replies: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._current: tuple[str, int] | None = None
        self._last_touch = time.monotonic()
        # This websocket, told apart from the station's earlier or later ones (registry).
        self.connection_id = uuid.uuid4()
        self.replaced = False  # a newer connection of the same station took over
        self.attached_station_id: uuid.UUID | None = None

    @property
    def route_map(self) -> dict[str, dict[str, Any]]:  # type: ignore[override]
        """The library's view of the handlers (bound), for code that asks for it."""
        table: dict[str, dict[str, Any]] = {}
        for action, route in self._ROUTES.items():
            table[action] = {
                "_on_action": route.on_action.__get__(self),
                "_skip_schema_validation": True,
            }
            if route.after_action is not None:
                table[action]["_after_action"] = route.after_action.__get__(self)
        return table

    @property
    def _call_lock(self) -> asyncio.Lock:  # type: ignore[override]
        lock: asyncio.Lock | None = self.__dict__.get("_lock")
        if lock is None:
            lock = self.__dict__["_lock"] = asyncio.Lock()
        return lock

    @property
    def _response_queue(self) -> asyncio.Queue[Any]:  # type: ignore[override]
        queue: asyncio.Queue[Any] | None = self.__dict__.get("_responses")
        if queue is None:
            queue = self.__dict__["_responses"] = asyncio.Queue()
        return queue

    # --- the domain ----------------------------------------------------------------------------

    @asynccontextmanager
    async def domain(self) -> AsyncIterator[Charging]:
        async with self.ctx.sessionmaker() as session:
            yield Charging(session, self.ctx.bus)

    async def record_readings(self, request: ReadingsRequest) -> bool:
        """Meter values into the domain: through the batcher (one transaction for many
        stations, answered once committed), or in a transaction of their own."""
        if self.ctx.ingest is not None:
            return await self.ctx.ingest.record(request)
        async with self.domain() as charging:
            [recorded] = await charging.sessions.record_many([request])
            return recorded

    @property
    def lenient(self) -> bool:
        return self.station is not None and self.station.lenient

    @property
    def accepted(self) -> bool:
        return self.station is not None and self.station.registration_status == "accepted"

    def require_station(self) -> StationRef:
        if self.station is None or not self.accepted:
            raise CallError(self.NOT_ACCEPTED_CODE, "The station is not accepted by the CSMS.")
        return self.station

    # --- system logs -------------------------------------------------------------------------

    def log_event(self, level: LogLevel, event: str, message: str, **details: Any) -> None:
        """A system log row about this station (queued: never waits, never raises)."""
        writer = self.ctx.system_log
        if writer is None:
            return
        writer.emit(
            level,
            LogCategory.OCPP,
            event,
            message,
            station_id=self.station.id if self.station is not None else None,
            ocpp_identity=self.id,
            details={"ocpp_version": self._ocpp_version, **details},
        )

    def log_call_error(self, action: str | None, error: OCPPError) -> None:
        """A CALLERROR we answer to one of the station's calls."""
        code = getattr(error, "code", type(error).__name__)
        if isinstance(error, SchemaViolation):
            # The description may quote the refused value (a badge number): the path only.
            self.log_event(
                LogLevel.WARNING,
                "ocpp.schema_violation",
                "A message did not match its OCPP schema.",
                action=action,
                code=code,
                path=[str(part) for part in (error.details or {}).get("path", [])],
            )
        elif code in ("NotImplemented", "NotSupported"):
            self.log_event(
                LogLevel.WARNING,
                "ocpp.unknown_action",
                "The station called an action we do not handle.",
                action=action,
                code=code,
            )
        elif code == self.NOT_ACCEPTED_CODE and not self.accepted:
            self.log_event(
                LogLevel.WARNING,
                "ocpp.not_accepted",
                "A station that is not accepted sent a message.",
                action=action,
                code=code,
            )
        else:
            self.log_event(
                LogLevel.WARNING,
                "ocpp.call_rejected",
                "A message from the station was refused.",
                action=action,
                code=code,
                description=error.description,
            )

    # --- framing -------------------------------------------------------------------------------

    def _framing_error(self, error: OCPPError, raw: Any) -> tuple[str, str]:
        raise NotImplementedError

    async def route_message(self, raw_msg: Any) -> None:
        await self._maybe_touch()
        try:
            msg = unpack(raw_msg)
        except OCPPError as error:
            code, unique_id = self._framing_error(error, raw_msg)
            log.info("%s: malformed frame (%s)", self.id, code)
            self.log_event(
                LogLevel.WARNING,
                "ocpp.malformed_frame",
                "The station sent a frame that is not valid OCPP-J.",
                code=code,
                description=error.description,
                frame_length=len(raw_msg) if isinstance(raw_msg, str | bytes) else None,
            )
            await self._send(call_error_frame(unique_id, code, error.description, {}))
            return
        if msg.message_type_id != MessageType.Call:
            if msg.message_type_id == MessageType.CallError:
                # The station refused one of our commands (the command's caller hears it too).
                self.log_event(
                    LogLevel.WARNING,
                    "ocpp.callerror_received",
                    "The station answered a command with an error.",
                    code=str(getattr(msg, "error_code", "")),
                    description=str(getattr(msg, "error_description", "")),
                    error_details=getattr(msg, "error_details", None),
                )
            await super().route_message(raw_msg)
            return
        if not isinstance(msg.unique_id, str) or not isinstance(msg.action, str):
            self.log_event(
                LogLevel.WARNING,
                "ocpp.malformed_frame",
                "The station sent a frame that is not valid OCPP-J.",
                code=self.FORMAT_VIOLATION,
                description="MessageId and Action are strings.",
            )
            await self._send(
                call_error_frame(
                    str(msg.unique_id), self.FORMAT_VIOLATION, "MessageId and Action are strings."
                )
            )
            return
        # The same frame again (same id, action and payload, byte for byte): the same answer,
        # nothing redone. A repeat spelled differently reaches the domain, which merges it.
        key = hash(raw_msg)
        cached = self._replies.get(msg.unique_id)
        if cached is not None and cached[0] == key:
            await self._send(cached[1])
            return
        self._current = (msg.unique_id, key)
        try:
            try:
                await self._handle_call(msg)
            except OCPPError as error:
                self.log_call_error(msg.action if isinstance(msg.action, str) else None, error)
                await self._send(msg.create_call_error(error).to_json())
        finally:
            self._current = None
        if (
            self.station is not None
            and self.attached_station_id != self.station.id
            and self.ctx.registry is not None
        ):
            # An unknown station became known (its first boot): commands may reach it now.
            self.attached_station_id = self.station.id
            try:
                await self.ctx.registry.attach(self)
            except Exception:
                log.exception("%s: could not record the connection in the registry", self.id)

    async def close_connection(self) -> None:
        """Close this websocket (a newer connection of the station replaces it)."""
        close = getattr(self._connection, "close", None)
        if close is not None:
            try:
                await close()
            except Exception:  # already closed, or closing: nothing left to do
                log.debug("%s: closing a replaced connection failed", self.id, exc_info=True)

    async def _send(self, message: str) -> None:
        if self._current is not None and message.startswith("[3,"):
            unique_id, key = self._current
            self._replies[unique_id] = (key, message)
            while len(self._replies) > REPLY_CACHE_SIZE:
                self._replies.popitem(last=False)
        await self._connection.send(message)

    async def _handle_call(self, msg: Call) -> Any:
        route = self._ROUTES.get(msg.action)
        if route is None:
            if msg.action in self.ACTIONS:
                raise CallError(
                    "NotSupported", f"{msg.action} is recognized but not supported here."
                )
            raise CallError("NotImplemented", f"{msg.action} is not a known action.")
        if not isinstance(msg.payload, dict):
            raise CallError(self.FORMAT_VIOLATION, "The payload must be a JSON object.")
        if msg.action not in self.ALWAYS_ALLOWED:
            self.require_station()
        if not self.lenient:
            self._validate(msg)
        return await self._dispatch(route, msg)

    async def _dispatch(self, route: Route, msg: Call) -> Any:
        """What ChargePoint._handle_call does once validated: call the handler with the
        payload in snake_case, answer its result in camelCase (a failure: InternalError)."""
        payload = snake_case(msg.payload)
        extra = {"call_unique_id": msg.unique_id} if route.wants_unique_id else {}
        try:
            response = route.on_action(self, **payload, **extra)
            if inspect.isawaitable(response):
                response = await response
        except OCPPError:
            raise
        except Exception as error:
            log.exception("%s: error while handling %s", self.id, msg.action)
            # The exception's text may hold the message's values (SQL parameters): its kind only.
            self.log_event(
                LogLevel.ERROR,
                "ocpp.internal_error",
                "Handling a message from the station failed on our side.",
                action=msg.action,
                error=type(error).__name__,
            )
            await self._send(msg.create_call_error(error).to_json())
            return None
        answer = snake_to_camel_case(remove_nones(serialize_as_dict(response)))
        await self._send(msg.create_call_result(answer).to_json())
        if route.after_action is not None:
            extra = {"call_unique_id": msg.unique_id} if route.after_wants_unique_id else {}
            after = route.after_action(self, **payload, **extra)
            if inspect.isawaitable(after):
                task = asyncio.ensure_future(after)
                _AFTER_TASKS.add(task)
                task.add_done_callback(_AFTER_TASKS.discard)
        return response

    def _validate(self, msg: Call) -> None:
        check = compiled_validator(self._ocpp_version, msg.action)
        if check is None:
            return
        try:
            check(msg.payload)
            return
        except fastjsonschema.JsonSchemaException:
            pass  # rejected: the library's validator says exactly why (or that it is fine)
        validator = get_validator(MessageType.Call, msg.action, self._ocpp_version)
        error = next(iter(validator.iter_errors(msg.payload)), None)
        if error is None:
            return
        raise SchemaViolation(
            self._schema_code(error), error.message[:200], {"path": list(error.path)}
        )

    def _schema_code(self, error: SchemaValidationError) -> str:
        if error.validator == "type":
            return "TypeConstraintViolation"
        if error.validator == "required":
            return self.OCCURRENCE_VIOLATION
        if error.validator == "additionalProperties":
            return self.FORMAT_VIOLATION
        if error.validator in ("maxLength", "minLength"):
            return "TypeConstraintViolation"
        if error.validator in ("minItems", "maxItems"):
            return self.OCCURRENCE_VIOLATION
        return "PropertyConstraintViolation"  # enum, minimum, maximum, pattern, ...

    async def _maybe_touch(self) -> None:
        if self.station is None or time.monotonic() - self._last_touch < TOUCH_EVERY_S:
            return
        self._last_touch = time.monotonic()
        async with self.domain() as charging:
            await charging.status.touch(self.station.id)

    def touched(self) -> None:
        """The handler just updated last_seen itself."""
        self._last_touch = time.monotonic()

    @staticmethod
    def now() -> datetime:
        return utcnow()

    # --- Provisioning, the same for every version once the payload is read ------------------

    async def boot_station(self, info: BootInfo) -> BootResult:
        async with self.domain() as charging:
            result = await charging.registration.boot(self.id, info, self.registration_token)
        self.station = result.station
        self.touched()
        if result.status is RegistrationStatus.REJECTED:
            self.log_event(
                LogLevel.WARNING,
                "ocpp.boot_rejected",
                "A rejected station booted: it was told to stay away.",
                vendor=info.vendor,
                model=info.model,
            )
        elif result.status is RegistrationStatus.PENDING:
            self.log_event(
                LogLevel.INFO,
                "ocpp.boot_pending",
                "A station waiting for approval booted.",
                vendor=info.vendor,
                model=info.model,
            )
        if result.closed_sessions:
            self.log_event(
                LogLevel.WARNING,
                "ocpp.reboot_mid_session",
                "The station rebooted during a session: the session was closed.",
                sessions=len(result.closed_sessions),
            )
        return result

    async def note_heartbeat(self) -> datetime:
        """The time to answer a Heartbeat with, after noting that the station is alive."""
        now = self.now()
        if self.station is not None:
            async with self.domain() as charging:
                now = await charging.status.heartbeat(self.station.id)
            self.touched()
        return now


def guess_unique_id(raw: Any) -> str:
    """The message id of a frame we could not use, or "-1" when it cannot be read."""
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError):
        return "-1"
    if isinstance(parsed, list) and len(parsed) > 1 and isinstance(parsed[1], str):
        return parsed[1]
    return "-1"
