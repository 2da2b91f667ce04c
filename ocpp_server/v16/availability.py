"""1.6 Core: StatusNotification. Connector N is EVSE N, connector 1; connector 0 the station."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from ocpp_server.base import as_int, parse_time
from ocpp_server.v16.common import Handler16


class Availability16(Handler16):
    @on(Action.status_notification)
    async def on_status_notification(
        self, connector_id: Any, error_code: Any, status: Any, **kwargs: Any
    ) -> call_result.StatusNotification:
        station = self.require_station()
        number = as_int(connector_id, "connectorId")
        at = parse_time(kwargs["timestamp"]) if kwargs.get("timestamp") else None
        async with self.domain() as charging:
            await charging.status.connector_status(
                station.id, number, 1 if number else 0, str(status), str(error_code), at
            )
        self.touched()
        return call_result.StatusNotification()
