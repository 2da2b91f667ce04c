"""2.0.1 Security: SecurityEventNotification (kept in the audit log); DataTransfer."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action, DataTransferStatusEnumType

from ocpp_server.v201.common import Handler201


class Security201(Handler201):
    @on(Action.security_event_notification)
    async def on_security_event_notification(
        self, type: Any, timestamp: Any, **kwargs: Any
    ) -> call_result.SecurityEventNotification:
        station = self.require_station()
        data = {
            "type": str(type)[:50],
            "timestamp": str(timestamp),
            "tech_info": str(kwargs.get("tech_info") or "")[:255] or None,
        }
        async with self.domain() as charging:
            await charging.status.notice(station.id, "security_event", data, audit=True)
        return call_result.SecurityEventNotification()

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: Any, **kwargs: Any) -> call_result.DataTransfer:
        self.require_station()
        return call_result.DataTransfer(status=DataTransferStatusEnumType.unknown_vendor_id)
