"""OCPP 2.0.1 stations, message by message, against the real server and database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ocpp.v201 import call
from sqlalchemy import select

from backend.db.models import AuditEntry, ChargingStation, Connector, MeterSample, SessionStatus
from tests.ocpp.conftest import BADGE, OTHER_BADGE, base_time, sessions_of, station, ts


def mv(at: Any, wh: int, w: int | None = None, context: str = "Sample.Periodic") -> dict[str, Any]:
    values: list[dict[str, Any]] = [
        {
            "value": wh / 1000,
            "measurand": "Energy.Active.Import.Register",
            "unit_of_measure": {"unit": "kWh"},
            "context": context,
        }
    ]
    if w is not None:
        values.append(
            {"value": w, "measurand": "Power.Active.Import", "unit_of_measure": {"unit": "W"}}
        )
    return {"timestamp": ts(at), "sampled_value": values}


def event(kind: str, at: Any, seq: int, tx: str = "tx-1", **extra: Any) -> call.TransactionEvent:
    return call.TransactionEvent(
        event_type=kind,
        timestamp=ts(at),
        trigger_reason=extra.pop("trigger", "MeterValuePeriodic"),
        seq_no=seq,
        transaction_info={"transaction_id": tx, **extra.pop("info", {})},
        **extra,
    )


async def boot(cp: Any) -> Any:
    return await cp.call(
        call.BootNotification(
            charging_station={"model": "Flux", "vendor_name": "Acme", "firmware_version": "2.0"},
            reason="PowerUp",
        ),
        suppress=False,
    )


async def test_boot_heartbeat_status(ocpp_server: Any, world: Any, sessionmaker: Any) -> None:
    async with station(ocpp_server, "CP201", "2.0.1") as cp:
        result = await boot(cp)
        assert result.status == "Accepted" and result.interval == 300
        assert (await cp.call(call.Heartbeat(), suppress=False)).current_time
        await cp.call(
            call.StatusNotification(
                timestamp=ts(base_time()), connector_status="Occupied", evse_id=2, connector_id=1
            ),
            suppress=False,
        )
    async with sessionmaker() as db:
        cs = await db.get(ChargingStation, world.station201)
        assert (cs.vendor, cs.model, cs.ocpp_version) == ("Acme", "Flux", "2.0.1")
        connector = await db.scalar(select(Connector))
        assert (connector.evse_id, connector.connector_id, connector.status) == (2, 1, "Occupied")


async def test_authorize(ocpp_server: Any, world: Any) -> None:
    async with station(ocpp_server, "CP201", "2.0.1") as cp:
        ok = await cp.call(
            call.Authorize(id_token={"id_token": BADGE, "type": "ISO14443"}), suppress=False
        )
        assert ok.id_token_info["status"] == "Accepted"
        other = await cp.call(
            call.Authorize(id_token={"id_token": OTHER_BADGE, "type": "ISO14443"}), suppress=False
        )
        assert other.id_token_info["status"] == "NotAtThisLocation"
        unknown = await cp.call(
            call.Authorize(id_token={"id_token": "FEED", "type": "ISO14443"}), suppress=False
        )
        assert unknown.id_token_info["status"] == "Invalid"


async def test_a_whole_transaction(ocpp_server: Any, world: Any, sessionmaker: Any) -> None:
    t = base_time()
    token = {"id_token": BADGE, "type": "ISO14443"}
    async with station(ocpp_server, "CP201", "2.0.1") as cp:
        await boot(cp)
        started = await cp.call(
            event(
                "Started",
                t,
                0,
                trigger="Authorized",
                evse={"id": 1, "connector_id": 1},
                id_token=token,
                meter_value=[mv(t, 5000, 0, "Transaction.Begin")],
            ),
            suppress=False,
        )
        assert started.id_token_info["status"] == "Accepted"
        await cp.call(
            event(
                "Updated",
                t + timedelta(minutes=1),
                1,
                meter_value=[mv(t + timedelta(minutes=1), 5200, 11000)],
            ),
            suppress=False,
        )
        await cp.call(
            call.MeterValues(evse_id=1, meter_value=[mv(t + timedelta(minutes=2), 5400, 11000)]),
            suppress=False,
        )
        ended = await cp.call(
            event(
                "Ended",
                t + timedelta(minutes=3),
                2,
                trigger="EVDeparted",
                info={"stopped_reason": "EVDisconnected"},
                meter_value=[mv(t + timedelta(minutes=3), 5500, 0, "Transaction.End")],
            ),
            suppress=False,
        )
        assert ended.id_token_info is None
    [session] = await sessions_of(sessionmaker, world.station201)
    assert session.ocpp_transaction_id == "tx-1" and session.user_id == world.driver_id
    assert session.status is SessionStatus.COMPLETED
    assert (session.meter_start_wh, session.meter_stop_wh, session.energy_wh) == (5000, 5500, 500)
    assert session.stop_reason == "EVDisconnected"
    # 0 W at the start: the first minute was idle.
    assert session.inactivity_s == 60
    async with sessionmaker() as db:
        samples = list(await db.scalars(select(MeterSample).order_by(MeterSample.sampled_at)))
    assert [s.session_energy_wh for s in samples] == [0, 200, 400, 500]


async def test_updated_before_started_opens_the_session(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = base_time()
    async with station(ocpp_server, "CP201", "2.0.1") as cp:
        await cp.call(
            event(
                "Updated",
                t + timedelta(minutes=1),
                1,
                evse={"id": 1},
                meter_value=[mv(t + timedelta(minutes=1), 1300, 7000)],
            ),
            suppress=False,
        )
        await cp.call(
            event("Started", t, 0, evse={"id": 1}, meter_value=[mv(t, 1000, 7000)]), suppress=False
        )
    [session] = await sessions_of(sessionmaker, world.station201)
    assert session.started_at == t and session.energy_wh == 300


async def test_reports_events_firmware_security(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = ts(base_time())
    async with station(ocpp_server, "CP201", "2.0.1") as cp:
        await cp.call(
            call.NotifyReport(
                request_id=1,
                generated_at=t,
                seq_no=0,
                report_data=[
                    {
                        "component": {"name": "EVSE"},
                        "variable": {"name": "Power"},
                        "variable_attribute": [{"value": "22000"}],
                    }
                ],
            ),
            suppress=False,
        )
        await cp.call(
            call.NotifyEvent(
                generated_at=t,
                seq_no=0,
                event_data=[
                    {
                        "event_id": 1,
                        "timestamp": t,
                        "trigger": "Delta",
                        "actual_value": "Faulted",
                        "event_notification_type": "HardWiredNotification",
                        "component": {"name": "Connector"},
                        "variable": {"name": "AvailabilityState"},
                    }
                ],
            ),
            suppress=False,
        )
        await cp.call(
            call.FirmwareStatusNotification(status="Installed", request_id=3), suppress=False
        )
        await cp.call(
            call.SecurityEventNotification(type="TamperDetectionActivated", timestamp=t),
            suppress=False,
        )
    async with sessionmaker() as db:
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.action == "station.security_event")
        )
        assert entry.target_id == str(world.station201)
        assert entry.details["type"] == "TamperDetectionActivated"
