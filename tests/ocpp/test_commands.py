"""Commands to stations through GraphQL, against the live server and real station clients.

Every command of both OCPP versions reaches the station and its answer comes back; rights
(drivers start on their site with their own card and stop their own session; managers do
everything); STATION_OFFLINE, STATION_TIMEOUT, STATION_REJECTED; one call in flight.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as r16
from ocpp.v16.enums import Action as A16
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as r201
from ocpp.v201.enums import Action as A201
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import RfidCard, Role, SiteRole
from backend.settings import Settings
from tests.conftest import Api
from tests.live_server import LiveServer
from tests.ocpp.conftest import World, base_time, headers, sessions_of, ts, url

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Recorder:
    """What a test station received, and how long it makes the CSMS wait."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.delay = 0.0

    async def got(self, action: str, **payload: Any) -> None:
        self.received.append((action, payload))
        if self.delay:
            await asyncio.sleep(self.delay)


class CommandStation16(Cp16):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rec = Recorder()

    @on(A16.remote_start_transaction)
    async def remote_start(self, **kw: Any) -> Any:
        await self.rec.got("RemoteStartTransaction", **kw)
        return r16.RemoteStartTransaction(status="Accepted")

    @on(A16.remote_stop_transaction)
    async def remote_stop(self, **kw: Any) -> Any:
        await self.rec.got("RemoteStopTransaction", **kw)
        return r16.RemoteStopTransaction(status="Accepted")

    @on(A16.reset)
    async def reset(self, **kw: Any) -> Any:
        await self.rec.got("Reset", **kw)
        return r16.Reset(status="Accepted")

    @on(A16.unlock_connector)
    async def unlock(self, **kw: Any) -> Any:
        await self.rec.got("UnlockConnector", **kw)
        return r16.UnlockConnector(status="Unlocked")

    @on(A16.change_availability)
    async def availability(self, **kw: Any) -> Any:
        await self.rec.got("ChangeAvailability", **kw)
        return r16.ChangeAvailability(status="Scheduled")

    @on(A16.get_configuration)
    async def get_configuration(self, key: list[str] | None = None, **kw: Any) -> Any:
        await self.rec.got("GetConfiguration", key=key)
        known = {"HeartbeatInterval": ("300", False), "ChargePointId": ("X", True)}
        keys = key or list(known)
        return r16.GetConfiguration(
            configuration_key=[
                {"key": k, "value": known[k][0], "readonly": known[k][1]}
                for k in keys
                if k in known
            ],
            unknown_key=[k for k in keys if k not in known] or None,
        )

    @on(A16.change_configuration)
    async def change_configuration(self, **kw: Any) -> Any:
        await self.rec.got("ChangeConfiguration", **kw)
        return r16.ChangeConfiguration(status="RebootRequired")

    @on(A16.trigger_message)
    async def trigger(self, **kw: Any) -> Any:
        await self.rec.got("TriggerMessage", **kw)
        return r16.TriggerMessage(status="Accepted")

    @on(A16.update_firmware)
    async def firmware(self, **kw: Any) -> Any:
        await self.rec.got("UpdateFirmware", **kw)
        return r16.UpdateFirmware()

    @on(A16.set_charging_profile)
    async def set_profile(self, **kw: Any) -> Any:
        await self.rec.got("SetChargingProfile", **kw)
        return r16.SetChargingProfile(status="Accepted")

    @on(A16.clear_charging_profile)
    async def clear_profile(self, **kw: Any) -> Any:
        await self.rec.got("ClearChargingProfile", **kw)
        return r16.ClearChargingProfile(status="Unknown")

    @on(A16.get_composite_schedule)
    async def composite(self, **kw: Any) -> Any:
        await self.rec.got("GetCompositeSchedule", **kw)
        return r16.GetCompositeSchedule(
            status="Accepted",
            connector_id=kw["connector_id"],
            charging_schedule={
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": 16.0}],
            },
        )

    # No ClearCache handler: the station answers NotImplemented (a CALLERROR).


