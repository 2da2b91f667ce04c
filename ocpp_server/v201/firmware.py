"""2.0.1 Firmware Management: FirmwareStatusNotification."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action

from ocpp_server.v201.common import Handler201


class Firmware201(Handler201):
    @on(Action.firmware_status_notification)
    async def on_firmware_status_notification(
        self, status: Any, **kwargs: Any
    ) -> call_result.FirmwareStatusNotification:
        station = self.require_station()
        data = {"status": str(status), "request_id": kwargs.get("request_id")}
        async with self.domain() as charging:
            await charging.status.notice(station.id, "firmware", data)
        return call_result.FirmwareStatusNotification()
