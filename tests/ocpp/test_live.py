"""Live data and connectivity: GraphQL subscriptions over graphql-transport-ws, fed by real
stations (every subscription root against every role, like the permission matrix does for
queries and mutations); offline marking on close and by the heartbeat sweep."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
import websockets
from ocpp.v16 import call as call16
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import ChargingStation, RfidCard, Role, SiteRole
from backend.domain.charging.status import StationStatus
from backend.events import CollectingBus, StationStatusChanged
from backend.graphql.schema import build_schema
from backend.settings import Settings
from tests.conftest import Api
from tests.graphql_ws import GraphQLWs, graphql_ws
from tests.live_server import LiveServer
from tests.ocpp.conftest import BADGE, World, base_time, sessions_of, station, ts

STATUS = (
    "subscription($site: ID) { stationStatus(siteId: $site) { kind stationId siteId "
    "ocppIdentity connected status connectorNumber } }"
)
CURVE = (
    "subscription($id: ID!) { sessionCurve(sessionId: $id) { kind sessionId energyWh "
    "instantPowerW points { at energyWh powerW currentA socPercent } } }"
)


async def eventually(
    client: GraphQLWs, op: str, poke: Any, wanted: Any = None, tries: int = 20
) -> dict[str, Any]:
    """Poke until the subscription (live some time after `subscribe`) sees the wanted event."""
    for _ in range(tries):
        await poke()
        try:
            while True:
                data = await client.next_data(op, wait_s=0.5)
                if wanted is None or wanted(data):
                    return data
        except TimeoutError:
            continue
    raise AssertionError("no event arrived")


def connector_event(data: dict[str, Any]) -> bool:
    return bool(data["stationStatus"]["kind"] == "connector")


def _status_poke(cp: Any, connector: int = 1) -> Any:
    async def poke() -> None:
        await cp.call(
            call16.StatusNotification(
                connector_id=connector,
                error_code="NoError",
                status="Available",
                timestamp=ts(utcnow()),
            )
        )

    return poke


async def test_station_status_with_bearer_in_connection_params(
    ocpp_server: LiveServer, world: World, make_user: Any
) -> None:
    admin = await make_user(Role.ADMIN)
    async with (
        graphql_ws(ocpp_server.ws_url, token=admin.token) as client,
        station(ocpp_server, "CP16") as cp,
    ):
        op = await client.subscribe(STATUS)
        data = await eventually(client, op, _status_poke(cp), connector_event)
        event = data["stationStatus"]
        assert event["stationId"] == str(world.station16)
        assert event["siteId"] == str(world.site_id)
        assert event["kind"] == "connector"
        assert event["status"] == "Available" and event["connectorNumber"] == 1


async def test_drivers_see_only_their_sites_with_the_cookie(
    ocpp_server: LiveServer, world: World, make_user: Any
) -> None:
    member = await make_user(sites={world.site_id: SiteRole.MEMBER})
    outsider = await make_user()
    async with (
        graphql_ws(ocpp_server.ws_url, cookie=member.token) as mine,
        graphql_ws(ocpp_server.ws_url, cookie=outsider.token) as theirs,
        station(ocpp_server, "CP16") as cp,
    ):
        op_mine = await mine.subscribe(STATUS, {"site": str(world.site_id)})
        op_all = await theirs.subscribe(STATUS)
        data = await eventually(mine, op_mine, _status_poke(cp), connector_event)
        assert data["stationStatus"]["stationId"] == str(world.station16)
        with pytest.raises(TimeoutError):
            await theirs.next_data(op_all, wait_s=1)
        op_site = await theirs.subscribe(STATUS, {"site": str(world.site_id)})
        assert await theirs.error_code(op_site) == "NOT_FOUND"


async def test_anonymous_and_bad_tokens_are_refused(ocpp_server: LiveServer) -> None:
    async with graphql_ws(ocpp_server.ws_url) as client:
        op = await client.subscribe(STATUS)
        assert await client.error_code(op) == "UNAUTHENTICATED"
    with pytest.raises((AssertionError, websockets.ConnectionClosed)):
        async with graphql_ws(ocpp_server.ws_url, token="not-a-token"):
            pass


async def test_cross_site_websocket_with_cookie_is_refused(
    ocpp_server: LiveServer, make_user: Any
) -> None:
    person = await make_user(Role.ADMIN)
    with pytest.raises(websockets.InvalidStatus):
        async with graphql_ws(
            ocpp_server.ws_url, cookie=person.token, origin="https://evil.example"
        ):
            pass


async def test_session_curve_for_its_driver_managers_and_admins_only(
    ocpp_server: LiveServer,
    world: World,
    make_user: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    driver = await make_user(sites={world.site_id: SiteRole.MEMBER})
    fellow = await make_user(sites={world.site_id: SiteRole.MEMBER})
    demo = await make_user(Role.DEMO)
    manager = await make_user(sites={world.site_id: SiteRole.SITE_ADMIN})
    async with sessionmaker() as db:
        card = await db.scalar(select(RfidCard).where(RfidCard.uid == BADGE))
        assert card is not None
        card.user_id = driver.id
        await db.commit()
    began = base_time()
    async with station(ocpp_server, "CP16") as cp:
        started = await cp.call(
            call16.StartTransaction(
                connector_id=1, id_tag=BADGE, meter_start=0, timestamp=ts(began)
            )
        )
        [charge] = await sessions_of(sessionmaker, world.station16)
        async with (
            graphql_ws(ocpp_server.ws_url, token=driver.token) as mine,
            graphql_ws(ocpp_server.ws_url, token=demo.token) as watcher,
            graphql_ws(ocpp_server.ws_url, token=fellow.token) as other,
            graphql_ws(ocpp_server.ws_url, token=manager.token) as site_admin,
        ):
            refused = await other.subscribe(CURVE, {"id": str(charge.id)})
            assert await other.error_code(refused) == "FORBIDDEN"
            op = await mine.subscribe(CURVE, {"id": str(charge.id)})
            op_demo = await watcher.subscribe(CURVE, {"id": str(charge.id)})
            op_manager = await site_admin.subscribe(CURVE, {"id": str(charge.id)})
            minute = [0]

            async def meter() -> None:
                minute[0] += 1
                await cp.call(
                    call16.MeterValues(
                        connector_id=1,
                        transaction_id=started.transaction_id,
                        meter_value=[
                            {
                                "timestamp": ts(began + timedelta(minutes=minute[0])),
                                "sampled_value": [
                                    {
                                        "value": str(1000 * minute[0]),
                                        "measurand": "Energy.Active.Import.Register",
                                        "unit": "Wh",
                                    },
                                    {
                                        "value": "7000",
                                        "measurand": "Power.Active.Import",
                                        "unit": "W",
                                    },
                                ],
                            }
                        ],
                    )
                )

            data = await eventually(mine, op, meter)
            event = data["sessionCurve"]
            assert event["kind"] == "updated" and event["sessionId"] == str(charge.id)
            assert event["points"][0]["powerW"] == 7000
            assert (await watcher.next_data(op_demo, wait_s=5))["sessionCurve"]["kind"] == "updated"
            managed = await site_admin.next_data(op_manager, wait_s=5)
            assert managed["sessionCurve"]["kind"] == "updated"


async def test_closing_the_socket_marks_the_station_offline_at_once(
    ocpp_server: LiveServer, world: World, make_user: Any
) -> None:
    admin = await make_user(Role.ADMIN)
    query = "query($id: ID!) { station(id: $id) { online } }"
    async with httpx.AsyncClient(base_url=ocpp_server.url) as client:
        api = Api(client)
        async with station(ocpp_server, "CP16") as cp:
            await cp.call(call16.Heartbeat())
            data = await api.ok(query, {"id": str(world.station16)}, token=admin.token)
            assert data["station"]["online"] is True
        for _ in range(50):
            data = await api.ok(query, {"id": str(world.station16)}, token=admin.token)
            if data["station"]["online"] is False:
                break
            await asyncio.sleep(0.1)
        assert data["station"]["online"] is False


async def test_the_sweep_marks_silent_stations_offline_once_even_when_run_concurrently(
    sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    long_ago = utcnow() - timedelta(minutes=30)
    async with sessionmaker() as db:
        await db.execute(
            update(ChargingStation)
            .where(ChargingStation.id == world.station16)
            .values(last_seen_at=long_ago, offline_at=None)
        )
        await db.execute(
            update(ChargingStation)
            .where(ChargingStation.id == world.station201)
            .values(last_seen_at=utcnow(), offline_at=None)
        )
        await db.commit()
    buses = [CollectingBus() for _ in range(4)]

    async def sweep(bus: CollectingBus) -> list[Any]:
        async with sessionmaker() as db:
            return await StationStatus(db, bus).mark_stale_offline()

    results = await asyncio.gather(*(sweep(bus) for bus in buses))
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    events = [e for bus in buses for e in bus.of(StationStatusChanged)]
    assert [(e.station_id, e.connected) for e in events] == [(world.station16, False)]
    # Nothing new: nothing marked again. Heard from again, then silent: marked again.
    assert await sweep(CollectingBus()) == []
    async with sessionmaker() as db:
        await db.execute(
            update(ChargingStation)
            .where(ChargingStation.id == world.station16)
            .values(
                last_seen_at=utcnow() - timedelta(minutes=11),
                offline_at=utcnow() - timedelta(minutes=20),
            )
        )
        await db.commit()
    assert await sweep(CollectingBus()) == [world.station16]


async def test_registration_details_reach_managers_only(
    ocpp_server: LiveServer, world: World, make_user: Any
) -> None:
    query = "subscription { stationStatus { kind registrationStatus } }"
    manager = await make_user(sites={world.site_id: SiteRole.SITE_ADMIN})
    driver = await make_user(sites={world.site_id: SiteRole.MEMBER})
    async with (
        graphql_ws(ocpp_server.ws_url, token=manager.token) as managing,
        graphql_ws(ocpp_server.ws_url, token=driver.token) as driving,
        station(ocpp_server, "CP16") as cp,
    ):
        op_m = await managing.subscribe(query)
        op_d = await driving.subscribe(query)
        data = await eventually(managing, op_m, _status_poke(cp, 0))
        assert data["stationStatus"]["registrationStatus"] == "ACCEPTED"
        message = await driving.receive(op_d)
        assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


SUBSCRIPTION_ROLES = ("anonymous", "driver", "member", "other", "demo", "site_admin", "admin")
# What each role gets from each subscription root: an event, nothing (filtered out), or the
# error code that ends the subscription. A new subscription root fails the schema check below
# until it is listed here and exercised in the test that follows.
EXPECTED_SUBSCRIPTIONS: dict[str, dict[str, str]] = {
    "stationStatus(siteId)": {
        "anonymous": "UNAUTHENTICATED",
        "driver": "event",
        "member": "event",
        "other": "NOT_FOUND",
        "demo": "event",
        "site_admin": "event",
        "admin": "event",
    },
    "stationStatus": {
        "anonymous": "UNAUTHENTICATED",
        "driver": "event",
        "member": "event",
        "other": "nothing",
        "demo": "event",
        "site_admin": "event",
        "admin": "event",
    },
    "sessionCurve": {
        "anonymous": "UNAUTHENTICATED",
        "driver": "event",
        "member": "FORBIDDEN",
        "other": "FORBIDDEN",
        "demo": "event",
        "site_admin": "event",
        "admin": "event",
    },
}


def test_every_subscription_root_has_expectations() -> None:
    schema = build_schema(Settings())._schema
    assert schema.subscription_type is not None
    roots = {name.split("(")[0] for name in EXPECTED_SUBSCRIPTIONS}
    assert set(schema.subscription_type.fields) == roots


async def test_every_subscription_against_every_role(
    ocpp_server: LiveServer,
    world: World,
    make_user: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    people = {
        "driver": await make_user(sites={world.site_id: SiteRole.MEMBER}),
        "member": await make_user(sites={world.site_id: SiteRole.MEMBER}),
        "other": await make_user(),
        "demo": await make_user(Role.DEMO),
        "site_admin": await make_user(sites={world.site_id: SiteRole.SITE_ADMIN}),
        "admin": await make_user(Role.ADMIN),
    }
    async with sessionmaker() as db:
        card = await db.scalar(select(RfidCard).where(RfidCard.uid == BADGE))
        assert card is not None
        card.user_id = people["driver"].id
        await db.commit()
    began = base_time()
    got: dict[str, dict[str, str]] = {name: {} for name in EXPECTED_SUBSCRIPTIONS}
    meter = [0]  # minutes of the session's readings so far
    async with station(ocpp_server, "CP16") as cp:
        started = await cp.call(
            call16.StartTransaction(
                connector_id=1, id_tag=BADGE, meter_start=0, timestamp=ts(began)
            )
        )
        [charge] = await sessions_of(sessionmaker, world.station16)
        for role in SUBSCRIPTION_ROLES:
            person = people.get(role)
            token = person.token if person else None
            # One socket per subscription: a client reading one operation's messages must not
            # swallow another's.
            async with (
                graphql_ws(ocpp_server.ws_url, token=token) as by_site,
                graphql_ws(ocpp_server.ws_url, token=token) as every,
                graphql_ws(ocpp_server.ws_url, token=token) as curve,
            ):
                ops = {
                    "stationStatus(siteId)": (
                        by_site,
                        await by_site.subscribe(STATUS, {"site": str(world.site_id)}),
                    ),
                    "stationStatus": (every, await every.subscribe(STATUS)),
                    "sessionCurve": (
                        curve,
                        await curve.subscribe(CURVE, {"id": str(charge.id)}),
                    ),
                }
                # Poke until every subscription answered (listening may take a moment on a
                # shared bus); what still has nothing after a few seconds gets nothing.
                pending = dict(ops)
                deadline = asyncio.get_running_loop().time() + 6
                while pending and asyncio.get_running_loop().time() < deadline:
                    await _status_poke(cp)()
                    meter[0] += 1
                    await cp.call(
                        call16.MeterValues(
                            connector_id=1,
                            transaction_id=started.transaction_id,
                            meter_value=[
                                {
                                    "timestamp": ts(began + timedelta(minutes=meter[0])),
                                    "sampled_value": [
                                        {
                                            "value": str(1000 * meter[0]),
                                            "measurand": "Energy.Active.Import.Register",
                                            "unit": "Wh",
                                        }
                                    ],
                                }
                            ],
                        )
                    )
                    for name, (client, op) in list(pending.items()):
                        try:
                            message = await client.receive(op, wait_s=0.4)
                        except TimeoutError:
                            continue
                        del pending[name]
                        if message["type"] == "next" and not message["payload"].get("errors"):
                            got[name][role] = "event"
                        else:
                            got[name][role] = await _code(message)
                for name in pending:
                    got[name][role] = "nothing"
    assert got == EXPECTED_SUBSCRIPTIONS


async def _code(message: dict[str, Any]) -> str:
    payload = message["payload"]
    errors = payload if message["type"] == "error" else payload["errors"]
    return str(errors[0].get("extensions", {}).get("code", errors[0]["message"]))