class CommandStation201(Cp201):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rec = Recorder()

    @on(A201.request_start_transaction)
    async def on_request_start(self, **kw: Any) -> Any:
        await self.rec.got("RequestStartTransaction", **kw)
        return r201.RequestStartTransaction(status="Accepted")

    @on(A201.request_stop_transaction)
    async def on_request_stop(self, **kw: Any) -> Any:
        await self.rec.got("RequestStopTransaction", **kw)
        return r201.RequestStopTransaction(status="Accepted")

    @on(A201.reset)
    async def reset(self, **kw: Any) -> Any:
        await self.rec.got("Reset", **kw)
        return r201.Reset(status="Scheduled")

    @on(A201.unlock_connector)
    async def unlock(self, **kw: Any) -> Any:
        await self.rec.got("UnlockConnector", **kw)
        return r201.UnlockConnector(status="Unlocked")

    @on(A201.change_availability)
    async def availability(self, **kw: Any) -> Any:
        await self.rec.got("ChangeAvailability", **kw)
        return r201.ChangeAvailability(status="Accepted")

    @on(A201.get_variables)
    async def get_variables(self, get_variable_data: list[dict[str, Any]], **kw: Any) -> Any:
        await self.rec.got("GetVariables", get_variable_data=get_variable_data)
        results = []
        for item in get_variable_data:
            known = item["variable"]["name"] == "HeartbeatInterval"
            results.append(
                {
                    "attribute_status": "Accepted" if known else "UnknownVariable",
                    "component": item["component"],
                    "variable": item["variable"],
                    **({"attribute_value": "300"} if known else {}),
                }
            )
        return r201.GetVariables(get_variable_result=results)

    @on(A201.set_variables)
    async def set_variables(self, set_variable_data: list[dict[str, Any]], **kw: Any) -> Any:
        await self.rec.got("SetVariables", set_variable_data=set_variable_data)
        item = set_variable_data[0]
        return r201.SetVariables(
            set_variable_result=[
                {
                    "attribute_status": "Accepted",
                    "component": item["component"],
                    "variable": item["variable"],
                }
            ]
        )

    @on(A201.trigger_message)
    async def trigger(self, **kw: Any) -> Any:
        await self.rec.got("TriggerMessage", **kw)
        return r201.TriggerMessage(status="Accepted")

    @on(A201.clear_cache)
    async def clear_cache(self, **kw: Any) -> Any:
        await self.rec.got("ClearCache", **kw)
        return r201.ClearCache(status="Accepted")

    @on(A201.update_firmware)
    async def firmware(self, **kw: Any) -> Any:
        await self.rec.got("UpdateFirmware", **kw)
        return r201.UpdateFirmware(status="Accepted")

    @on(A201.set_charging_profile)
    async def set_profile(self, **kw: Any) -> Any:
        await self.rec.got("SetChargingProfile", **kw)
        return r201.SetChargingProfile(status="Accepted")

    @on(A201.clear_charging_profile)
    async def clear_profile(self, **kw: Any) -> Any:
        await self.rec.got("ClearChargingProfile", **kw)
        return r201.ClearChargingProfile(status="Accepted")

    @on(A201.get_composite_schedule)
    async def composite(self, **kw: Any) -> Any:
        await self.rec.got("GetCompositeSchedule", **kw)
        return r201.GetCompositeSchedule(status="Rejected")


@asynccontextmanager
async def command_station(
    server: LiveServer, identity: str, version: str = "1.6"
) -> AsyncIterator[Any]:
    protocol = "ocpp1.6" if version == "1.6" else "ocpp2.0.1"
    ws = await websockets.connect(
        url(server, identity),
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers=headers(identity, None),
    )
    cls = CommandStation16 if version == "1.6" else CommandStation201
    cp = cls(identity, ws, response_timeout=10)
    task = asyncio.create_task(cp.start())
    try:
        # Registered in the shared registry once this answer is back.
        await cp.call(call16.Heartbeat() if version == "1.6" else call201.Heartbeat())
        yield cp
    finally:
        task.cancel()
        await ws.close()


