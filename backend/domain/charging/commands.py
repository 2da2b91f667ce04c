"""Commands to stations: who may send what, as version-independent commands.

Rights:
- drivers start a charge on a station of a site they are assigned to, with one of their own
  active cards (their first active card when none is named), and stop their own sessions;
- administrators, and the site admins of the station's site, send every command (a station in
  no site: administrators only); demo users send none.
A station the viewer cannot see is NOT_FOUND; one they see but may not command is FORBIDDEN.

The command travels as a `Command` (kind + JSON parameters) through a `StationLink`, which
finds the server process holding the station's websocket (`ocpp_server.registry`) and lets
the version adapter (`ocpp_server.commands`) turn it into the OCPP 1.6 or 2.0.1 call. The link
raises StationOffline, StationTimeout or StationRejected (a CALLERROR answer); otherwise the
station's answer comes back as a `CommandAnswer` whose `status` is the station's own word.
Every command sent is recorded in the audit log.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import ChargingSession, ChargingStation, RfidCard, SessionStatus
from backend.domain import audit
from backend.domain.access import require_login
from backend.domain.charging.authorization import Authorization
from backend.domain.errors import Forbidden, InvalidInput, NotFound, StationOffline
from backend.domain.viewer import Viewer


class CommandKind(enum.StrEnum):
    REMOTE_START = "remote_start"
    REMOTE_STOP = "remote_stop"
    RESET = "reset"
    UNLOCK_CONNECTOR = "unlock_connector"
    CHANGE_AVAILABILITY = "change_availability"
    GET_CONFIGURATION = "get_configuration"
    CHANGE_CONFIGURATION = "change_configuration"
    TRIGGER_MESSAGE = "trigger_message"
    CLEAR_CACHE = "clear_cache"
    UPDATE_FIRMWARE = "update_firmware"
    SET_CHARGING_PROFILE = "set_charging_profile"
    CLEAR_CHARGING_PROFILE = "clear_charging_profile"
    GET_COMPOSITE_SCHEDULE = "get_composite_schedule"


# What a station may be asked to send again (TriggerMessage), in 1.6 spelling; the 2.0.1
# adapter renames DiagnosticsStatusNotification to LogStatusNotification.
TRIGGERABLE = (
    "BootNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
    "FirmwareStatusNotification",
    "DiagnosticsStatusNotification",
)
# Answers that mean "done" or "will do", whatever the command.
#: a firmware download retried more often than this is a typing slip, not a plan
MAX_FIRMWARE_RETRIES = 100
ACCEPTED_STATUSES = frozenset({"Accepted", "Unlocked", "Scheduled", "RebootRequired"})


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    params: dict[str, Any] = field(default_factory=dict)  # JSON values only

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "params": self.params}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Command:
        return cls(CommandKind(data["kind"]), dict(data.get("params") or {}))


@dataclass(frozen=True)
class CommandAnswer:
    status: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.status in ACCEPTED_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "data": self.data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CommandAnswer:
        return cls(str(data["status"]), dict(data.get("data") or {}))


class StationLink(Protocol):
    """Delivers a command to whichever server process holds the station's websocket."""

    async def send(self, station_id: uuid.UUID, command: Command) -> CommandAnswer: ...


@dataclass(frozen=True)
class ChargingProfile:
    """A charging profile, as both OCPP versions understand it (limits in W or A)."""

    id: int
    stack_level: int
    purpose: str  # ChargePointMaxProfile (1.6) / ChargingStationMaxProfile, TxDefault, Tx
    kind: str  # Absolute, Recurring, Relative
    rate_unit: str  # W or A
    periods: tuple[tuple[int, float, int | None], ...]  # (start offset s, limit, phases)
    duration_s: int | None = None
    start_schedule: datetime | None = None
    recurrency: str | None = None  # Daily, Weekly
    min_charging_rate: float | None = None
    transaction_id: str | None = None

    def validate(self) -> None:
        if self.purpose not in ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"):
            raise InvalidInput("Unknown profile purpose.", field="purpose")
        if self.kind not in ("Absolute", "Recurring", "Relative"):
            raise InvalidInput("Unknown profile kind.", field="kind")
        if self.rate_unit not in ("W", "A"):
            raise InvalidInput("The rate unit is W or A.", field="rateUnit")
        if not self.periods or self.periods[0][0] != 0:
            raise InvalidInput("The first period starts at 0.", field="periods")
        starts = [p[0] for p in self.periods]
        if starts != sorted(set(starts)):
            raise InvalidInput("Periods start in increasing order.", field="periods")
        if any(p[1] < 0 or (p[2] is not None and p[2] not in (1, 2, 3)) for p in self.periods):
            raise InvalidInput("Limits are positive; phases are 1, 2 or 3.", field="periods")
        if self.kind == "Recurring" and self.recurrency not in ("Daily", "Weekly"):
            raise InvalidInput("A recurring profile is Daily or Weekly.", field="recurrency")
        if self.stack_level < 0 or self.id <= 0:
            raise InvalidInput("The id is positive and the stack level not negative.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stack_level": self.stack_level,
            "purpose": self.purpose,
            "kind": self.kind,
            "rate_unit": self.rate_unit,
            "periods": [list(p) for p in self.periods],
            "duration_s": self.duration_s,
            "start_schedule": self.start_schedule.isoformat() if self.start_schedule else None,
            "recurrency": self.recurrency,
            "min_charging_rate": self.min_charging_rate,
            "transaction_id": self.transaction_id,
        }


