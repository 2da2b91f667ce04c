"""The live cost of a session: `sessionCurve` events carry each new point's cumulated cost and
the session's running cost (minor units, currency), for whoever may read the session's cost;
the stream goes on after the stop until the connector is free again and the cost is final.
A real station (OCPP 1.6J over a websocket), real graphql-transport-ws clients."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ocpp.v16 import call as call16
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import (
    ChargingSession,
    MeterSample,
    RfidCard,
    Role,
    SiteRole,
)
from tests.billing.helpers import price_site
from tests.graphql_ws import GraphQLWs, graphql_ws
from tests.live_server import LiveServer
from tests.ocpp.conftest import BADGE, World, base_time, sessions_of, station, ts
from tests.ocpp.test_live import eventually

CURVE = (
    "subscription($id: ID!) { sessionCurve(sessionId: $id) { kind energyWh "
    "cost { currency totalExclVatMinor totalVatMinor totalInclVatMinor final } "
    "points { at energyWh costExclVatMinor costInclVatMinor } } }"
)


async def price_the_site(sessionmaker: async_sessionmaker[AsyncSession], world: World) -> None:
    """0.50 per session, 0.30 per kWh, 6.00 per hour parked (per minute); 20 % VAT."""
    await price_site(
        sessionmaker,
        world.site_id,
        world.driver_id,
        [
            {"type": "FLAT", "price": "0.50"},
            {"type": "ENERGY", "price": "0.30", "step_size": 1},
            {"type": "PARKING_TIME", "price": "6", "step_size": 60},
        ],
    )


def meter_values(transaction_id: int, at: datetime, wh: int, power_w: int) -> Any:
    return call16.MeterValues(
        connector_id=1,
        transaction_id=transaction_id,
        meter_value=[
            {
                "timestamp": ts(at),
                "sampled_value": [
                    {
                        "value": str(wh),
                        "measurand": "Energy.Active.Import.Register",
                        "unit": "Wh",
                    },
                    {"value": str(power_w), "measurand": "Power.Active.Import", "unit": "W"},
                ],
            }
        ],
    )


async def stored(
    sessionmaker: async_sessionmaker[AsyncSession], session_id: Any
) -> tuple[ChargingSession, dict[datetime, tuple[int | None, int | None]]]:
    async with sessionmaker() as db:
        charge = await db.get(ChargingSession, session_id)
        assert charge is not None
        rows = await db.execute(
            select(
                MeterSample.sampled_at,
                MeterSample.cost_excl_vat_minor,
                MeterSample.cost_incl_vat_minor,
            ).where(MeterSample.session_id == session_id)
        )
        return charge, {at: (excl, incl) for at, excl, incl in rows}


async def next_event(client: GraphQLWs, op: str, kind: str) -> dict[str, Any]:
    """The next event of this kind (updates still streaming may come first)."""
    while True:
        event: dict[str, Any] = (await client.next_data(op))["sessionCurve"]
        if event["kind"] == kind:
            return event


async def test_the_curve_streams_the_cost_until_it_is_final(
    ocpp_server: LiveServer,
    world: World,
    make_user: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await price_the_site(sessionmaker, world)
    driver = await make_user(sites={world.site_id: SiteRole.MEMBER})
    async with sessionmaker() as db:  # the badge becomes this driver's
        card = await db.scalar(select(RfidCard).where(RfidCard.uid == BADGE))
        assert card is not None
        card.user_id = driver.id
        await db.commit()
    manager = await make_user(sites={world.site_id: SiteRole.SITE_ADMIN})
    demo = await make_user(Role.DEMO)
    began = base_time()
    async with station(ocpp_server, "CP16") as cp:
        started = await cp.call(
            call16.StartTransaction(
                connector_id=1, id_tag=BADGE, meter_start=0, timestamp=ts(began)
            )
        )
        tx = started.transaction_id
        [charge] = await sessions_of(sessionmaker, world.station16)
        assert charge.tariff_id is not None
        async with (
            graphql_ws(ocpp_server.ws_url, token=driver.token) as mine,
            graphql_ws(ocpp_server.ws_url, token=manager.token) as managing,
            graphql_ws(ocpp_server.ws_url, token=demo.token) as watching,
        ):
            op = await mine.subscribe(CURVE, {"id": str(charge.id)})
            op_manager = await managing.subscribe(CURVE, {"id": str(charge.id)})
            op_demo = await watching.subscribe(CURVE, {"id": str(charge.id)})
            minute = [0]

            async def meter() -> None:
                minute[0] += 1
                at = began + timedelta(minutes=minute[0], seconds=30)
                await cp.call(meter_values(tx, at, 2000 * minute[0], 11_000))

            # The first reading the subscription hears of: its point is priced.
            event = (await eventually(mine, op, meter))["sessionCurve"]
            assert event["kind"] == "updated"
            cost = event["cost"]
            assert cost["currency"] == "EUR" and cost["final"] is False
            [point] = event["points"]
            row, samples = await stored(sessionmaker, charge.id)
            at = datetime.fromisoformat(point["at"])
            assert (point["costExclVatMinor"], point["costInclVatMinor"]) == samples[at]
            assert point["costInclVatMinor"] > 0
            # The running cost is the session's, as stored after this reading.
            assert cost["totalExclVatMinor"] == row.cost_excl_vat_minor
            assert cost["totalVatMinor"] == row.cost_vat_minor
            assert cost["totalInclVatMinor"] == row.cost_incl_vat_minor

            # It grows with the energy, reading after reading.
            totals = [cost["totalInclVatMinor"]]
            for _ in range(3):
                await meter()
                later = await next_event(mine, op, "updated")
                assert later["cost"]["totalInclVatMinor"] > totals[-1]
                assert later["points"][0]["costInclVatMinor"] is not None
                totals.append(later["cost"]["totalInclVatMinor"])
            row, _ = await stored(sessionmaker, charge.id)
            assert totals[-1] == row.cost_incl_vat_minor

            # Its site's manager and demo users follow the cost too (ChargingSession.cost's rule).
            for client, op_id in ((managing, op_manager), (watching, op_demo)):
                seen = await next_event(client, op_id, "updated")
                assert seen["cost"]["currency"] == "EUR"
                assert seen["points"][0]["costInclVatMinor"] is not None

            # Stopped: the cost is not final while the car still holds the connector.
            stop_at = began + timedelta(minutes=minute[0] + 1)
            await cp.call(
                call16.StopTransaction(
                    meter_stop=2000 * minute[0] + 500,
                    timestamp=ts(stop_at),
                    transaction_id=tx,
                    reason="EVDisconnected",
                )
            )
            stopped = await next_event(mine, op, "stopped")
            assert stopped["cost"]["final"] is False
            assert stopped["cost"]["totalInclVatMinor"] > totals[-1]

            # Free again three minutes later: three minutes of parking, and the final cost.
            await cp.call(
                call16.StatusNotification(
                    connector_id=1,
                    error_code="NoError",
                    status="Available",
                    timestamp=ts(stop_at + timedelta(minutes=3)),
                )
            )
            priced = await next_event(mine, op, "priced")
            row, _ = await stored(sessionmaker, charge.id)
            assert row.available_at is not None
            final = priced["cost"]
            assert final["final"] is True
            assert final["totalInclVatMinor"] == row.cost_incl_vat_minor
            assert final["totalExclVatMinor"] == row.cost_excl_vat_minor
            parking = next(
                line for line in row.cost_lines or [] if line["dimension"] == "PARKING_TIME"
            )
            assert parking["amount_excl_vat"] == "0.30"  # 3 min at 6.00 an hour
            assert final["totalInclVatMinor"] > stopped["cost"]["totalInclVatMinor"]
            # The session is over: the stream ends.
            assert (await mine.receive(op))["type"] == "complete"


async def test_without_a_tariff_there_is_no_cost_and_the_stop_ends_the_stream(
    ocpp_server: LiveServer,
    world: World,
    make_user: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    admin = await make_user(Role.ADMIN)
    began = base_time()
    async with station(ocpp_server, "CP16") as cp:
        started = await cp.call(
            call16.StartTransaction(
                connector_id=1, id_tag=BADGE, meter_start=0, timestamp=ts(began)
            )
        )
        [charge] = await sessions_of(sessionmaker, world.station16)
        assert charge.tariff_id is None
        async with graphql_ws(ocpp_server.ws_url, token=admin.token) as client:
            op = await client.subscribe(CURVE, {"id": str(charge.id)})
            minute = [0]

            async def meter() -> None:
                minute[0] += 1
                at = began + timedelta(minutes=minute[0])
                await cp.call(meter_values(started.transaction_id, at, 1000 * minute[0], 7000))

            event = (await eventually(client, op, meter))["sessionCurve"]
            assert event["cost"] is None
            assert event["points"][0]["costInclVatMinor"] is None
            await cp.call(
                call16.StopTransaction(
                    meter_stop=1000 * minute[0],
                    timestamp=ts(began + timedelta(minutes=minute[0] + 1)),
                    transaction_id=started.transaction_id,
                )
            )
            stopped = await next_event(client, op, "stopped")
            assert stopped["cost"] is None
            assert (await client.receive(op))["type"] == "complete"
