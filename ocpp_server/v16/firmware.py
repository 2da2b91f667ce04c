"""1.6 Firmware Management: firmware and diagnostics status notifications."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from ocpp_server.v16.common import Handler16


class Firmware16(Handler16):
    @on(Action.firmware_status_notification)
    async def on_firmware_status_notification(
        self, status: Any, **kwargs: Any
    ) -> call_result.FirmwareStatusNotification:
        station = self.require_station()
        async with self.domain() as charging:
            await charging.status.notice(station.id, "firmware", {"status": str(status)})
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status_notification(
        self, status: Any, **kwargs: Any
    ) -> call_result.DiagnosticsStatusNotification:
        station = self.require_station()
        async with self.domain() as charging:
            await charging.status.notice(station.id, "diagnostics", {"status": str(status)})
        return call_result.DiagnosticsStatusNotification()
