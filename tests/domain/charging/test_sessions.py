"""Sessions, authorization and status through the domain, on the real database, with the events
they publish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from backend.db.models import (
    ChargingStation,
    MeterSample,
    RegistrationStatus,
    RfidCard,
    Site,
    SiteArea,
    UnknownBadge,
    User,
    UserStatus,
)
from backend.domain.charging import (
    AuthorizationStatus,
    BootInfo,
    Charging,
    Reading,
    StartRequest,
    StopRequest,
)
from backend.domain.stations_status import is_online
from backend.events import (
    CollectingBus,
    ConnectorStatusChanged,
    SessionStarted,
    SessionStopped,
    SessionUpdated,
    StationStatusChanged,
)

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def make_station(db: Any, *, access_control: bool = True) -> ChargingStation:
    site = Site(name="S")
    db.add(site)
    await db.flush()
    area = SiteArea(site_id=site.id, name="A", max_power_w=22000, access_control=access_control)
    db.add(area)
    await db.flush()
    station = ChargingStation(
        ocpp_identity="D1",
        site_area_id=area.id,
        site_id=site.id,
        registration_status=RegistrationStatus.ACCEPTED,
    )
    db.add(station)
    await db.commit()
    return station


async def test_session_lifecycle_events(db: Any) -> None:
    station = await make_station(db, access_control=False)
    bus = CollectingBus()
    charging = Charging(db, bus)
    started = await charging.sessions.start(station.id, StartRequest(1, 1, T0, 0, "WHOEVER"))
    assert started.authorization and started.authorization.accepted  # access control off
    tx = started.transaction_id
    await charging.sessions.record_readings(
        station.id, [Reading(at(2), 200, 6000)], transaction_id=tx
    )
    # Late, placed before: the curve is rebuilt.
    await charging.sessions.record_readings(
        station.id, [Reading(at(1), 100, 6000)], transaction_id=tx
    )
    await charging.sessions.record_readings(
        station.id, [Reading(at(1), 100, 6000)], transaction_id=tx
    )
    await charging.sessions.stop(station.id, tx, StopRequest(at(3), 300))
    await charging.sessions.stop(station.id, tx, StopRequest(at(3), 300))

    [s] = bus.of(SessionStarted)
    assert s.site_id == station.site_id and s.transaction_id == tx
    updates = bus.of(SessionUpdated)
    assert [(u.energy_wh, u.rebuilt, len(u.points)) for u in updates] == [
        (200, False, 1),
        (200, True, 1),
    ]
    assert updates[0].points[0].energy_wh == 200 and updates[0].site_id == station.site_id
    [stopped] = bus.of(SessionStopped)
    assert (stopped.energy_wh, stopped.stop_reason) == (300, "Local")
    assert stopped.to_dict()["kind"] == "session.stopped"
    assert f"session:{stopped.session_id}" in stopped.channels
    rows = list(
        await db.scalars(select(MeterSample.session_energy_wh).order_by(MeterSample.sampled_at))
    )
    assert rows == [100, 200]
    assert (await db.scalar(select(UnknownBadge.count))) == 1


async def test_authorization_rules(db: Any, make_user: Any) -> None:
    station = await make_station(db)
    user = await make_user()
    db.add(RfidCard(uid="C0FFEE", user_id=user.id, active=False))
    await db.commit()
    authorization = Charging(db).authorization
    assert (
        await authorization.authorize_badge(station.id, "c0:ff:ee")
    ).status is AuthorizationStatus.BLOCKED
    card = await db.scalar(select(RfidCard))
    card.active = True
    await db.commit()
    result = await authorization.authorize_badge(station.id, "C0FFEE")
    assert result.status is AuthorizationStatus.NOT_AT_THIS_LOCATION and result.user_id == user.id
    assert (
        await authorization.authorize_user(station.id, user.id)
    ).status is AuthorizationStatus.NOT_AT_THIS_LOCATION
    area = await db.scalar(select(SiteArea))
    area.access_control = False
    await db.commit()
    assert (await authorization.authorize_badge(station.id, "C0FFEE")).accepted
    person = await db.get(User, user.id)
    person.status = UserStatus.BLOCKED
    await db.commit()
    assert (
        await authorization.authorize_badge(station.id, "C0FFEE")
    ).status is AuthorizationStatus.BLOCKED


async def test_status_heartbeat_and_offline(db: Any) -> None:
    station = await make_station(db)
    bus = CollectingBus()
    charging = Charging(db, bus)
    await db.execute(update(ChargingStation).values(last_seen_at=T0))  # long ago
    await db.commit()
    await db.refresh(station)
    assert not is_online(station.last_seen_at)
    seen = await charging.status.heartbeat(station.id)
    assert is_online(seen)
    assert await charging.status.connector_status(station.id, 1, 1, "Charging", "NoError", at(5))
    assert not await charging.status.connector_status(station.id, 1, 1, "Available", None, at(1))
    [event] = bus.of(ConnectorStatusChanged)
    assert (event.status, event.error_code, event.site_id) == ("Charging", None, station.site_id)


async def test_boot_updates_the_station_and_closes_open_sessions(db: Any) -> None:
    station = await make_station(db, access_control=False)
    bus = CollectingBus()
    charging = Charging(db, bus)
    started = await charging.sessions.start(station.id, StartRequest(1, 1, T0, 10, None))
    await charging.sessions.record_readings(
        station.id, [Reading(at(4), 410, 6000)], transaction_id=started.transaction_id
    )
    result = await charging.registration.boot("D1", BootInfo("V", "M", "S", "F", "1.6"))
    assert result.status is RegistrationStatus.ACCEPTED and result.closed_sessions == (
        started.session_id,
    )
    [stopped] = bus.of(SessionStopped)
    assert (stopped.stopped_at, stopped.energy_wh, stopped.stop_reason) == (at(4), 400, "Reboot")
    assert bus.of(StationStatusChanged)[-1].connected
