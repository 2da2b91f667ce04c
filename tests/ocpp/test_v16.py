"""OCPP 1.6J stations, message by message, against the real server and database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ocpp.v16 import call
from sqlalchemy import func, select

from backend.db.models import (
    AuditEntry,
    ChargingStation,
    Connector,
    MeterSample,
    SessionStatus,
    UnknownBadge,
)
from tests.ocpp.conftest import BADGE, OTHER_BADGE, base_time, sessions_of, station, ts


def mv(at: Any, wh: int, w: int | None = None, **extra: Any) -> dict[str, Any]:
    values = [{"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]
    if w is not None:
        values.append({"value": str(w), "measurand": "Power.Active.Import", "unit": "W"})
    for phase in ("L1", "L2", "L3"):
        if "amps" in extra:
            values.append(
                {
                    "value": str(extra["amps"]),
                    "measurand": "Current.Import",
                    "unit": "A",
                    "phase": phase,
                }
            )
        if "volts" in extra:
            values.append(
                {
                    "value": str(extra["volts"]),
                    "measurand": "Voltage",
                    "unit": "V",
                    "phase": f"{phase}-N",
                }
            )
    if "soc" in extra:
        values.append({"value": str(extra["soc"]), "measurand": "SoC", "unit": "Percent"})
    return {"timestamp": ts(at), "sampledValue": values}


async def boot(cp: Any) -> Any:
    return await cp.call(
        call.BootNotification(
            charge_point_vendor="Acme",
            charge_point_model="Volt 22",
            charge_point_serial_number="SN-1",
            firmware_version="1.2.3",
        ),
        suppress=False,
    )


async def test_boot_heartbeat_and_status(ocpp_server: Any, world: Any, sessionmaker: Any) -> None:
    async with station(ocpp_server, "CP16") as cp:
        result = await boot(cp)
        assert result.status == "Accepted" and result.interval == 300
        beat = await cp.call(call.Heartbeat(), suppress=False)
        assert beat.current_time.endswith("Z")
        await cp.call(
            call.StatusNotification(connector_id=1, error_code="NoError", status="Available"),
            suppress=False,
        )
        await cp.call(
            call.StatusNotification(
                connector_id=2,
                error_code="GroundFailure",
                status="Faulted",
                timestamp=ts(base_time()),
            ),
            suppress=False,
        )
        await cp.call(
            call.StatusNotification(connector_id=0, error_code="NoError", status="Available"),
            suppress=False,
        )
    async with sessionmaker() as db:
        cs = await db.get(ChargingStation, world.station16)
        assert (cs.vendor, cs.model, cs.serial_number, cs.firmware_version, cs.ocpp_version) == (
            "Acme",
            "Volt 22",
            "SN-1",
            "1.2.3",
            "1.6",
        )
        assert cs.last_seen_at is not None
        connectors = list(await db.scalars(select(Connector).order_by(Connector.evse_id)))
        assert [(c.evse_id, c.connector_id, c.status, c.error_code) for c in connectors] == [
            (1, 1, "Available", None),
            (2, 1, "Faulted", "GroundFailure"),
        ]


async def test_a_late_status_does_not_override_a_newer_one(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = base_time()
    async with station(ocpp_server, "CP16") as cp:
        for at, status in ((t, "Charging"), (t - timedelta(minutes=5), "Available")):
            await cp.call(
                call.StatusNotification(
                    connector_id=1, error_code="NoError", status=status, timestamp=ts(at)
                ),
                suppress=False,
            )
    async with sessionmaker() as db:
        assert await db.scalar(select(Connector.status)) == "Charging"


async def test_authorize(ocpp_server: Any, world: Any, sessionmaker: Any) -> None:
    async with station(ocpp_server, "CP16") as cp:
        ok = await cp.call(call.Authorize(id_tag=BADGE.lower()), suppress=False)
        assert ok.id_tag_info["status"] == "Accepted"
        outsider = await cp.call(call.Authorize(id_tag=OTHER_BADGE), suppress=False)
        assert outsider.id_tag_info["status"] == "Blocked"
        for _ in range(2):
            unknown = await cp.call(call.Authorize(id_tag="DEADBEEF"), suppress=False)
            assert unknown.id_tag_info["status"] == "Invalid"
    async with sessionmaker() as db:
        badge = await db.scalar(select(UnknownBadge))
        assert (badge.uid, badge.count, badge.station_id) == ("DEADBEEF", 2, world.station16)
        refusals = list(
            await db.scalars(
                select(AuditEntry).where(AuditEntry.action == "charging.authorization_refused")
            )
        )
        assert sorted(r.details["reason"] for r in refusals) == [
            "not_assigned_to_site",
            "unknown_badge",
            "unknown_badge",
        ]


async def test_a_whole_session(ocpp_server: Any, world: Any, sessionmaker: Any) -> None:
    t = base_time()
    async with station(ocpp_server, "CP16") as cp:
        await boot(cp)
        start = await cp.call(
            call.StartTransaction(connector_id=1, id_tag=BADGE, meter_start=1000, timestamp=ts(t)),
            suppress=False,
        )
        assert start.id_tag_info["status"] == "Accepted"
        tx = start.transaction_id
        for minute, wh, w in ((1, 1100, 6000), (2, 1200, 6000), (3, 1200, 0)):
            await cp.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[
                        mv(
                            t + timedelta(minutes=minute),
                            wh,
                            w,
                            amps=8.7,
                            volts=230,
                            soc=40 + minute,
                        )
                    ],
                ),
                suppress=False,
            )
        stop = await cp.call(
            call.StopTransaction(
                meter_stop=1200,
                timestamp=ts(t + timedelta(minutes=5)),
                transaction_id=tx,
                id_tag=BADGE,
                reason="EVDisconnected",
                transaction_data=[
                    mv(t + timedelta(minutes=4), 1200, 0),
                    mv(t + timedelta(minutes=5), 1200),
                ],
            ),
            suppress=False,
        )
        assert stop.id_tag_info["status"] == "Accepted"
    [session] = await sessions_of(sessionmaker, world.station16)
    assert session.ocpp_transaction_id == str(tx)
    assert session.user_id == world.driver_id
    assert session.status is SessionStatus.COMPLETED
    assert (session.meter_start_wh, session.meter_stop_wh, session.energy_wh) == (1000, 1200, 200)
    assert session.stop_reason == "EVDisconnected"
    assert session.instant_power_w == 0
    # Idle from minute 3 (0 W) to the stop at minute 5.
    assert session.inactivity_s == 120
    async with sessionmaker() as db:
        samples = list(await db.scalars(select(MeterSample).order_by(MeterSample.sampled_at)))
    assert [s.session_energy_wh for s in samples] == [100, 200, 200, 200, 200]
    first = samples[0]
    assert (first.power_w, first.current_a_l2, first.voltage_v_l3, first.soc_percent) == (
        6000,
        8.7,
        230,
        41,
    )


async def test_transaction_ids_are_ours_and_unique(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = base_time()
    ids = []
    for identity in ("CP16", "CP201"):  # both stations speak 1.6 here
        async with station(ocpp_server, identity) as cp:
            for connector in (1, 2):
                result = await cp.call(
                    call.StartTransaction(
                        connector_id=connector, id_tag=BADGE, meter_start=0, timestamp=ts(t)
                    ),
                    suppress=False,
                )
                ids.append(result.transaction_id)
    assert len(set(ids)) == 4 and ids == sorted(ids)


async def test_data_transfer_firmware_and_diagnostics(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    async with station(ocpp_server, "CP16") as cp:
        result = await cp.call(
            call.DataTransfer(vendor_id="com.acme", message_id="x", data="1"), suppress=False
        )
        assert result.status == "UnknownVendorId"
        await cp.call(call.FirmwareStatusNotification(status="Downloading"), suppress=False)
        await cp.call(call.DiagnosticsStatusNotification(status="Uploaded"), suppress=False)
        # The connection is still usable afterwards.
        assert (await cp.call(call.Heartbeat(), suppress=False)).current_time


async def test_meter_values_without_transaction_go_to_the_open_session(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = base_time()
    async with station(ocpp_server, "CP16") as cp:
        await cp.call(
            call.StartTransaction(connector_id=1, id_tag=BADGE, meter_start=0, timestamp=ts(t)),
            suppress=False,
        )
        await cp.call(
            call.MeterValues(connector_id=1, meter_value=[mv(t + timedelta(minutes=1), 500)]),
            suppress=False,
        )
        # Nothing open on connector 2: acknowledged and dropped.
        await cp.call(
            call.MeterValues(connector_id=2, meter_value=[mv(t + timedelta(minutes=1), 9)]),
            suppress=False,
        )
    [session] = await sessions_of(sessionmaker, world.station16)
    assert session.energy_wh == 500 and session.instant_power_w == (500 * 60)
    async with sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(MeterSample)) == 1
