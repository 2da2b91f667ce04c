"""The `ocpp` library's default handling path, the yardstick of bench/ocpp_ingest.

What a straightforward CSMS on the library does: a `ChargePoint` subclass per station, its
`@on` handlers, the library's own routing and schema validation (in a thread, as the library
does by default, on the call and on the answer), and each MeterValues / TransactionEvent
written in its own database transaction with the same ORM models as VEV-IQ. It is served by
the same uvicorn + Starlette websocket as VEV-IQ, so that only the handling path differs.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import ChargingSession, ChargingStation, MeterSample
from ocpp_server.connection import StarletteConnection

ENERGY = "Energy.Active.Import.Register"


def _sample(session_id: uuid.UUID, meter_value: dict[str, Any]) -> MeterSample:
    values: dict[str, float] = {}
    for sampled in meter_value.get("sampled_value") or []:
        if sampled.get("phase"):
            continue
        values[sampled.get("measurand") or ENERGY] = float(sampled["value"])
    return MeterSample(
        session_id=session_id,
        sampled_at=datetime.fromisoformat(meter_value["timestamp"].replace("Z", "+00:00")),
        energy_wh=_int(values.get(ENERGY)),
        power_w=_int(values.get("Power.Active.Import")),
        soc_percent=_int(values.get("SoC")),
    )


def _int(value: float | None) -> int | None:
    return None if value is None else round(value)


async def _write(
    sessionmaker: async_sessionmaker[AsyncSession],
    station_id: uuid.UUID,
    transaction_id: str,
    meter_values: list[dict[str, Any]],
) -> None:
    """One transaction per message: find the session, add the samples, update its totals."""
    async with sessionmaker() as db:
        charging = await db.scalar(
            select(ChargingSession).where(
                ChargingSession.station_id == station_id,
                ChargingSession.ocpp_transaction_id == transaction_id,
            )
        )
        if charging is None:
            return
        for meter_value in meter_values:
            row = _sample(charging.id, meter_value)
            db.add(row)
            if row.energy_wh is not None:
                charging.energy_wh = row.energy_wh - charging.meter_start_wh
                charging.last_meter_wh = row.energy_wh
            charging.instant_power_w = row.power_w or 0
            charging.last_sample_at = row.sampled_at
        await db.commit()


class Baseline16(ChargePoint16):
    def __init__(self, identity: str, connection: Any, station_id: uuid.UUID, maker: Any):
        super().__init__(identity, connection)
        self.station_id = station_id
        self.maker = maker

    @on(Action16.heartbeat)
    async def on_heartbeat(self, **kwargs: Any) -> result16.Heartbeat:
        return result16.Heartbeat(current_time=datetime.now().astimezone().isoformat())

    @on(Action16.meter_values)
    async def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **kwargs: Any
    ) -> result16.MeterValues:
        await _write(self.maker, self.station_id, str(kwargs["transaction_id"]), meter_value)
        return result16.MeterValues()


class Baseline201(ChargePoint201):
    def __init__(self, identity: str, connection: Any, station_id: uuid.UUID, maker: Any):
        super().__init__(identity, connection)
        self.station_id = station_id
        self.maker = maker

    @on(Action201.heartbeat)
    async def on_heartbeat(self, **kwargs: Any) -> result201.Heartbeat:
        return result201.Heartbeat(current_time=datetime.now().astimezone().isoformat())

    @on(Action201.transaction_event)
    async def on_transaction_event(
        self, event_type: str, timestamp: str, transaction_info: dict[str, Any], **kwargs: Any
    ) -> result201.TransactionEvent:
        await _write(
            self.maker,
            self.station_id,
            str(transaction_info["transaction_id"]),
            kwargs.get("meter_value") or [],
        )
        return result201.TransactionEvent()


def create_baseline_app(url: str) -> Starlette:
    engine = create_engine(url)
    maker = create_sessionmaker(engine)

    async def endpoint(websocket: WebSocket) -> None:
        identity = websocket.path_params["station_id"]
        offered = list(websocket.scope.get("subprotocols") or [])
        protocol = "ocpp2.0.1" if "ocpp2.0.1" in offered else "ocpp1.6"
        async with maker() as db:
            station_id = await db.scalar(
                select(ChargingStation.id).where(ChargingStation.ocpp_identity == identity)
            )
        if station_id is None:
            await websocket.close(code=1008)
            return
        await websocket.accept(subprotocol=protocol)
        kind = Baseline201 if protocol == "ocpp2.0.1" else Baseline16
        cp = kind(identity, StarletteConnection(websocket), station_id, maker)
        try:
            await cp.start()
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[WebSocketRoute("/ocpp/{station_id}", endpoint)])
