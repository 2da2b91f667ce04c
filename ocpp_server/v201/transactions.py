"""2.0.1 Transactions: TransactionEvent Started / Updated / Ended, onto the same domain calls
as 1.6 Start/MeterValues/StopTransaction. An Updated or Ended whose Started never came (or
comes later) opens the session from what it carries. Updated without a badge (meter values,
most of the traffic) goes through the write-behind batcher: answered once committed."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action

from backend.domain.charging import ReadingsRequest, StartRequest, StopRequest
from ocpp_server.base import CallError, as_int, parse_time
from ocpp_server.v201.common import Handler201, id_token_info, id_token_of, readings


class Transactions201(Handler201):
    @on(Action.transaction_event)
    async def on_transaction_event(
        self, event_type: Any, timestamp: Any, transaction_info: Any, **kwargs: Any
    ) -> call_result.TransactionEvent:
        station = self.require_station()
        if not isinstance(transaction_info, dict) or not transaction_info.get("transaction_id"):
            raise CallError(self.OCCURRENCE_VIOLATION, "transactionInfo.transactionId is required.")
        transaction_id = str(transaction_info["transaction_id"])
        at = parse_time(timestamp)
        evse = kwargs.get("evse") if isinstance(kwargs.get("evse"), dict) else {}
        assert isinstance(evse, dict)
        token = id_token_of(kwargs.get("id_token"))
        values = readings(kwargs.get("meter_value"))
        start = StartRequest(
            evse_id=as_int(evse.get("id", 1), "evse.id"),
            connector_number=as_int(evse.get("connector_id", 1), "evse.connectorId"),
            started_at=at,
            meter_start_wh=None,
            id_tag=token,
            transaction_id=transaction_id,
            readings=values,
        )
        if event_type == "Updated" and token is None:
            await self.record_readings(
                ReadingsRequest(
                    station.id,
                    values,
                    transaction_id=transaction_id,
                    start=StartRequest(**{**start.__dict__, "readings": ()}),
                )
            )
            return call_result.TransactionEvent()
        authorization = None
        async with self.domain() as charging:
            sessions = charging.sessions
            if event_type == "Started":
                authorization = (await sessions.start(station.id, start)).authorization
            else:
                known = await sessions.find(station.id, transaction_id)
                if known is None:
                    result = await sessions.start(
                        station.id, StartRequest(**{**start.__dict__, "readings": ()})
                    )
                    authorization = result.authorization
                elif token is not None:
                    authorization = await sessions.identify(station.id, transaction_id, token)
                if event_type == "Ended":
                    await sessions.stop(
                        station.id,
                        transaction_id,
                        StopRequest(
                            stopped_at=at,
                            meter_stop_wh=None,
                            reason=transaction_info.get("stopped_reason") or "Local",
                            readings=values,
                        ),
                    )
                else:
                    await sessions.record_readings(
                        station.id, values, transaction_id=transaction_id
                    )
        if token is None or authorization is None:
            return call_result.TransactionEvent()
        return call_result.TransactionEvent(id_token_info=id_token_info(authorization))
