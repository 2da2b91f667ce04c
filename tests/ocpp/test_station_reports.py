"""What stations report back (firmware and diagnostics progress, events, device reports,
security events) lands in the station's system logs, small and free of secrets, over real
websockets."""

from __future__ import annotations

import json
from typing import Any

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from backend.db.models import LogCategory, LogLevel, SystemLogEntry
from tests.ocpp.conftest import base_time, exchange, raw, station, ts
from tests.system_logs.helpers import rows

SECRET_PASSWORD = "Tamper-Secret-9931"


async def logs_of(sessionmaker: Any, station_id: Any, event: str) -> list[SystemLogEntry]:
    return await rows(sessionmaker, station_id=station_id, event=event)


async def test_v16_firmware_and_diagnostics_statuses_are_logged(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    async with station(ocpp_server, "CP16") as cp:
        await cp.call(call16.FirmwareStatusNotification(status="Downloading"), suppress=False)
        await cp.call(
            call16.FirmwareStatusNotification(status="InstallationFailed"), suppress=False
        )
        await cp.call(call16.DiagnosticsStatusNotification(status="Uploaded"), suppress=False)
        await cp.call(call16.DiagnosticsStatusNotification(status="UploadFailed"), suppress=False)

    firmware = await logs_of(sessionmaker, world.station16, "station.firmware")
    assert [(e.level, e.details) for e in firmware] == [
        (LogLevel.INFO, {"status": "Downloading"}),
        (LogLevel.WARNING, {"status": "InstallationFailed"}),
    ]
    assert all(e.category == LogCategory.OCPP and e.ocpp_identity == "CP16" for e in firmware)
    assert firmware[0].message == "Firmware update status: Downloading."
    diagnostics = await logs_of(sessionmaker, world.station16, "station.diagnostics")
    assert [(e.level, e.details) for e in diagnostics] == [
        (LogLevel.INFO, {"status": "Uploaded"}),
        (LogLevel.WARNING, {"status": "UploadFailed"}),
    ]
    assert diagnostics[1].message == "Diagnostics upload status: UploadFailed."
    # Nothing was written for the other station.
    assert await rows(sessionmaker, station_id=world.station201) == []


async def test_v201_firmware_event_and_security_reports_are_logged(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = ts(base_time())
    async with station(ocpp_server, "CP201", "2.0.1") as cp:
        await cp.call(
            call201.FirmwareStatusNotification(status="Installed", request_id=3), suppress=False
        )
        await cp.call(
            call201.FirmwareStatusNotification(status="InvalidSignature", request_id=4),
            suppress=False,
        )
        await cp.call(
            call201.NotifyEvent(
                generated_at=t,
                seq_no=0,
                tbc=False,
                event_data=[
                    {
                        "event_id": 1,
                        "timestamp": t,
                        "trigger": "Delta",
                        "actual_value": "Faulted",
                        "event_notification_type": "HardWiredNotification",
                        "component": {"name": "Connector"},
                        "variable": {"name": "AvailabilityState"},
                    },
                    {
                        # A monitored credential: its name is logged, its value never.
                        "event_id": 2,
                        "timestamp": t,
                        "trigger": "Delta",
                        "actual_value": SECRET_PASSWORD,
                        "event_notification_type": "CustomMonitor",
                        "component": {"name": "SecurityCtrlr"},
                        "variable": {"name": "BasicAuthPassword"},
                    },
                ],
            ),
            suppress=False,
        )
        await cp.call(
            call201.SecurityEventNotification(
                type="TamperDetectionActivated", timestamp=t, tech_info="lid opened"
            ),
            suppress=False,
        )

    firmware = await logs_of(sessionmaker, world.station201, "station.firmware")
    assert [(e.level, e.details) for e in firmware] == [
        (LogLevel.INFO, {"status": "Installed", "request_id": 3}),
        (LogLevel.WARNING, {"status": "InvalidSignature", "request_id": 4}),
    ]

    (event,) = await logs_of(sessionmaker, world.station201, "station.event")
    assert event.level == LogLevel.INFO and event.category == LogCategory.OCPP
    assert event.message == "The station reported 2 event(s)."
    assert event.details == {
        "seq_no": 0,
        "tbc": False,
        "count": 2,
        "events": [
            {
                "trigger": "Delta",
                "component": "Connector",
                "variable": "AvailabilityState",
                "value": "Faulted",
            },
            {"trigger": "Delta", "component": "SecurityCtrlr", "variable": "BasicAuthPassword"},
        ],
    }

    (security,) = await logs_of(sessionmaker, world.station201, "station.security_event")
    assert security.level == LogLevel.WARNING and security.category == LogCategory.SECURITY
    assert security.details["type"] == "TamperDetectionActivated"
    assert security.details["tech_info"] == "lid opened"
    assert security.message == "Security event reported by the station: TamperDetectionActivated."

    everything = json.dumps(
        [[e.message, e.details] for e in await rows(sessionmaker, station_id=world.station201)]
    )
    assert SECRET_PASSWORD not in everything


async def test_v201_big_notify_report_stays_small_in_the_log(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    t = ts(base_time())
    items = [
        {
            "component": {"name": f"Component{n}"},
            "variable": {"name": f"Variable{n}"},
            "variableAttribute": [{"value": f"value-{n}-" + "x" * 40}],
        }
        for n in range(400)
    ]
    async with raw(ocpp_server, "CP201", "2.0.1") as ws:
        first = [
            2,
            "r1",
            "NotifyReport",
            {"requestId": 7, "generatedAt": t, "seqNo": 0, "tbc": True, "reportData": items},
        ]
        frame = json.dumps(first)
        assert len(frame) > 30_000
        assert await exchange(ws, frame) == [3, "r1", {}]
        last = [
            2,
            "r2",
            "NotifyReport",
            {"requestId": 7, "generatedAt": t, "seqNo": 1, "reportData": items[:3]},
        ]
        assert await exchange(ws, last) == [3, "r2", {}]

    parts = await logs_of(sessionmaker, world.station201, "station.report")
    assert [(e.level, e.details) for e in parts] == [
        (LogLevel.INFO, {"request_id": 7, "seq_no": 0, "items": 400, "tbc": True}),
        (LogLevel.INFO, {"request_id": 7, "seq_no": 1, "items": 3, "tbc": False}),
    ]
    assert parts[0].message == "Device report received: 400 items, more to follow."
    assert parts[1].message == "Device report received: 3 items."
    stored = json.dumps([[e.message, e.details] for e in parts])
    assert len(stored) < 500
    assert "value-0-" not in stored and "Component0" not in stored
