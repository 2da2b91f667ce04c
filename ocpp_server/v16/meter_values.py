"""1.6 Core: MeterValues (of a transaction, or of whatever session is open on the connector),
through the write-behind batcher: answered once committed."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from backend.domain.charging import ReadingsRequest
from ocpp_server.base import as_int
from ocpp_server.v16.common import Handler16, readings


class MeterValues16(Handler16):
    @on(Action.meter_values)
    async def on_meter_values(
        self, connector_id: Any, meter_value: Any, **kwargs: Any
    ) -> call_result.MeterValues:
        station = self.require_station()
        transaction_id = kwargs.get("transaction_id")
        request = ReadingsRequest(
            station.id,
            readings(meter_value),
            transaction_id=None
            if transaction_id is None
            else str(as_int(transaction_id, "transactionId")),
            evse_id=as_int(connector_id, "connectorId"),
        )
        if request.readings:  # none: nothing to record (the domain would drop them)
            await self.record_readings(request)
        return call_result.MeterValues()
