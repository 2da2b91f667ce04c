"""2.0.1 Availability: StatusNotification (per EVSE and connector)."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action

from ocpp_server.base import as_int, parse_time
from ocpp_server.v201.common import Handler201


class Availability201(Handler201):
    @on(Action.status_notification)
    async def on_status_notification(
        self, timestamp: Any, connector_status: Any, evse_id: Any, connector_id: Any, **kwargs: Any
    ) -> call_result.StatusNotification:
        station = self.require_station()
        async with self.domain() as charging:
            await charging.status.connector_status(
                station.id,
                as_int(evse_id, "evseId"),
                as_int(connector_id, "connectorId"),
                str(connector_status),
                None,
                parse_time(timestamp),
            )
        self.touched()
        return call_result.StatusNotification()