@pytest.fixture
async def http(ocpp_server: LiveServer) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=ocpp_server.url, timeout=30) as client:
        yield Api(client)


async def _admin(make_user: Any) -> str:
    return str((await make_user(Role.ADMIN)).token)


ALL_COMMANDS = (
    ("resetStation(stationId: $s, type: HARD) { status accepted }", "Reset"),
    ("unlockConnector(stationId: $s, connectorId: 1) { status accepted }", "UnlockConnector"),
    (
        "changeAvailability(stationId: $s, connectorId: 1, operative: false) { status accepted }",
        "ChangeAvailability",
    ),
    (
        "triggerMessage(stationId: $s, message: STATUS_NOTIFICATION, connectorId: 1) { status }",
        "TriggerMessage",
    ),
    (
        'updateFirmware(stationId: $s, location: "https://fw.example/f.bin", '
        'retrieveAt: "2030-01-01T00:00:00Z", retries: 2) { status accepted }',
        "UpdateFirmware",
    ),
    (
        "setChargingProfile(stationId: $s, connectorId: 1, profile: {id: 7, stackLevel: 1, "
        "purpose: TX_DEFAULT_PROFILE, rateUnit: A, periods: [{startPeriodS: 0, limit: 16, "
        "numberPhases: 3}, {startPeriodS: 3600, limit: 8}]}) { status accepted }",
        "SetChargingProfile",
    ),
    ("clearChargingProfile(stationId: $s, profileId: 7) { status }", "ClearChargingProfile"),
    (
        "getCompositeSchedule(stationId: $s, connectorId: 1, durationS: 3600, rateUnit: A) "
        "{ status accepted schedule }",
        "GetCompositeSchedule",
    ),
)
EXPECTED_STATUS = {
    "1.6": {
        "Reset": "Accepted",
        "UnlockConnector": "Unlocked",
        "ChangeAvailability": "Scheduled",
        "TriggerMessage": "Accepted",
        "UpdateFirmware": "Accepted",
        "SetChargingProfile": "Accepted",
        "ClearChargingProfile": "Unknown",
        "GetCompositeSchedule": "Accepted",
    },
    "2.0.1": {
        "Reset": "Scheduled",
        "UnlockConnector": "Unlocked",
        "ChangeAvailability": "Accepted",
        "TriggerMessage": "Accepted",
        "UpdateFirmware": "Accepted",
        "SetChargingProfile": "Accepted",
        "ClearChargingProfile": "Accepted",
        "GetCompositeSchedule": "Rejected",
    },
}


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_every_command_reaches_the_station(
    ocpp_server: LiveServer, http: Api, world: World, make_user: Any, version: str
) -> None:
    token = await _admin(make_user)
    identity, station_id = (
        ("CP16", world.station16) if version == "1.6" else ("CP201", world.station201)
    )
    async with command_station(ocpp_server, identity, version) as cp:
        for call, action in ALL_COMMANDS:
            data = await http.ok(
                f"mutation($s: ID!) {{ r: {call} }}", {"s": str(station_id)}, token=token
            )
            assert data["r"]["status"] == EXPECTED_STATUS[version][action], (action, data)
        received = [a for a, _ in cp.rec.received]
        names16 = {"Reset", "UnlockConnector", "ChangeAvailability", "TriggerMessage"}
        assert names16 <= set(received), received
        _, reset = next(r for r in cp.rec.received if r[0] == "Reset")
        assert reset["type"] == ("Hard" if version == "1.6" else "Immediate")
        _, profile = next(r for r in cp.rec.received if r[0] == "SetChargingProfile")
        if version == "1.6":
            periods = profile["cs_charging_profiles"]["charging_schedule"][
                "charging_schedule_period"
            ]
        else:
            periods = profile["charging_profile"]["charging_schedule"][0][
                "charging_schedule_period"
            ]
        assert [p["limit"] for p in periods] == [16, 8]

        # Configuration: keys, values, read-only flags and unknown keys.
        keys = (
            ["HeartbeatInterval", "Nope"]
            if version == "1.6"
            else [
                "OCPPCommCtrlr.HeartbeatInterval",
                "OCPPCommCtrlr.Nope",
            ]
        )
        data = await http.ok(
            "mutation($s: ID!, $k: [String!]) { r: getConfiguration(stationId: $s, keys: $k) "
            "{ status keys { key value readonly } unknownKeys } }",
            {"s": str(station_id), "k": keys},
            token=token,
        )
        assert data["r"]["keys"] == [{"key": keys[0], "value": "300", "readonly": False}]
        assert data["r"]["unknownKeys"] == [keys[1]]
        data = await http.ok(
            "mutation($s: ID!, $k: String!) { r: changeConfiguration(stationId: $s, key: $k, "
            'value: "60") { status accepted } }',
            {"s": str(station_id), "k": keys[0]},
            token=token,
        )
        assert data["r"] == {
            "status": "RebootRequired" if version == "1.6" else "Accepted",
            "accepted": True,
        }

        # ClearCache: the 1.6 test station does not implement it (a CALLERROR).
        result = await http(
            "mutation($s: ID!) { r: clearCache(stationId: $s) { status } }",
            {"s": str(station_id)},
            token=token,
        )
        if version == "1.6":
            assert result["errors"][0]["extensions"]["code"] == "STATION_REJECTED"
            assert result["errors"][0]["extensions"]["ocppError"] == "NotImplemented"
        else:
            assert result["data"]["r"]["status"] == "Accepted"


