"""Events the domain publishes after each state change it has committed.

The domain calls one hook, `EventBus.publish`, with one of the payloads below. The default bus
does nothing; `CollectingBus` keeps what was published (tests, debugging). GraphQL
subscriptions put `broadcaster` behind the same protocol: each event names its `channels`
(per station, per site, per session, and one for everything) and serializes with `to_dict()`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol


def _jsonable(value: Any) -> Any:
    """JSON-ready: dataclasses as dicts of their fields (what `asdict` gives, without its
    deep copies: events are frozen), UUIDs and times as strings."""
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _jsonable(getattr(value, name)) for name in _field_names(type(value))}
    return value


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))
    return names


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **_jsonable(self)}

    @property
    def channels(self) -> tuple[str, ...]:
        return ("all",)


@dataclass(frozen=True)
class StationStatusChanged(Event):
    """A station connected, booted, disconnected or changed its registration status."""

    kind: ClassVar[str] = "station.status"
    station_id: uuid.UUID
    site_id: uuid.UUID | None
    ocpp_identity: str
    registration_status: str
    connected: bool
    last_seen_at: datetime | None
    # Status of the whole station (OCPP 1.6 connector 0), when it said one.
    status: str | None = None
    error_code: str | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        site = (f"site:{self.site_id}",) if self.site_id else ()
        return ("all", "stations", f"station:{self.station_id}", *site)


@dataclass(frozen=True)
class ConnectorStatusChanged(Event):
    kind: ClassVar[str] = "connector.status"
    station_id: uuid.UUID
    site_id: uuid.UUID | None
    connector_id: uuid.UUID
    evse_id: int
    connector_number: int
    status: str
    error_code: str | None
    at: datetime

    @property
    def channels(self) -> tuple[str, ...]:
        site = (f"site:{self.site_id}",) if self.site_id else ()
        return ("all", "stations", f"station:{self.station_id}", *site)


@dataclass(frozen=True)
class StationNotice(Event):
    """Something a station reported for admins: firmware or diagnostics status, a security
    event, device-model events or reports (`notice` says which, `data` is small and JSON)."""

    kind: ClassVar[str] = "station.notice"
    station_id: uuid.UUID
    site_id: uuid.UUID | None
    notice: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def channels(self) -> tuple[str, ...]:
        return ("all", "admin", f"station:{self.station_id}")


@dataclass(frozen=True)
class CurvePoint:
    """One point of a session's charging curve (a merged meter sample)."""

    at: datetime
    energy_wh: int | None  # the session's energy so far
    power_w: int | None
    current_a: tuple[float | None, float | None, float | None] = (None, None, None)
    voltage_v: tuple[float | None, float | None, float | None] = (None, None, None)
    soc_percent: int | None = None
    # The session's cumulated cost at this point (minor units of its currency), as stored on
    # the meter sample; None without a tariff.
    cost_excl_vat_minor: int | None = None
    cost_incl_vat_minor: int | None = None


@dataclass(frozen=True)
class RunningCost:
    """A priced session's cost so far, in minor units of `currency` (cents): never a float.

    `final`: priced until its connector was free again (the end of parking time); it will not
    change any more."""

    currency: str
    excl_vat_minor: int
    vat_minor: int
    incl_vat_minor: int
    final: bool = False


@dataclass(frozen=True)
class _SessionEvent(Event):
    session_id: uuid.UUID
    station_id: uuid.UUID
    site_id: uuid.UUID | None
    user_id: uuid.UUID | None
    connector_id: uuid.UUID | None
    transaction_id: str

    @property
    def channels(self) -> tuple[str, ...]:
        site = (f"site:{self.site_id}",) if self.site_id else ()
        user = (f"user:{self.user_id}",) if self.user_id else ()
        return ("all", "sessions", f"session:{self.session_id}", *site, *user)


@dataclass(frozen=True)
class SessionStarted(_SessionEvent):
    kind: ClassVar[str] = "session.started"
    started_at: datetime | None = None
    meter_start_wh: int = 0


@dataclass(frozen=True)
class SessionUpdated(_SessionEvent):
    """New meter values: the totals as they stand, and the curve points just added.

    `rebuilt` is true when a late reading was placed before others: the whole curve changed and
    subscribers should read it again rather than append `points`.
    """

    kind: ClassVar[str] = "session.updated"
    energy_wh: int = 0
    instant_power_w: int = 0
    inactivity_s: int = 0
    points: tuple[CurvePoint, ...] = ()
    rebuilt: bool = False
    cost: RunningCost | None = None  # None: no tariff


@dataclass(frozen=True)
class SessionStopped(_SessionEvent):
    kind: ClassVar[str] = "session.stopped"
    stopped_at: datetime | None = None
    energy_wh: int = 0
    inactivity_s: int = 0
    stop_reason: str | None = None
    cost: RunningCost | None = None


@dataclass(frozen=True)
class SessionPriced(_SessionEvent):
    """A stopped session's connector is free again: its parking time ends there, and its cost
    is final (`cost.final`)."""

    kind: ClassVar[str] = "session.priced"
    available_at: datetime | None = None
    cost: RunningCost | None = None


class EventBus(Protocol):
    async def publish(self, event: Event) -> None: ...


class NullBus:
    """The in-process default until subscriptions exist: events go nowhere."""

    async def publish(self, event: Event) -> None:
        return None


@dataclass
class CollectingBus:
    """Keeps every event published, in order."""

    events: list[Event] = field(default_factory=list)

    async def publish(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


async def publish_all(bus: EventBus, events: list[Event]) -> None:
    for event in events:
        await bus.publish(event)


@dataclass(frozen=True)
class LoadPlanned(Event):
    """A smart charging run planned a site area: the current offered now to each session
    (A per phase). Heard by every server process, which compares meter values with it."""

    kind: ClassVar[str] = "smart_charging.planned"
    site_area_id: uuid.UUID
    offered_a: dict[str, float] = field(default_factory=dict)
    method: str = ""

    @property
    def channels(self) -> tuple[str, ...]:
        return ("smart-charging",)
