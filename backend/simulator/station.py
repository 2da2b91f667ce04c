"""One simulated charging station, OCPP 1.6J or 2.0.1, over the `ocpp` library's client side.

Its life: connect (HTTP basic auth with its password, or a registration token in the URL), boot
(retrying while pending), report each connector's status, heartbeat; then on each connector
a car arrives, badges (Authorize), starts a transaction, charges along a `ChargingCurve` with
meter values every `interval_s`, stays connected idle once full, leaves (stop), and the
connector waits for the next car.

Robust to drops: everything about a transaction goes through an outbox that is sent in order,
each message until the CSMS answers it. When the connection drops the cars keep charging, the
readings pile up in the outbox with their own timestamps, and the station reconnects with
exponential backoff (and jitter) and sends them. OCPP 1.6 transaction ids come from the CSMS:
a buffered message reads its transaction id when it is sent, after the start was answered.

The CSMS may also drive it: remote start and stop (1.6 RemoteStart/StopTransaction, 2.0.1
RequestStart/StopTransaction), charging profiles (the limit of their current period caps the
car's power; GetCompositeSchedule answers from the profiles held), reset, unlock, availability,
configuration / variables, trigger message, clear cache. A station built with
`obeys_profiles=False` answers Accepted to SetChargingProfile but keeps nothing, as some real
firmware does: its composite schedule then shows only its own maximum.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import random
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import websockets
from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

from backend.simulator.curve import Car, ChargingCurve, Sample, random_car

log = logging.getLogger("vev_iq.simulator")

V16, V201 = "1.6", "2.0.1"
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0


def now() -> datetime:
    return datetime.now(UTC)


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class StationSpec:
    identity: str
    version: str = V16
    password: str | None = None
    connectors: int = 1
    max_power_w: int = 22_000
    vendor: str = "VEV-IQ"
    model: str = "Simulator"
    badges: tuple[str, ...] = ()  # this station's drivers (else the behaviour's)
    obeys_profiles: bool = True  # False: accepts charging profiles, then ignores them


@dataclass
class Behaviour:
    """How the simulated drivers behave. Durations are simulated seconds (divided by speed),
    except `interval_s` (meter values) and `first_car_s`, which are real seconds."""

    server_url: str  # ws://host:port/ocpp
    badges: list[str] = field(default_factory=list)
    interval_s: float = 10.0
    speed: float = 1.0
    registration_token: str | None = None
    first_car_s: tuple[float, float] = (0.5, 3.0)
    between_cars_s: tuple[float, float] = (300.0, 1800.0)
    idle_after_full_s: tuple[float, float] = (600.0, 2400.0)
    response_timeout_s: float = 15.0
    seed: int | None = None
    # Which car arrives (default: one of a small, plausible fleet).
    car_factory: Callable[[random.Random], Car] | None = None
    # True: a badge is one driver with one car, so it charges at one station at a time (the
    # demo). False: any badge anywhere, at once (load tests with a handful of badges).
    one_car_per_badge: bool = False
    # Badges plugged in somewhere right now (shared by the stations of a scenario, which run
    # in one process).
    badges_in_use: Counter[str] = field(default_factory=Counter)


@dataclass
class Transaction:
    connector: int
    id_tag: str
    curve: ChargingCurve
    local_id: str = field(default_factory=lambda: uuid.uuid4().hex[:20])
    transaction_id: str | None = None  # 1.6: the CSMS's, once the start is answered
    seq_no: int = 0
    remote_start_id: int | None = None
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: str = "EVDisconnected"
    refused: bool = False

    def next_seq(self) -> int:
        seq = self.seq_no
        self.seq_no += 1
        return seq


@dataclass
class ConnectorState:
    number: int
    status: str = "Available"
    transaction: Transaction | None = None
    remote_start: asyncio.Queue[tuple[str, int | None]] = field(default_factory=asyncio.Queue)


@dataclass
class _Outgoing:
    """A message of the outbox: built when it is sent (a 1.6 transaction id may come later)."""

    build: Callable[[], Any | None]  # None: drop it (its transaction was refused)
    on_result: Callable[[Any], None] | None = None
    what: str = ""


class _Client16(Cp16):
    sim: SimulatedStation

    @on(Action16.remote_start_transaction)
    async def on_remote_start(self, id_tag: str, **kw: Any) -> Any:
        ok = self.sim.remote_start(id_tag, kw.get("connector_id"))
        return result16.RemoteStartTransaction(status="Accepted" if ok else "Rejected")

    @on(Action16.remote_stop_transaction)
    async def on_remote_stop(self, transaction_id: int, **kw: Any) -> Any:
        ok = self.sim.remote_stop(str(transaction_id))
        return result16.RemoteStopTransaction(status="Accepted" if ok else "Rejected")

    @on(Action16.reset)
    async def on_reset(self, type: str, **kw: Any) -> Any:
        return result16.Reset(status="Accepted")

    @after(Action16.reset)
    async def after_reset(self, type: str, **kw: Any) -> None:
        self.sim.reboot_soon()

    @on(Action16.unlock_connector)
    async def on_unlock(self, connector_id: int, **kw: Any) -> Any:
        return result16.UnlockConnector(status="Unlocked")

    @on(Action16.change_availability)
    async def on_availability(self, connector_id: int, type: str, **kw: Any) -> Any:
        return result16.ChangeAvailability(status="Accepted")

    @on(Action16.get_configuration)
    async def on_get_configuration(self, **kw: Any) -> Any:
        values = self.sim.configuration()
        wanted = kw.get("key") or list(values)
        known = [k for k in wanted if k in values]
        return result16.GetConfiguration(
            configuration_key=[{"key": k, "readonly": False, "value": values[k]} for k in known],
            unknown_key=[k for k in wanted if k not in values] or None,
        )

    @on(Action16.change_configuration)
    async def on_change_configuration(self, key: str, value: str, **kw: Any) -> Any:
        return result16.ChangeConfiguration(status=self.sim.configure(key, value))

    @on(Action16.clear_cache)
    async def on_clear_cache(self, **kw: Any) -> Any:
        return result16.ClearCache(status="Accepted")

    @on(Action16.trigger_message)
    async def on_trigger(self, requested_message: str, **kw: Any) -> Any:
        ok = requested_message in ("BootNotification", "Heartbeat", "StatusNotification")
        return result16.TriggerMessage(status="Accepted" if ok else "NotImplemented")

    @after(Action16.trigger_message)
    async def after_trigger(self, requested_message: str, **kw: Any) -> None:
        self.sim.triggered(requested_message)

    @on(Action16.set_charging_profile)
    async def on_set_profile(self, connector_id: int, cs_charging_profiles: Any, **kw: Any) -> Any:
        self.sim.apply_profile(connector_id, cs_charging_profiles)
        return result16.SetChargingProfile(status="Accepted")

    @on(Action16.clear_charging_profile)
    async def on_clear_profile(self, **kw: Any) -> Any:
        cleared = self.sim.clear_profiles(
            kw.get("id"), kw.get("charging_profile_purpose"), kw.get("connector_id")
        )
        return result16.ClearChargingProfile(status="Accepted" if cleared else "Unknown")

    @on(Action16.get_composite_schedule)
    async def on_composite(self, connector_id: int, duration: int, **kw: Any) -> Any:
        if connector_id not in (0, *self.sim.connectors):
            return result16.GetCompositeSchedule(status="Rejected")
        start = now()
        unit, periods = self.sim.composite_schedule(
            connector_id, start, duration, kw.get("charging_rate_unit")
        )
        return result16.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=ts(start),
            charging_schedule={
                "duration": duration,
                "start_schedule": ts(start),
                "charging_rate_unit": unit,
                "charging_schedule_period": [
                    {"start_period": offset, "limit": limit} for offset, limit in periods
                ],
            },
        )

    @on(Action16.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **kw: Any) -> Any:
        return result16.DataTransfer(status="UnknownVendorId")


class _Client201(Cp201):
    sim: SimulatedStation

    @on(Action201.request_start_transaction)
    async def on_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, **kw: Any
    ) -> Any:
        ok = self.sim.remote_start(
            str(id_token.get("id_token")), kw.get("evse_id"), remote_start_id
        )
        return result201.RequestStartTransaction(status="Accepted" if ok else "Rejected")

    @on(Action201.request_stop_transaction)
    async def on_request_stop(self, transaction_id: str, **kw: Any) -> Any:
        ok = self.sim.remote_stop(str(transaction_id))
        return result201.RequestStopTransaction(status="Accepted" if ok else "Rejected")

    @on(Action201.reset)
    async def on_reset(self, type: str, **kw: Any) -> Any:
        return result201.Reset(status="Accepted")

    @after(Action201.reset)
    async def after_reset(self, type: str, **kw: Any) -> None:
        self.sim.reboot_soon()

    @on(Action201.unlock_connector)
    async def on_unlock(self, evse_id: int, connector_id: int, **kw: Any) -> Any:
        return result201.UnlockConnector(status="Unlocked")

    @on(Action201.change_availability)
    async def on_availability(self, operational_status: str, **kw: Any) -> Any:
        return result201.ChangeAvailability(status="Accepted")

    @on(Action201.get_variables)
    async def on_get_variables(self, get_variable_data: list[dict[str, Any]], **kw: Any) -> Any:
        values = self.sim.configuration()
        results = []
        for item in get_variable_data:
            name = item.get("variable", {}).get("name", "")
            results.append(
                {
                    "attribute_status": "Accepted" if name in values else "UnknownVariable",
                    "component": item.get("component", {}),
                    "variable": item.get("variable", {}),
                    **({"attribute_value": values[name]} if name in values else {}),
                }
            )
        return result201.GetVariables(get_variable_result=results)

    @on(Action201.set_variables)
    async def on_set_variables(self, set_variable_data: list[dict[str, Any]], **kw: Any) -> Any:
        results = []
        for item in set_variable_data:
            name = item.get("variable", {}).get("name", "")
            status = self.sim.configure(name, str(item.get("attribute_value", "")))
            results.append(
                {
                    "attribute_status": "Accepted" if status == "Accepted" else "UnknownVariable",
                    "component": item.get("component", {}),
                    "variable": item.get("variable", {}),
                }
            )
        return result201.SetVariables(set_variable_result=results)

    @on(Action201.clear_cache)
    async def on_clear_cache(self, **kw: Any) -> Any:
        return result201.ClearCache(status="Accepted")

    @on(Action201.trigger_message)
    async def on_trigger(self, requested_message: str, **kw: Any) -> Any:
        ok = requested_message in ("BootNotification", "Heartbeat", "StatusNotification")
        return result201.TriggerMessage(status="Accepted" if ok else "NotImplemented")

    @after(Action201.trigger_message)
    async def after_trigger(self, requested_message: str, **kw: Any) -> None:
        self.sim.triggered(requested_message)

    @on(Action201.set_charging_profile)
    async def on_set_profile(self, evse_id: int, charging_profile: Any, **kw: Any) -> Any:
        self.sim.apply_profile(evse_id, charging_profile)
        return result201.SetChargingProfile(status="Accepted")

    @on(Action201.clear_charging_profile)
    async def on_clear_profile(self, **kw: Any) -> Any:
        criteria = kw.get("charging_profile_criteria") or {}
        cleared = self.sim.clear_profiles(
            kw.get("charging_profile_id"),
            criteria.get("charging_profile_purpose"),
            criteria.get("evse_id"),
        )
        return result201.ClearChargingProfile(status="Accepted" if cleared else "Unknown")

    @on(Action201.get_composite_schedule)
    async def on_composite(self, duration: int, evse_id: int, **kw: Any) -> Any:
        if evse_id not in (0, *self.sim.connectors):
            return result201.GetCompositeSchedule(status="Rejected")
        start = now()
        unit, periods = self.sim.composite_schedule(
            evse_id, start, duration, kw.get("charging_rate_unit")
        )
        return result201.GetCompositeSchedule(
            status="Accepted",
            schedule={
                "evse_id": evse_id,
                "duration": duration,
                "schedule_start": ts(start),
                "charging_rate_unit": unit,
                "charging_schedule_period": [
                    {"start_period": offset, "limit": limit} for offset, limit in periods
                ],
            },
        )


_CYCLES_S = {"Daily": 86_400.0, "Weekly": 604_800.0}


@dataclass
class _Profile:
    """A charging profile the station holds: its purpose, connector (0: all), unit and
    schedule: periods (offset in s, limit) from `start`, for `duration_s` (None: open ended),
    again every day or week when recurring. Without a startSchedule, `start` is when it was
    received and its first period holds before that too."""

    id: int | None
    purpose: str
    connector: int
    unit: str  # W or A (per phase)
    periods: tuple[tuple[float, float], ...]
    start: datetime
    duration_s: float | None = None
    cycle_s: float | None = None
    scheduled: bool = True  # the profile named its start

    def limit_at(self, at: datetime) -> float | None:
        """The limit in force at `at` (None: the profile does not apply then)."""
        offset = (at - self.start).total_seconds()
        if offset < 0 and not self.scheduled:
            offset = 0.0
        if offset < 0:
            return None
        if self.cycle_s:
            offset %= self.cycle_s
        if self.duration_s is not None and offset >= self.duration_s:
            return None
        found = None
        for begin, limit in self.periods:
            if begin <= offset:
                found = limit
        return found

    def changes(self, begin: datetime, end: datetime) -> list[datetime]:
        """The instants strictly between `begin` and `end` where its limit may change."""
        bases = [self.start]
        if self.cycle_s:
            first = math.floor((begin - self.start).total_seconds() / self.cycle_s)
            span = math.ceil((end - begin).total_seconds() / self.cycle_s) + 2
            bases = [
                self.start + timedelta(seconds=(first + k) * self.cycle_s)
                for k in range(max(0, first), max(0, first) + span)
            ]
        out = []
        for base in bases:
            out += [base + timedelta(seconds=offset) for offset, _ in self.periods]
            if self.duration_s is not None:
                out.append(base + timedelta(seconds=self.duration_s))
        return [t for t in out if begin < t < end]


def _held_profile(connector: int, profile: Any, received: datetime) -> _Profile | None:
    """What the station keeps of a SetChargingProfile's profile (None: unreadable)."""
    try:
        schedule = profile.get("charging_schedule")
        if isinstance(schedule, list):  # 2.0.1: a list of schedules
            schedule = schedule[0]
        periods = tuple(
            (float(p["start_period"]), float(p["limit"]))
            for p in schedule["charging_schedule_period"]
        )
        unit = "A" if str(schedule.get("charging_rate_unit", "W")).upper() == "A" else "W"
        begins = schedule.get("start_schedule")
        start = datetime.fromisoformat(begins.replace("Z", "+00:00")) if begins else received
        duration = schedule.get("duration")
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return None
    if not periods:
        return None
    purpose = str(profile.get("charging_profile_purpose") or "TxDefaultProfile")
    if purpose == "ChargingStationMaxProfile":
        purpose = "ChargePointMaxProfile"
    return _Profile(
        id=profile.get("charging_profile_id", profile.get("id")),
        purpose=purpose,
        connector=connector,
        unit=unit,
        periods=periods,
        start=start if start.tzinfo else start.replace(tzinfo=UTC),
        duration_s=float(duration) if duration is not None else None,
        cycle_s=_CYCLES_S.get(str(profile.get("recurrency_kind") or "")),
        scheduled=bool(begins),
    )


