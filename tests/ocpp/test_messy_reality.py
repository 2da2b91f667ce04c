"""Stations as they are: repeats, late and out-of-order messages, reboots, meter resets, broken
frames and slightly wrong payloads. Each case has its own test."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from ocpp.v16 import call
from sqlalchemy import func, select

from backend.db.models import ChargingStation, MeterSample, Role, SessionStatus
from backend.domain.stations import StationData, Stations
from backend.domain.viewer import Viewer
from tests.ocpp.conftest import BADGE, base_time, exchange, raw, sessions_of, station, ts
from tests.ocpp.test_v16 import mv


async def start(cp: Any, t: Any, connector: int = 1, meter: int = 0) -> int:
    result = await cp.call(
        call.StartTransaction(
            connector_id=connector, id_tag=BADGE, meter_start=meter, timestamp=ts(t)
        ),
        suppress=False,
    )
    return int(result.transaction_id)


async def test_a_repeated_message_with_the_same_id_counts_once(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = base_time()
    async with station(ocpp_server, "CP16") as cp:
        tx = await start(cp, t)
    frame = [
        2,
        "mv-1",
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [mv(t + timedelta(minutes=1), 700, 5000)],
        },
    ]
    async with raw(ocpp_server, "CP16") as ws:
        first = await exchange(ws, frame)
        again = await exchange(ws, frame)
    async with raw(ocpp_server, "CP16") as ws:  # and after a reconnect
        later = await exchange(ws, frame)
    assert first == again == later == [3, "mv-1", {}]
    [session] = await sessions_of(sessionmaker, world.station16)
    assert session.energy_wh == 700
    async with sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(MeterSample)) == 1


async def test_a_repeated_start_returns_the_same_transaction(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = base_time()
    async with station(ocpp_server, "CP16") as cp:
        first = await start(cp, t)
        second = await start(cp, t)  # the station never got the answer: new message id
    assert first == second
    assert len(await sessions_of(sessionmaker, world.station16)) == 1


async def test_stop_twice_or_unknown_is_acknowledged_and_counted_once(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = base_time()
    async with station(ocpp_server, "CP16") as cp:
        tx = await start(cp, t, meter=100)
        for meter_stop in (600, 900):
            await cp.call(
                call.StopTransaction(
                    meter_stop=meter_stop, timestamp=ts(t + timedelta(minutes=9)), transaction_id=tx
                ),
                suppress=False,
            )
        unknown = await cp.call(
            call.StopTransaction(meter_stop=5, timestamp=ts(t), transaction_id=987654),
            suppress=False,
        )
        assert unknown.id_tag_info is None
    [session] = await sessions_of(sessionmaker, world.station16)
    assert (session.status, session.energy_wh, session.meter_stop_wh) == (
        SessionStatus.COMPLETED,
        500,
        600,
    )


async def test_late_and_out_of_order_meter_values_are_placed_by_time(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = base_time()
    async with station(ocpp_server, "CP16") as cp:
        tx = await start(cp, t, meter=1000)
        for minute, wh, w in ((3, 1300, 6000), (1, 1100, 6000), (2, 1200, 0)):
            await cp.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[mv(t + timedelta(minutes=minute), wh, w)],
                ),
                suppress=False,
            )
    [session] = await sessions_of(sessionmaker, world.station16)
    assert (session.energy_wh, session.instant_power_w, session.inactivity_s) == (300, 6000, 60)
    assert session.last_sample_at == t + timedelta(minutes=3)
    async with sessionmaker() as db:
        energies = list(
            await db.scalars(select(MeterSample.session_energy_wh).order_by(MeterSample.sampled_at))
        )
    assert energies == [100, 200, 300]


async def test_a_reboot_mid_session_closes_it_with_its_last_reading(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = base_time()
    async with station(ocpp_server, "CP16") as cp:
        tx = await start(cp, t, meter=0)
        await cp.call(
            call.MeterValues(
                connector_id=1,
                transaction_id=tx,
                meter_value=[mv(t + timedelta(minutes=5), 800, 9000)],
            ),
            suppress=False,
        )
    async with station(ocpp_server, "CP16") as cp:
        await cp.call(
            call.BootNotification(charge_point_vendor="Acme", charge_point_model="X"),
            suppress=False,
        )
    [session] = await sessions_of(sessionmaker, world.station16)
    assert session.status is SessionStatus.COMPLETED and session.stop_reason == "Reboot"
    assert (session.stopped_at, session.meter_stop_wh, session.energy_wh) == (
        t + timedelta(minutes=5),
        800,
        800,
    )
    assert session.instant_power_w == 0
    # The stop the station had buffered comes in at last: it corrects the session.
    async with station(ocpp_server, "CP16") as cp:
        await cp.call(
            call.StopTransaction(
                meter_stop=1000, timestamp=ts(t + timedelta(minutes=7)), transaction_id=tx
            ),
            suppress=False,
        )
    [session] = await sessions_of(sessionmaker, world.station16)
    assert (session.energy_wh, session.stop_reason, session.closed_by_csms) == (
        1000,
        "Local",
        False,
    )


async def test_a_new_start_on_the_same_connector_closes_the_open_session(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = base_time()
    async with station(ocpp_server, "CP16") as cp:
        tx = await start(cp, t)
        await cp.call(
            call.MeterValues(
                connector_id=1, transaction_id=tx, meter_value=[mv(t + timedelta(minutes=2), 300)]
            ),
            suppress=False,
        )
        await start(cp, t + timedelta(minutes=10), meter=300)
    old, new = await sessions_of(sessionmaker, world.station16)
    assert (old.status, old.stop_reason, old.energy_wh) == (
        SessionStatus.COMPLETED,
        "Superseded",
        300,
    )
    assert new.status is SessionStatus.ACTIVE


async def test_a_meter_reset_continues_from_the_last_total(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = base_time()
    async with station(ocpp_server, "CP16") as cp:
        tx = await start(cp, t, meter=5000)
        for minute, wh in ((1, 6000), (2, 100), (3, 600)):
            await cp.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[mv(t + timedelta(minutes=minute), wh)],
                ),
                suppress=False,
            )
        await cp.call(
            call.StopTransaction(
                meter_stop=700, timestamp=ts(t + timedelta(minutes=4)), transaction_id=tx
            ),
            suppress=False,
        )
    [session] = await sessions_of(sessionmaker, world.station16)
    assert session.energy_wh == 1000 + 100 + 500 + 100


@pytest.mark.parametrize(
    ("version", "frame", "code"),
    [
        ("1.6", "this is not json", "FormationViolation"),
        ("2.0.1", "this is not json", "RpcFrameworkError"),
        ("1.6", '{"not": "a list"}', "ProtocolError"),
        ("1.6", '[2, "x1", "Heartbeat"]', "ProtocolError"),
        ("2.0.1", '[7, "x1", "Heartbeat", {}]', "MessageTypeNotSupported"),
        ("1.6", '[2, "x1", "FlyToTheMoon", {}]', "NotImplemented"),
        ("2.0.1", '[2, "x1", "FlyToTheMoon", {}]', "NotImplemented"),
        ("1.6", '[2, "x1", "LogStatusNotification", {"status": "Idle"}]', "NotSupported"),
        (
            "1.6",
            '[2, "x1", "StatusNotification", '
            '{"connectorId": "one", "errorCode": "NoError", "status": "Available"}]',
            "TypeConstraintViolation",
        ),
        (
            "1.6",
            '[2, "x1", "StatusNotification", {"connectorId": 1, "status": "Available"}]',
            "OccurenceConstraintViolation",
        ),
        ("2.0.1", '[2, "x1", "Heartbeat", {"nope": 1}]', "FormatViolation"),
        (
            "1.6",
            '[2, "x1", "StatusNotification", '
            '{"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"}]',
            "PropertyConstraintViolation",
        ),
        ("1.6", '[2, "x1", "Heartbeat", {"extra": true}]', "FormationViolation"),
        (
            "2.0.1",
            '[2, "x1", "StatusNotification", {"timestamp": "2026-01-01T00:00:00Z", '
            '"connectorStatus": "Available", "evseId": 1}]',
            "OccurrenceConstraintViolation",
        ),
    ],
)
async def test_broken_frames_get_the_right_callerror_and_the_connection_lives_on(
    ocpp_server: Any, world: Any, version: str, frame: str, code: str
) -> None:
    identity = "CP16" if version == "1.6" else "CP201"
    async with raw(ocpp_server, identity, version) as ws:
        reply = await exchange(ws, frame)
        assert reply[0] == 4 and reply[2] == code, reply
        assert reply[1] == ("-1" if '"x1"' not in frame else "x1")
        alive = await exchange(ws, [2, "hb", "Heartbeat", {}])
        assert alive[0] == 3 and alive[1] == "hb"


async def test_a_lenient_station_may_send_slightly_wrong_payloads(
    ocpp_server: Any, world: Any, sessionmaker: Any, make_user: Any
) -> None:
    sloppy = [
        2,
        "s1",
        "StartTransaction",
        {
            "connectorId": "1",
            "idTag": BADGE,
            "meterStart": "250",
            "timestamp": "2026-01-01T10:00:00",
            "vendorNote": "hi",
        },
    ]
    async with raw(ocpp_server, "CP16") as ws:
        refused = await exchange(ws, sloppy)
    assert refused[0] == 4
    # An administrator turns lenient mode on (the station form's checkbox does the same).
    admin = Viewer(user_id=(await make_user(Role.ADMIN)).id, role=Role.ADMIN)
    async with sessionmaker() as db:
        station = await db.get_one(ChargingStation, world.station16)
        await Stations(db).update(
            admin,
            world.station16,
            StationData(station.ocpp_identity, station.site_area_id, lenient=True),
        )
    async with raw(ocpp_server, "CP16") as ws:
        accepted = await exchange(ws, sloppy)
    assert accepted[0] == 3 and accepted[2]["idTagInfo"]["status"] == "Accepted"
    [session] = await sessions_of(sessionmaker, world.station16)
    assert session.meter_start_wh == 250 and session.started_at.tzinfo is not None
