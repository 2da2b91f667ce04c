"""What subscriptions stream: station and connector status, and a session's curve as it grows.

They are built from the JSON events of the bus (`backend.events` payloads, `to_dict()`), so a
subscriber on one server process sees what the OCPP side of another process published.

A session's costs (the running cost of each event, the cumulated cost of each point) follow
the rule of `ChargingSession.cost`: they keep the session's driver and site (private fields)
for it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry

from backend.db.models import RegistrationStatus


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@strawberry.type(description="A station's or one of its connectors' status changed.")
class StationStatusEvent:
    kind: str = strawberry.field(description='"station" or "connector"')
    station_id: strawberry.ID
    ocpp_identity: str | None
    connected: bool | None = strawberry.field(
        description="Station events: its websocket is open (false: offline)."
    )
    registration_status: RegistrationStatus | None
    last_seen_at: datetime | None
    status: str | None = strawberry.field(
        description="Connector status (Available, Charging, …), or the whole station's."
    )
    error_code: str | None
    connector_id: strawberry.ID | None
    evse_id: int | None
    connector_number: int | None
    at: datetime | None
    # For the access rules (site_read / site_manage_read read `site_id`).
    site_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(name="siteId")
    def site(self) -> strawberry.ID | None:
        return strawberry.ID(str(self.site_id)) if self.site_id else None

    @classmethod
    def of(cls, event: dict[str, Any]) -> StationStatusEvent:
        station = event["kind"] == "station.status"
        registration = event.get("registration_status")
        return cls(
            kind="station" if station else "connector",
            station_id=strawberry.ID(str(event["station_id"])),
            site_id=_uuid(event.get("site_id")),
            ocpp_identity=event.get("ocpp_identity"),
            connected=event.get("connected") if station else None,
            registration_status=RegistrationStatus(registration) if registration else None,
            last_seen_at=_time(event.get("last_seen_at")),
            status=event.get("status"),
            error_code=event.get("error_code"),
            connector_id=strawberry.ID(str(event["connector_id"]))
            if event.get("connector_id")
            else None,
            evse_id=event.get("evse_id"),
            connector_number=event.get("connector_number"),
            at=_time(event.get("at")) or _time(event.get("last_seen_at")),
        )


@strawberry.type(description="One new point of a session's charging curve.")
class LiveCurvePoint:
    at: datetime
    energy_wh: int | None = strawberry.field(description="The session's energy so far.")
    power_w: int | None
    current_a: list[float | None] = strawberry.field(description="Per phase, L1 to L3.")
    voltage_v: list[float | None]
    soc_percent: int | None
    cost_excl_vat_minor: int | None = strawberry.field(
        description="The session's cumulated cost at this point, excluding VAT, in minor units "
        "of its currency (`cost.currency`); null without a tariff, or when a rebuilt curve "
        "is to be read again."
    )
    cost_incl_vat_minor: int | None = strawberry.field(description="The same, including VAT.")
    # For the access rules (session_read reads `user_id` and `site_id`).
    user_id: strawberry.Private[uuid.UUID | None]
    site_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def of(
        cls, point: dict[str, Any], user_id: uuid.UUID | None, site_id: uuid.UUID | None
    ) -> LiveCurvePoint:
        return cls(
            at=datetime.fromisoformat(point["at"]),
            energy_wh=point.get("energy_wh"),
            power_w=point.get("power_w"),
            current_a=list(point.get("current_a") or [None, None, None]),
            voltage_v=list(point.get("voltage_v") or [None, None, None]),
            soc_percent=point.get("soc_percent"),
            cost_excl_vat_minor=point.get("cost_excl_vat_minor"),
            cost_incl_vat_minor=point.get("cost_incl_vat_minor"),
            user_id=user_id,
            site_id=site_id,
        )


@strawberry.type(
    name="RunningCost",
    description="A session's cost as it stands, in minor units of its currency (cents).",
)
class RunningCostType:
    currency: str
    total_excl_vat_minor: int
    total_vat_minor: int
    total_incl_vat_minor: int
    final: bool = strawberry.field(
        description="Priced until the connector was free again: it will not change any more."
    )

    @classmethod
    def of(cls, cost: dict[str, Any] | None) -> RunningCostType | None:
        if not cost:
            return None
        return cls(
            currency=str(cost["currency"]),
            total_excl_vat_minor=int(cost["excl_vat_minor"]),
            total_vat_minor=int(cost["vat_minor"]),
            total_incl_vat_minor=int(cost["incl_vat_minor"]),
            final=bool(cost.get("final")),
        )


@strawberry.type(
    description="A session started, grew (new meter values), stopped, or was priced until its "
    "connector was free again."
)
class SessionCurveEvent:
    kind: str = strawberry.field(description='"started", "updated", "stopped" or "priced"')
    session_id: strawberry.ID
    station_id: strawberry.ID
    energy_wh: int | None
    instant_power_w: int | None
    inactivity_s: int | None
    points: list[LiveCurvePoint] = strawberry.field(
        description="The points just added (updated events)."
    )
    rebuilt: bool = strawberry.field(
        description="A late reading reshaped the curve: read the whole curve again."
    )
    started_at: datetime | None
    stopped_at: datetime | None
    stop_reason: str | None
    cost: RunningCostType | None = strawberry.field(
        description="The session's running cost after this event (updated, stopped and "
        "priced events); null without a tariff."
    )
    # For the access rules (session_read reads `user_id` and `site_id`).
    user_id: strawberry.Private[uuid.UUID | None]
    site_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def of(
        cls,
        event: dict[str, Any],
        user_id: uuid.UUID | None = None,
        site_id: uuid.UUID | None = None,
    ) -> SessionCurveEvent:
        """`user_id`, `site_id`: the session's, when the event does not say."""
        kind = str(event["kind"]).removeprefix("session.")
        user_id = _uuid(event.get("user_id")) or user_id
        site_id = _uuid(event.get("site_id")) or site_id
        return cls(
            kind=kind,
            session_id=strawberry.ID(str(event["session_id"])),
            station_id=strawberry.ID(str(event["station_id"])),
            energy_wh=event.get("energy_wh"),
            instant_power_w=event.get("instant_power_w"),
            inactivity_s=event.get("inactivity_s"),
            points=[LiveCurvePoint.of(p, user_id, site_id) for p in event.get("points") or []],
            rebuilt=bool(event.get("rebuilt")),
            started_at=_time(event.get("started_at")),
            stopped_at=_time(event.get("stopped_at")),
            stop_reason=event.get("stop_reason"),
            cost=RunningCostType.of(event.get("cost")),
            user_id=user_id,
            site_id=site_id,
        )