async def _driver_with_card(
    sessionmaker: async_sessionmaker[AsyncSession], make_user: Any, world: World, uid: str
) -> Any:
    driver = await make_user(sites={world.site_id: SiteRole.MEMBER})
    async with sessionmaker() as db:
        db.add(RfidCard(uid=uid, user_id=driver.id))
        await db.commit()
    return driver


async def test_driver_starts_and_stops_their_own_charge(
    ocpp_server: LiveServer,
    http: Api,
    world: World,
    make_user: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    driver = await _driver_with_card(sessionmaker, make_user, world, "D1CARD01")
    other = await _driver_with_card(sessionmaker, make_user, world, "D2CARD02")
    outsider = await make_user()
    start = (
        "mutation($s: ID!) { r: remoteStart(stationId: $s, connectorId: 1) { status accepted } }"
    )
    variables = {"s": str(world.station16)}
    async with command_station(ocpp_server, "CP16") as cp:
        data = await http.ok(start, variables, token=driver.token)
        assert data["r"] == {"status": "Accepted", "accepted": True}
        action, payload = cp.rec.received[-1]
        assert action == "RemoteStartTransaction"
        assert payload == {"id_tag": "D1CARD01", "connector_id": 1}
        # Not a station of the outsider's sites.
        error = await http.error(start, variables, token=outsider.token)
        assert error["code"] == "NOT_FOUND"

        # The station starts the session it was asked for; only its driver (or a manager) stops it.
        began = base_time()
        started = await cp.call(
            call16.StartTransaction(
                connector_id=1, id_tag="D1CARD01", meter_start=1000, timestamp=ts(began)
            )
        )
        assert started.id_tag_info["status"] == "Accepted"
        [charge] = await sessions_of(sessionmaker, world.station16)
        stop = "mutation($id: ID!) { r: remoteStop(sessionId: $id) { status } }"
        error = await http.error(stop, {"id": str(charge.id)}, token=other.token)
        assert error["code"] == "NOT_FOUND"
        data = await http.ok(stop, {"id": str(charge.id)}, token=driver.token)
        assert data["r"]["status"] == "Accepted"
        assert cp.rec.received[-1] == (
            "RemoteStopTransaction",
            {"transaction_id": int(charge.ocpp_transaction_id)},
        )
        # A fellow driver may not use someone else's card, nor send admin commands.
        error = await http.error(
            "mutation($s: ID!) { r: resetStation(stationId: $s) { status } }",
            variables,
            token=driver.token,
        )
        assert error["code"] == "FORBIDDEN"


async def test_offline_station(http: Api, world: World, make_user: Any) -> None:
    token = await _admin(make_user)
    error = await http.error(
        "mutation($s: ID!) { r: getConfiguration(stationId: $s) { status } }",
        {"s": str(world.station201)},
        token=token,
    )
    assert error["code"] == "STATION_OFFLINE"


async def test_bad_command_input_is_refused_before_the_station(
    http: Api, world: World, make_user: Any
) -> None:
    token = await _admin(make_user)
    firmware = (
        "mutation($s: ID!, $loc: String!, $r: Int) { r: updateFirmware(stationId: $s, "
        'location: $loc, retrieveAt: "2030-01-01T00:00:00Z", retries: $r) { status } }'
    )
    for location, retries, field in (
        ("file:///etc/passwd", 1, "location"),
        ("https://fw.example/" + "x" * 600, 1, "location"),
        ("https://fw.example/f.bin", -1, "retries"),
        ("https://fw.example/f.bin", 1000, "retries"),
    ):
        error = await http.error(
            firmware, {"s": str(world.station201), "loc": location, "r": retries}, token=token
        )
        # Refused as bad input, not as an offline station: the station is never asked.
        assert (error["code"], error["field"]) == ("BAD_USER_INPUT", field)


async def test_one_call_in_flight_per_station(
    ocpp_server: LiveServer, http: Api, world: World, make_user: Any
) -> None:
    """Two commands at once: the second CALL reaches the station only after the first was
    answered (the library's call lock)."""
    token = await _admin(make_user)
    query = "mutation($s: ID!) { r: getConfiguration(stationId: $s) { status } }"
    async with websockets.connect(
        url(ocpp_server, "CP16"),
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
    ) as ws:
        await ws.send(json.dumps([2, "hb", "Heartbeat", {}]))
        assert json.loads(await ws.recv())[0] == 3
        first = asyncio.create_task(http(query, {"s": str(world.station16)}, token=token))
        second = asyncio.create_task(http(query, {"s": str(world.station16)}, token=token))
        call_a = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert call_a[2] == "GetConfiguration"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.7)  # nothing else while one is in flight
        await ws.send(json.dumps([3, call_a[1], {"configurationKey": []}]))
        call_b = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert call_b[2] == "GetConfiguration" and call_b[1] != call_a[1]
        await ws.send(json.dumps([3, call_b[1], {"configurationKey": []}]))
        results = await asyncio.gather(first, second)
        assert [r["data"]["r"]["status"] for r in results] == ["Accepted", "Accepted"]


@pytest.fixture(scope="module")
def quick_server(settings: Settings) -> Iterator[LiveServer]:
    """A second server process (in-thread) whose stations must answer within 1.5 s."""
    server = LiveServer(settings.model_copy(update={"station_command_timeout_s": 1.5}))
    server.start()
    yield server
    server.stop()


async def test_a_silent_station_times_out_and_the_next_call_works(
    quick_server: LiveServer, world: World, make_user: Any
) -> None:
    token = await _admin(make_user)
    query = "mutation($s: ID!) { r: resetStation(stationId: $s) { status } }"
    async with (
        httpx.AsyncClient(base_url=quick_server.url, timeout=30) as client,
        command_station(quick_server, "CP16") as cp,
    ):
        api = Api(client)
        cp.rec.delay = 3
        error = await api.error(query, {"s": str(world.station16)}, token=token)
        assert error["code"] == "STATION_TIMEOUT"
        await asyncio.sleep(2)  # the late answer arrives and is dropped
        cp.rec.delay = 0
        data = await api.ok(query, {"s": str(world.station16)}, token=token)
        assert data["r"]["status"] == "Accepted"
