"""2.0.1 Meter values outside TransactionEvent: put in the session open on that EVSE."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action

from ocpp_server.base import as_int
from ocpp_server.v201.common import Handler201, readings


class MeterValues201(Handler201):
    @on(Action.meter_values)
    async def on_meter_values(
        self, evse_id: Any, meter_value: Any, **kwargs: Any
    ) -> call_result.MeterValues:
        station = self.require_station()
        async with self.domain() as charging:
            await charging.sessions.record_readings(
                station.id, readings(meter_value), evse_id=as_int(evse_id, "evseId")
            )
        return call_result.MeterValues()
