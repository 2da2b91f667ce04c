"""1.6 Core: StartTransaction and StopTransaction (with its transactionData)."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from backend.domain.charging import StartRequest, StopRequest
from ocpp_server.base import as_int, parse_time
from ocpp_server.v16.common import Handler16, id_tag_info, readings


class Transactions16(Handler16):
    @on(Action.start_transaction)
    async def on_start_transaction(
        self, connector_id: Any, id_tag: Any, meter_start: Any, timestamp: Any, **kwargs: Any
    ) -> call_result.StartTransaction:
        station = self.require_station()
        request = StartRequest(
            evse_id=as_int(connector_id, "connectorId"),
            connector_number=1,
            started_at=parse_time(timestamp),
            meter_start_wh=as_int(meter_start, "meterStart"),
            id_tag=str(id_tag),
        )
        async with self.domain() as charging:
            result = await charging.sessions.start(station.id, request)
        assert result.authorization is not None
        return call_result.StartTransaction(
            transaction_id=int(result.transaction_id),
            id_tag_info=id_tag_info(result.authorization),
        )

    @on(Action.stop_transaction)
    async def on_stop_transaction(
        self, meter_stop: Any, timestamp: Any, transaction_id: Any, **kwargs: Any
    ) -> call_result.StopTransaction:
        station = self.require_station()
        request = StopRequest(
            stopped_at=parse_time(timestamp),
            meter_stop_wh=as_int(meter_stop, "meterStop"),
            reason=kwargs.get("reason"),
            id_tag=kwargs.get("id_tag"),
            readings=readings(kwargs.get("transaction_data")),
        )
        async with self.domain() as charging:
            result = await charging.sessions.stop(
                station.id, str(as_int(transaction_id, "transactionId")), request
            )
        # Always acknowledged, even for a transaction we do not know (it would be resent forever).
        if result.authorization is None:
            return call_result.StopTransaction()
        return call_result.StopTransaction(id_tag_info=id_tag_info(result.authorization))
