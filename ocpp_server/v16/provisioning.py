"""1.6 Core: BootNotification and Heartbeat."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action, RegistrationStatus

from backend.domain.charging import BootInfo
from ocpp_server.base import format_time
from ocpp_server.v16.common import Handler16

_STATUS = {
    "accepted": RegistrationStatus.accepted,
    "pending": RegistrationStatus.pending,
    "rejected": RegistrationStatus.rejected,
}


class Provisioning16(Handler16):
    @on(Action.boot_notification)
    async def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **kwargs: Any
    ) -> call_result.BootNotification:
        info = BootInfo(
            vendor=str(charge_point_vendor),
            model=str(charge_point_model),
            serial_number=kwargs.get("charge_point_serial_number")
            or kwargs.get("charge_box_serial_number"),
            firmware_version=kwargs.get("firmware_version"),
            ocpp_version="1.6",
        )
        result = await self.boot_station(info)
        return call_result.BootNotification(
            current_time=format_time(self.now()),
            interval=result.interval_s,
            status=_STATUS[result.status.value],
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self, **kwargs: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=format_time(await self.note_heartbeat()))