class SimulatedStation:
    def __init__(self, spec: StationSpec, behaviour: Behaviour) -> None:
        self.spec = spec
        self.behaviour = behaviour
        self.rng = random.Random(
            None if behaviour.seed is None else f"{behaviour.seed}:{spec.identity}"
        )
        self.connectors = {n: ConnectorState(n) for n in range(1, spec.connectors + 1)}
        self.outbox: deque[_Outgoing] = deque()
        self.outbox_ready = asyncio.Event()
        self.connected = asyncio.Event()
        self.cp: Any = None
        self.interval_s = behaviour.interval_s
        self.heartbeat_s = 300.0
        self.limit_w: float | None = None
        self.profiles: list[_Profile] = []
        self.connections = 0  # how many times it (re)connected
        self.completed: list[Transaction] = []
        self.booted = False
        self._meters: dict[int, float] = {}  # each connector's energy register
        self._ws: Any = None
        self._stopping = False
        self._tasks: list[asyncio.Task[Any]] = []
        self._background: set[asyncio.Future[Any]] = set()

    # --- lifecycle -------------------------------------------------------------------------------

    @property
    def is16(self) -> bool:
        return self.spec.version == V16

    def url(self) -> str:
        base = f"{self.behaviour.server_url.rstrip('/')}/{self.spec.identity}"
        token = self.behaviour.registration_token
        return f"{base}?token={token}" if token else base

    def headers(self) -> dict[str, str]:
        if not self.spec.password:
            return {}
        raw = f"{self.spec.identity}:{self.spec.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    async def run(self) -> None:
        """Run until cancelled (or `stop()`): connection, outbox and the connectors."""
        self._tasks = [
            asyncio.create_task(self._connection_loop(), name=f"{self.spec.identity}:conn"),
            asyncio.create_task(self._outbox_loop(), name=f"{self.spec.identity}:outbox"),
            *(
                asyncio.create_task(self._connector_loop(c), name=f"{self.spec.identity}:{n}")
                for n, c in self.connectors.items()
            ),
        ]
        try:
            await asyncio.gather(*self._tasks)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._ws is not None:
                with contextlib.suppress(Exception):
                    await self._ws.close()

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()

    async def drop_connection(self) -> None:
        """Close the websocket as a network failure would (tests, demos): it reconnects."""
        if self._ws is not None:
            await self._ws.close(code=1001)

    def reboot_soon(self) -> None:
        """A reset: the transactions end, then the station restarts (and boots again)."""
        for connector in self.connectors.values():
            if connector.transaction is not None:
                connector.transaction.stop_reason = "Reboot"
                connector.transaction.stop_requested.set()
        self.booted = False

        def drop() -> None:
            task = asyncio.ensure_future(self.drop_connection())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

        asyncio.get_running_loop().call_later(1.0, drop)

    async def _connection_loop(self) -> None:
        backoff = BACKOFF_MIN_S
        protocol = "ocpp1.6" if self.is16 else "ocpp2.0.1"
        while not self._stopping:
            try:
                ws = await websockets.connect(
                    self.url(),
                    subprotocols=[protocol],  # type: ignore[list-item]
                    additional_headers=self.headers(),
                    open_timeout=10,
                    ping_interval=20,
                    ping_timeout=20,
                )
            except (TimeoutError, OSError, websockets.InvalidHandshake) as error:
                log.info(
                    "%s: cannot connect (%s); retrying in %.1fs", self.spec.identity, error, backoff
                )
                await asyncio.sleep(backoff * self.rng.uniform(0.8, 1.2))
                backoff = min(BACKOFF_MAX_S, backoff * 2)
                continue
            self._ws = ws
            client = (_Client16 if self.is16 else _Client201)(
                self.spec.identity, ws, response_timeout=self.behaviour.response_timeout_s
            )
            client.sim = self
            reader = asyncio.create_task(client.start())
            heartbeat: asyncio.Task[Any] | None = None
            try:
                # A station boots once; after a network drop it only reconnects (a boot would
                # tell the CSMS it restarted, which ends its open transactions).
                if not self.booted:
                    await self._boot(client)
                    self.booted = True
                self.cp = client
                self.connections += 1
                backoff = BACKOFF_MIN_S
                self.connected.set()
                heartbeat = asyncio.create_task(self._heartbeat_loop(client))
                for connector in self.connectors.values():
                    await self._status_now(client, connector)
                await reader
            except (TimeoutError, websockets.ConnectionClosed, OCPPError, OSError) as error:
                log.info("%s: connection lost (%s)", self.spec.identity, error)
            finally:
                self.connected.clear()
                self.cp = None
                self._ws = None
                for task in (reader, heartbeat):
                    if task is not None:
                        task.cancel()
                with contextlib.suppress(Exception):
                    await ws.close()
            if not self._stopping:
                await asyncio.sleep(backoff * self.rng.uniform(0.8, 1.2))
                backoff = min(BACKOFF_MAX_S, backoff * 2)

    async def _boot(self, cp: Any) -> None:
        while True:
            if self.is16:
                result = await cp.call(
                    call16.BootNotification(
                        charge_point_vendor=self.spec.vendor,
                        charge_point_model=self.spec.model,
                        charge_point_serial_number=f"SIM-{self.spec.identity}"[:25],
                        firmware_version="sim-1.0",
                    ),
                    suppress=False,
                )
            else:
                result = await cp.call(
                    call201.BootNotification(
                        charging_station={
                            "vendor_name": self.spec.vendor,
                            "model": self.spec.model,
                            "serial_number": f"SIM-{self.spec.identity}"[:25],
                            "firmware_version": "sim-1.0",
                        },
                        reason="PowerUp",
                    ),
                    suppress=False,
                )
            if result.status == "Accepted":
                self.heartbeat_s = float(result.interval or 300)
                return
            wait = min(float(result.interval or 10), 10.0)
            log.info("%s: boot %s; retrying in %.0fs", self.spec.identity, result.status, wait)
            await asyncio.sleep(wait)

    async def _heartbeat_loop(self, cp: Any) -> None:
        while True:
            await asyncio.sleep(max(1.0, self.heartbeat_s))
            payload = call16.Heartbeat() if self.is16 else call201.Heartbeat()
            with contextlib.suppress(OCPPError, asyncio.TimeoutError):
                await cp.call(payload, suppress=False)

    # --- the outbox ------------------------------------------------------------------------------

    def _send(self, item: _Outgoing) -> None:
        self.outbox.append(item)
        self.outbox_ready.set()

    async def _outbox_loop(self) -> None:
        while True:
            if not self.outbox:
                self.outbox_ready.clear()
                await self.outbox_ready.wait()
                continue
            await self.connected.wait()
            cp = self.cp
            if cp is None:
                await asyncio.sleep(0.05)
                continue
            item = self.outbox[0]
            payload = item.build()
            if payload is None:
                self.outbox.popleft()
                continue
            try:
                result = await cp.call(payload, suppress=False)
            except OCPPError as error:
                # The CSMS refused this message for good: resending it would not help.
                log.warning("%s: %s refused: %s", self.spec.identity, item.what, error)
                self.outbox.popleft()
                continue
            except (TimeoutError, websockets.ConnectionClosed, OSError):
                # Not answered: keep it at the head and send it again once reconnected.
                await asyncio.sleep(0.2)
                continue
            self.outbox.popleft()
            if item.on_result is not None:
                item.on_result(result)

    async def _call_now(self, payload: Any) -> Any | None:
        """A call that only makes sense now (Authorize): None when offline or unanswered."""
        cp = self.cp
        if cp is None:
            return None
        try:
            return await cp.call(payload, suppress=False)
        except (TimeoutError, OCPPError, websockets.ConnectionClosed, OSError):
            return None

    # --- status ----------------------------------------------------------------------------------

    def _status_payload(self, connector: ConnectorState, at: datetime) -> Any:
        if self.is16:
            return call16.StatusNotification(
                connector_id=connector.number,
                error_code="NoError",
                status=connector.status,
                timestamp=ts(at),
            )
        status = {"Available": "Available", "Unavailable": "Unavailable", "Faulted": "Faulted"}
        return call201.StatusNotification(
            timestamp=ts(at),
            connector_status=status.get(connector.status, "Occupied"),
            evse_id=connector.number,
            connector_id=1,
        )

    async def _status_now(self, cp: Any, connector: ConnectorState) -> None:
        await cp.call(self._status_payload(connector, now()), suppress=False)

    def _set_status(self, connector: ConnectorState, status: str) -> None:
        connector.status = status
        at = now()
        self._send(_Outgoing(lambda: self._status_payload(connector, at), what="status"))

    # --- what the CSMS asks ----------------------------------------------------------------------

    def configuration(self) -> dict[str, str]:
        return {
            "HeartbeatInterval": str(int(self.heartbeat_s)),
            "MeterValueSampleInterval": str(self.interval_s),
            "NumberOfConnectors": str(len(self.connectors)),
        }

    def configure(self, key: str, value: str) -> str:
        try:
            if key == "HeartbeatInterval":
                self.heartbeat_s = max(1.0, float(value))
            elif key == "MeterValueSampleInterval":
                self.interval_s = max(0.05, float(value))
            else:
                return "NotSupported" if self.is16 else "Rejected"
        except ValueError:
            return "Rejected"
        return "Accepted"

    def remote_start(
        self, id_tag: str, connector: int | None, remote_id: int | None = None
    ) -> bool:
        free = [
            c
            for c in self.connectors.values()
            if c.transaction is None and (connector in (None, 0) or c.number == connector)
        ]
        if not free or not self.connected.is_set():
            return False
        free[0].remote_start.put_nowait((id_tag, remote_id))
        return True

    def remote_stop(self, transaction_id: str) -> bool:
        for connector in self.connectors.values():
            tx = connector.transaction
            if tx is not None and transaction_id in (tx.transaction_id, tx.local_id):
                tx.stop_reason = "Remote"
                tx.stop_requested.set()
                return True
        return False

    def apply_profile(self, connector: int, profile: Any) -> None:
        """Hold the profile: a TxProfile limits its connector's transaction (and ends with
        it), else a TxDefaultProfile of the connector or of the station (connector 0), and
        a station-wide max profile limits everything; A are per phase of the car. One profile
        per purpose and connector (a new one replaces the old), and per id."""
        if not self.spec.obeys_profiles:
            return
        held = _held_profile(connector, profile, now())
        if held is None:
            return
        self.profiles = [
            p
            for p in self.profiles
            if p.id != held.id and (p.purpose, p.connector) != (held.purpose, held.connector)
        ]
        self.profiles.append(held)
        self._apply_limits()

    def clear_profiles(
        self,
        profile_id: int | None = None,
        purpose: str | None = None,
        connector: int | None = None,
    ) -> bool:
        """Clear the profile with this id, else those matching the other criteria. Whether
        any was cleared (OCPP: Accepted, else Unknown)."""
        if purpose == "ChargingStationMaxProfile":
            purpose = "ChargePointMaxProfile"

        def matches(p: _Profile) -> bool:
            if profile_id is not None:
                return p.id == profile_id
            return (purpose is None or p.purpose == purpose) and (
                connector is None or p.connector == connector
            )

        kept = [p for p in self.profiles if not matches(p)]
        cleared = len(kept) < len(self.profiles)
        self.profiles = kept
        self._apply_limits()
        return cleared

    def _limiting(self, number: int, at: datetime) -> list[tuple[_Profile, float]]:
        """The profiles limiting a transaction on this connector at `at`, with their limit:
        its TxProfile, else its TxDefaultProfile, else the station's (connector 0); and the
        station's max profile."""

        def pick(purpose: str, connectors: tuple[int, ...]) -> tuple[_Profile, float] | None:
            for connector in connectors:
                for p in reversed(self.profiles):
                    if p.purpose == purpose and p.connector == connector:
                        limit = p.limit_at(at)
                        if limit is not None:
                            return p, limit
            return None

        found = [
            pick("TxProfile", (number,)) or pick("TxDefaultProfile", (number, 0)),
            pick("ChargePointMaxProfile", (0,)),
        ]
        return [f for f in found if f is not None]

    def _limit_for(
        self, number: int, at: datetime | None = None
    ) -> tuple[float | None, float | None]:
        """(W, A per phase) limiting a transaction on this connector (now, or at `at`)."""
        limits = self._limiting(number, at or now())
        watts = [limit for p, limit in limits if p.unit == "W"]
        amps = [limit for p, limit in limits if p.unit == "A"]
        return (min(watts) if watts else None, min(amps) if amps else None)

    def composite_schedule(
        self, connector: int, start: datetime, duration_s: int, unit: str | None
    ) -> tuple[str, list[tuple[int, float]]]:
        """What GetCompositeSchedule answers: the unit and the (offset s, limit) periods
        from `start` for `duration_s`, of the profiles held for this connector (0: the
        station) and the station's own maximum. A and W convert at 230 V on three phases."""
        unit = "W" if str(unit or "A").upper() == "W" else "A"
        end = start + timedelta(seconds=duration_s)
        relevant = [p for p in self.profiles if p.connector in (0, connector)]
        instants = sorted({start, *(t for p in relevant for t in p.changes(start, end))})
        w_per_a = 230.0 * 3  # W per amp on each of three phases
        periods: list[tuple[int, float]] = []
        for at in instants:
            watts, amps = self._limit_for(connector, at)
            limit_w = float(self.spec.max_power_w)
            if watts is not None:
                limit_w = min(limit_w, watts)
            if amps is not None:
                limit_w = min(limit_w, amps * w_per_a)
            limit = limit_w if unit == "W" else limit_w / w_per_a
            limit = math.floor(limit * 10 + 1e-6) / 10
            offset = round((at - start).total_seconds())
            if not periods or periods[-1][1] != limit:
                if periods and periods[-1][0] == offset:
                    periods[-1] = (offset, limit)
                else:
                    periods.append((offset, limit))
        return unit, periods

    def _apply_limits(self) -> None:
        for state in self.connectors.values():
            if state.transaction is not None:
                curve = state.transaction.curve
                curve.limit_w, curve.limit_a = self._limit_for(state.number)

    def triggered(self, message: str) -> None:
        cp = self.cp
        if cp is None:
            return
        if message == "StatusNotification":
            for connector in self.connectors.values():
                self._set_status(connector, connector.status)
        elif message == "Heartbeat":
            self._send(_Outgoing(lambda: call16.Heartbeat() if self.is16 else call201.Heartbeat()))
        elif message == "BootNotification":
            task = asyncio.ensure_future(self._boot(cp))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    # --- the cars --------------------------------------------------------------------------------

    def _sim_seconds(self, span: tuple[float, float]) -> float:
        return self.rng.uniform(*span) / max(self.behaviour.speed, 1e-6)

    async def _wait_for_car(
        self, connector: ConnectorState, seconds: float
    ) -> tuple[str, int | None] | None:
        """A car arriving after `seconds`, or sooner through a remote start (its id tag)."""
        try:
            return await asyncio.wait_for(connector.remote_start.get(), timeout=seconds)
        except TimeoutError:
            return None

    async def _connector_loop(self, connector: ConnectorState) -> None:
        wait = self.rng.uniform(*self.behaviour.first_car_s)
        while True:
            remote = await self._wait_for_car(connector, wait)
            wait = self._sim_seconds(self.behaviour.between_cars_s)
            await self.connected.wait()
            badges = list(self.spec.badges) or self.behaviour.badges
            if remote is None and not badges:
                continue  # nobody to badge: only remote starts
            if remote is not None:
                id_tag, remote_id = remote
            else:
                free = [
                    b
                    for b in badges
                    if not (self.behaviour.one_car_per_badge and self.behaviour.badges_in_use[b])
                ]
                if not free:  # every driver is charging elsewhere: look again soon
                    wait = self.rng.uniform(*self.behaviour.first_car_s)
                    continue
                id_tag, remote_id = self.rng.choice(free), None
            self.behaviour.badges_in_use[id_tag] += 1
            try:
                self._set_status(connector, "Preparing")
                if remote is None and not await self._authorize(id_tag):
                    log.info(
                        "%s/%s: badge %s refused", self.spec.identity, connector.number, id_tag
                    )
                    self._set_status(connector, "Available")
                    continue
                await self._charge(connector, id_tag, remote_id)
            finally:
                self.behaviour.badges_in_use[id_tag] -= 1

    async def _authorize(self, id_tag: str) -> bool:
        if self.is16:
            result = await self._call_now(call16.Authorize(id_tag=id_tag))
            return result is not None and result.id_tag_info.get("status") == "Accepted"
        result = await self._call_now(
            call201.Authorize(id_token={"id_token": id_tag, "type": "ISO14443"})
        )
        return result is not None and result.id_token_info.get("status") == "Accepted"

    async def _charge(self, connector: ConnectorState, id_tag: str, remote_id: int | None) -> None:
        curve = ChargingCurve(
            (self.behaviour.car_factory or random_car)(self.rng),
            station_max_w=self.spec.max_power_w,
            meter_wh=self._meter_register(connector),
            speed=self.behaviour.speed,
            rng=self.rng,
        )
        curve.limit_w, curve.limit_a = self._limit_for(connector.number)
        tx = Transaction(connector.number, id_tag, curve, remote_start_id=remote_id)
        connector.transaction = tx
        started = now()
        self._start(tx, started)
        self._set_status(connector, "Charging")
        last = started
        idle_until: float | None = None
        loop = asyncio.get_running_loop()
        try:
            while not tx.refused:
                try:
                    await asyncio.wait_for(tx.stop_requested.wait(), timeout=self.interval_s)
                    break
                except TimeoutError:
                    pass
                at = now()
                # Profiles change limits over time (their periods): the one in force now.
                curve.limit_w, curve.limit_a = self._limit_for(connector.number, at)
                sample = curve.step(at, (at - last).total_seconds())
                last = at
                if curve.full and idle_until is None:
                    idle_until = loop.time() + self._sim_seconds(self.behaviour.idle_after_full_s)
                    curve.suspended = True
                    self._set_status(connector, "SuspendedEV")
                self._meter_values(tx, sample)
                if idle_until is not None and loop.time() >= idle_until:
                    break
            at = now()
            sample = curve.step(at, (at - last).total_seconds())
            self._stop(tx, sample)
            self._meters[connector.number] = curve.meter_wh
            self.completed.append(tx)
        finally:
            connector.transaction = None
            # A TxProfile ends with its transaction.
            self.profiles = [
                p
                for p in self.profiles
                if not (p.purpose == "TxProfile" and p.connector == connector.number)
            ]
        self._set_status(connector, "Finishing")
        self._set_status(connector, "Available")

    def _meter_register(self, connector: ConnectorState) -> float:
        return self._meters.setdefault(connector.number, self.rng.uniform(1e5, 5e6))

    # --- the messages of a transaction -----------------------------------------------------------

    def _sampled_values(self, sample: Sample, context: str) -> list[dict[str, Any]]:
        values: list[dict[str, Any]] = []
        if self.is16:
            values.append(
                {
                    "value": str(round(sample.energy_wh)),
                    "measurand": "Energy.Active.Import.Register",
                    "unit": "Wh",
                    "context": context,
                }
            )
            values.append(
                {
                    "value": str(round(sample.power_w)),
                    "measurand": "Power.Active.Import",
                    "unit": "W",
                    "context": context,
                }
            )
            for i, phase in enumerate(("L1", "L2", "L3")):
                values.append(
                    {
                        "value": f"{sample.current_a[i]:.2f}",
                        "measurand": "Current.Import",
                        "unit": "A",
                        "phase": phase,
                        "context": context,
                    }
                )
                values.append(
                    {
                        "value": f"{sample.voltage_v[i]:.1f}",
                        "measurand": "Voltage",
                        "unit": "V",
                        "phase": f"{phase}-N",
                        "context": context,
                    }
                )
            values.append(
                {
                    "value": f"{sample.soc:.0f}",
                    "measurand": "SoC",
                    "unit": "Percent",
                    "location": "EV",
                    "context": context,
                }
            )
            return values
        values.append(
            {
                "value": round(sample.energy_wh, 1),
                "measurand": "Energy.Active.Import.Register",
                "unit_of_measure": {"unit": "Wh"},
                "context": context,
            }
        )
        values.append(
            {
                "value": round(sample.power_w),
                "measurand": "Power.Active.Import",
                "unit_of_measure": {"unit": "W"},
                "context": context,
            }
        )
        for i, phase in enumerate(("L1", "L2", "L3")):
            values.append(
                {
                    "value": sample.current_a[i],
                    "measurand": "Current.Import",
                    "unit_of_measure": {"unit": "A"},
                    "phase": phase,
                    "context": context,
                }
            )
            values.append(
                {
                    "value": sample.voltage_v[i],
                    "measurand": "Voltage",
                    "unit_of_measure": {"unit": "V"},
                    "phase": f"{phase}-N",
                    "context": context,
                }
            )
        values.append(
            {
                "value": round(sample.soc),
                "measurand": "SoC",
                "unit_of_measure": {"unit": "Percent"},
                "location": "EV",
                "context": context,
            }
        )
        return values

    def _meter_value(self, sample: Sample, context: str) -> dict[str, Any]:
        return {"timestamp": ts(sample.at), "sampled_value": self._sampled_values(sample, context)}

    def _start(self, tx: Transaction, at: datetime) -> None:
        meter_start = round(tx.curve.meter_wh)
        if self.is16:

            def on_started(result: Any) -> None:
                tx.transaction_id = str(result.transaction_id)
                if result.id_tag_info.get("status") != "Accepted":
                    tx.stop_reason = "DeAuthorized"
                    tx.stop_requested.set()

            self._send(
                _Outgoing(
                    lambda: call16.StartTransaction(
                        connector_id=tx.connector,
                        id_tag=tx.id_tag,
                        meter_start=meter_start,
                        timestamp=ts(at),
                    ),
                    on_started,
                    "StartTransaction",
                )
            )
            return
        tx.transaction_id = tx.local_id
        info: dict[str, Any] = {"transaction_id": tx.local_id, "charging_state": "Charging"}
        if tx.remote_start_id is not None:
            info["remote_start_id"] = tx.remote_start_id
        seq = tx.next_seq()
        start_sample = Sample(
            at, 0.0, tx.curve.meter_wh, (0.0, 0.0, 0.0), (230.0,) * 3, tx.curve.car.soc
        )  # type: ignore[arg-type]
        self._send(
            _Outgoing(
                lambda: call201.TransactionEvent(
                    event_type="Started",
                    timestamp=ts(at),
                    trigger_reason="RemoteStart"
                    if tx.remote_start_id is not None
                    else "Authorized",
                    seq_no=seq,
                    transaction_info=info,
                    evse={"id": tx.connector, "connector_id": 1},
                    id_token={"id_token": tx.id_tag, "type": "ISO14443"},
                    meter_value=[self._meter_value(start_sample, "Transaction.Begin")],
                ),
                lambda result: None,
                "TransactionEvent Started",
            )
        )

    def _meter_values(self, tx: Transaction, sample: Sample) -> None:
        if self.is16:

            def build16() -> Any:
                if tx.transaction_id is None:
                    return None
                return call16.MeterValues(
                    connector_id=tx.connector,
                    transaction_id=int(tx.transaction_id),
                    meter_value=[self._meter_value(sample, "Sample.Periodic")],
                )

            self._send(_Outgoing(build16, what="MeterValues"))
            return
        seq = tx.next_seq()
        state = "SuspendedEV" if tx.curve.suspended else "Charging"
        self._send(
            _Outgoing(
                lambda: call201.TransactionEvent(
                    event_type="Updated",
                    timestamp=ts(sample.at),
                    trigger_reason="MeterValuePeriodic",
                    seq_no=seq,
                    transaction_info={"transaction_id": tx.local_id, "charging_state": state},
                    meter_value=[self._meter_value(sample, "Sample.Periodic")],
                    offline=not self.connected.is_set() or None,
                ),
                what="TransactionEvent Updated",
            )
        )

    def _stop(self, tx: Transaction, sample: Sample) -> None:
        if self.is16:

            def build16() -> Any:
                if tx.transaction_id is None:
                    return None
                return call16.StopTransaction(
                    meter_stop=round(sample.energy_wh),
                    timestamp=ts(sample.at),
                    transaction_id=int(tx.transaction_id),
                    reason=tx.stop_reason,
                    id_tag=tx.id_tag,
                    transaction_data=[self._meter_value(sample, "Transaction.End")],
                )

            self._send(_Outgoing(build16, what="StopTransaction"))
            return
        seq = tx.next_seq()
        trigger = {"Remote": "RemoteStop", "DeAuthorized": "Deauthorized"}.get(
            tx.stop_reason, "EVDeparted"
        )
        self._send(
            _Outgoing(
                lambda: call201.TransactionEvent(
                    event_type="Ended",
                    timestamp=ts(sample.at),
                    trigger_reason=trigger,
                    seq_no=seq,
                    transaction_info={
                        "transaction_id": tx.local_id,
                        "charging_state": "Idle",
                        "stopped_reason": tx.stop_reason,
                    },
                    meter_value=[self._meter_value(sample, "Transaction.End")],
                ),
                what="TransactionEvent Ended",
            )
        )
