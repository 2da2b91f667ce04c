"""2.0.1 Provisioning: BootNotification and Heartbeat."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action, RegistrationStatusEnumType

from backend.domain.charging import BootInfo
from ocpp_server.base import format_time
from ocpp_server.v201.common import Handler201

_STATUS = {
    "accepted": RegistrationStatusEnumType.accepted,
    "pending": RegistrationStatusEnumType.pending,
    "rejected": RegistrationStatusEnumType.rejected,
}


class Provisioning201(Handler201):
    @on(Action.boot_notification)
    async def on_boot_notification(
        self, charging_station: Any, reason: Any = None, **kwargs: Any
    ) -> call_result.BootNotification:
        station = charging_station if isinstance(charging_station, dict) else {}
        info = BootInfo(
            vendor=station.get("vendor_name"),
            model=station.get("model"),
            serial_number=station.get("serial_number"),
            firmware_version=station.get("firmware_version"),
            ocpp_version="2.0.1",
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