def _connector(number: int, name: str = "connectorId", *, allow_zero: bool = False) -> int:
    if number < (0 if allow_zero else 1) or number > 100:
        raise InvalidInput("No such connector number.", field=name)
    return number


class StationCommands:
    def __init__(self, session: AsyncSession, link: StationLink | None) -> None:
        self.session = session
        self.link = link

    # --- rights ------------------------------------------------------------------------------

    async def _visible_station(self, viewer: Viewer, station_id: uuid.UUID) -> ChargingStation:
        require_login(viewer)
        station = await self.session.get(ChargingStation, station_id)
        if station is None or not (viewer.reads_everything or viewer.member_of(station.site_id)):
            raise NotFound("No such charging station.", field="stationId")
        return station

    async def _managed_station(self, viewer: Viewer, station_id: uuid.UUID) -> ChargingStation:
        station = await self._visible_station(viewer, station_id)
        if not (viewer.is_admin or viewer.manages(station.site_id)):
            raise Forbidden("Only administrators of this site may send commands to the station.")
        return station

    async def _send(
        self, viewer: Viewer, station: ChargingStation, command: Command
    ) -> CommandAnswer:
        audit.record(self.session, viewer.user_id, f"station.command.{command.kind.value}", station)
        station_id = station.id
        await self.session.commit()
        if self.link is None:
            raise StationOffline("No server process holds this station's connection.")
        return await self.link.send(station_id, command)

    async def _simple(
        self, viewer: Viewer, station_id: uuid.UUID, kind: CommandKind, **params: Any
    ) -> CommandAnswer:
        station = await self._managed_station(viewer, station_id)
        return await self._send(viewer, station, Command(kind, params))

    # --- drivers and managers ------------------------------------------------------------------

    async def remote_start(
        self,
        viewer: Viewer,
        station_id: uuid.UUID,
        connector: int,
        card_id: uuid.UUID | None = None,
        profile: ChargingProfile | None = None,
    ) -> CommandAnswer:
        station = await self._visible_station(viewer, station_id)
        manager = viewer.is_admin or viewer.manages(station.site_id)
        if viewer.is_demo and not manager:
            raise Forbidden("Demo users cannot start a charge.")
        if profile is not None:
            if not manager:
                raise Forbidden("Only site administrators may set a charging profile.")
            profile.validate()
        card = await self._card(viewer, card_id, manager)
        decision = await Authorization(self.session).authorize_badge(station.id, card.uid)
        if not decision.accepted:
            await self.session.commit()  # the refusal is recorded
            raise Forbidden(
                "This card may not charge at this station.", authorization=decision.status.value
            )
        params: dict[str, Any] = {
            "connector": _connector(connector),
            "id_tag": card.uid,
            # 2.0.1 wants a number naming this request; its TransactionEvent echoes it.
            "remote_start_id": uuid.uuid4().int % 2_000_000_000,
        }
        if profile is not None:
            params["profile"] = profile.to_dict()
        return await self._send(viewer, station, Command(CommandKind.REMOTE_START, params))

    async def _card(self, viewer: Viewer, card_id: uuid.UUID | None, manager: bool) -> RfidCard:
        if card_id is not None:
            card = await self.session.get(RfidCard, card_id)
            if card is None or not (card.user_id == viewer.user_id or manager):
                raise NotFound("No such RFID card.", field="cardId")
        else:
            card = await self.session.scalar(
                select(RfidCard)
                .where(RfidCard.user_id == viewer.user_id, RfidCard.active.is_(True))
                .order_by(RfidCard.created_at)
                .limit(1)
            )
            if card is None:
                raise InvalidInput(
                    "You need an active RFID card to start a charge.", field="cardId"
                )
        if not card.active:
            raise InvalidInput("This RFID card is not active.", field="cardId")
        return card

    async def remote_stop(self, viewer: Viewer, session_id: uuid.UUID) -> CommandAnswer:
        require_login(viewer)
        charge = await self.session.get(ChargingSession, session_id)
        station = await self.session.get(ChargingStation, charge.station_id) if charge else None
        if charge is None or station is None:
            raise NotFound("No such charging session.", field="sessionId")
        own = viewer.user_id is not None and charge.user_id == viewer.user_id
        manager = viewer.is_admin or viewer.manages(station.site_id)
        if not (own or manager):
            if viewer.reads_everything:
                raise Forbidden("Only the driver or a site administrator may stop this session.")
            raise NotFound("No such charging session.", field="sessionId")
        if charge.status is not SessionStatus.ACTIVE:
            raise InvalidInput("This session is already over.", field="sessionId")
        command = Command(CommandKind.REMOTE_STOP, {"transaction_id": charge.ocpp_transaction_id})
        return await self._send(viewer, station, command)

    # --- managers --------------------------------------------------------------------------

    async def reset(self, viewer: Viewer, station_id: uuid.UUID, hard: bool) -> CommandAnswer:
        return await self._simple(
            viewer, station_id, CommandKind.RESET, type="Hard" if hard else "Soft"
        )

    async def unlock_connector(
        self, viewer: Viewer, station_id: uuid.UUID, connector: int
    ) -> CommandAnswer:
        return await self._simple(
            viewer, station_id, CommandKind.UNLOCK_CONNECTOR, connector=_connector(connector)
        )

    async def change_availability(
        self, viewer: Viewer, station_id: uuid.UUID, connector: int, operative: bool
    ) -> CommandAnswer:
        """Connector 0 is the whole station."""
        return await self._simple(
            viewer,
            station_id,
            CommandKind.CHANGE_AVAILABILITY,
            connector=_connector(connector, allow_zero=True),
            operative=operative,
        )

    async def get_configuration(
        self, viewer: Viewer, station_id: uuid.UUID, keys: list[str] | None
    ) -> CommandAnswer:
        keys = [k.strip() for k in keys or [] if k.strip()]
        if len(keys) > 100 or any(len(k) > 100 for k in keys):
            raise InvalidInput("At most 100 keys of 100 characters.", field="keys")
        return await self._simple(viewer, station_id, CommandKind.GET_CONFIGURATION, keys=keys)

    async def change_configuration(
        self, viewer: Viewer, station_id: uuid.UUID, key: str, value: str
    ) -> CommandAnswer:
        if not key.strip() or len(key) > 100:
            raise InvalidInput("A key of at most 100 characters.", field="key")
        if len(value) > 500:
            raise InvalidInput("At most 500 characters.", field="value")
        return await self._simple(
            viewer, station_id, CommandKind.CHANGE_CONFIGURATION, key=key.strip(), value=value
        )

    async def trigger_message(
        self, viewer: Viewer, station_id: uuid.UUID, message: str, connector: int | None
    ) -> CommandAnswer:
        if message not in TRIGGERABLE:
            raise InvalidInput("This message cannot be triggered.", field="message")
        return await self._simple(
            viewer,
            station_id,
            CommandKind.TRIGGER_MESSAGE,
            message=message,
            connector=None if connector is None else _connector(connector),
        )

    async def clear_cache(self, viewer: Viewer, station_id: uuid.UUID) -> CommandAnswer:
        return await self._simple(viewer, station_id, CommandKind.CLEAR_CACHE)

    async def update_firmware(
        self,
        viewer: Viewer,
        station_id: uuid.UUID,
        location: str,
        retrieve_at: datetime,
        retries: int | None = None,
    ) -> CommandAnswer:
        if not location.startswith(("http://", "https://", "ftp://", "ftps://")):
            raise InvalidInput("The location is an http(s) or ftp(s) URL.", field="location")
        if len(location) > 512:
            raise InvalidInput("At most 512 characters.", field="location")
        if retries is not None and not 0 <= retries <= MAX_FIRMWARE_RETRIES:
            raise InvalidInput(f"Between 0 and {MAX_FIRMWARE_RETRIES} retries.", field="retries")
        return await self._simple(
            viewer,
            station_id,
            CommandKind.UPDATE_FIRMWARE,
            location=location,
            retrieve_at=retrieve_at.isoformat(),
            retries=retries,
        )

    async def set_charging_profile(
        self, viewer: Viewer, station_id: uuid.UUID, connector: int, profile: ChargingProfile
    ) -> CommandAnswer:
        station = await self._managed_station(viewer, station_id)
        profile.validate()
        command = Command(
            CommandKind.SET_CHARGING_PROFILE,
            {"connector": _connector(connector, allow_zero=True), "profile": profile.to_dict()},
        )
        return await self._send(viewer, station, command)

    async def clear_charging_profile(
        self,
        viewer: Viewer,
        station_id: uuid.UUID,
        *,
        profile_id: int | None = None,
        connector: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> CommandAnswer:
        return await self._simple(
            viewer,
            station_id,
            CommandKind.CLEAR_CHARGING_PROFILE,
            id=profile_id,
            connector=None if connector is None else _connector(connector, allow_zero=True),
            purpose=purpose,
            stack_level=stack_level,
        )

    async def get_composite_schedule(
        self,
        viewer: Viewer,
        station_id: uuid.UUID,
        connector: int,
        duration_s: int,
        rate_unit: str | None = None,
    ) -> CommandAnswer:
        if not 0 < duration_s <= 7 * 86400:
            raise InvalidInput("A duration of up to a week, in seconds.", field="durationS")
        if rate_unit not in (None, "W", "A"):
            raise InvalidInput("The rate unit is W or A.", field="rateUnit")
        return await self._simple(
            viewer,
            station_id,
            CommandKind.GET_COMPOSITE_SCHEDULE,
            connector=_connector(connector, allow_zero=True),
            duration_s=duration_s,
            rate_unit=rate_unit,
        )
