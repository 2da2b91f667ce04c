"""OCPP errors into the system logs, with real websocket stations against the live server:
malformed frames, schema violations, unknown actions, CALLERRORs a station answers, refused
boots and connections. The station is answered as before and keeps working; no badge number,
password or token reaches a row."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import update

from backend.db.models import ChargingStation, LogCategory, LogLevel, RegistrationStatus, Role
from backend.domain.charging import Charging
from backend.domain.viewer import Viewer
from tests.conftest import Api
from tests.live_server import LiveServer
from tests.ocpp.conftest import World, exchange, headers, raw, url
from tests.system_logs.helpers import dump, rows, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BADGE = "ZZBADGE0042"


@pytest.fixture
async def http(ocpp_server: LiveServer) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=ocpp_server.url, timeout=30) as client:
        yield Api(client)


def heartbeat(message_id: str) -> list[Any]:
    return [2, message_id, "Heartbeat", {}]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_malformed_frames_schema_violations_and_unknown_actions(
    ocpp_server: LiveServer, world: World, sessionmaker: Any, version: str
) -> None:
    identity, station_id = (
        ("CP16", world.station16) if version == "1.6" else ("CP201", world.station201)
    )
    too_long = BADGE * 4  # longer than any idTag may be
    authorize = (
        {"idTag": too_long}
        if version == "1.6"
        else {"idToken": {"idToken": too_long * 2, "type": "ISO14443"}}
    )
    async with raw(ocpp_server, identity, version) as ws:
        # Not JSON at all, and a frame cut short in the middle of a badge number.
        reply = await exchange(ws, "this is not json")
        assert reply[0] == 4
        reply = await exchange(ws, f'[2, "m1", "Authorize", {{"idTag": "{BADGE}"')
        assert reply[0] == 4
        reply = await exchange(ws, [2, "m2", "Authorize", authorize])
        assert reply[:2] == [4, "m2"]
        reply = await exchange(ws, [2, "m3", "FlyToTheMoon", {}])
        assert reply[:3] == [4, "m3", "NotImplemented"]
        # The station is still served.
        reply = await exchange(ws, heartbeat("m4"))
        assert reply[:2] == [3, "m4"]

    malformed = await wait_for(sessionmaker, "ocpp.malformed_frame", 2, ocpp_identity=identity)
    assert all(r.station_id == station_id for r in malformed)
    assert all((r.level, r.category) == (LogLevel.WARNING, LogCategory.OCPP) for r in malformed)
    assert {r.details["code"] for r in malformed} <= {
        "FormationViolation",
        "FormatViolation",
        "RpcFrameworkError",
        "ProtocolError",
    }
    [schema] = await wait_for(sessionmaker, "ocpp.schema_violation", ocpp_identity=identity)
    assert schema.details["action"] == "Authorize"
    assert schema.details["path"] == (["idTag"] if version == "1.6" else ["idToken", "idToken"])
    assert schema.details["code"] in ("TypeConstraintViolation", "PropertyConstraintViolation")
    assert "description" not in schema.details  # it quotes the refused value
    [unknown] = await wait_for(sessionmaker, "ocpp.unknown_action", ocpp_identity=identity)
    assert unknown.details["action"] == "FlyToTheMoon"
    assert unknown.details["ocpp_version"] == ("1.6" if version == "1.6" else "2.0.1")
    assert BADGE not in dump(await rows(sessionmaker))


async def test_a_callerror_from_the_station(
    ocpp_server: LiveServer, world: World, sessionmaker: Any, make_user: Any, http: Api
) -> None:
    admin = await make_user(Role.ADMIN)
    async with raw(ocpp_server, "CP16") as ws:
        await exchange(ws, heartbeat("h1"))  # registered once answered
        command = asyncio.create_task(
            http(
                "mutation($s: ID!) { resetStation(stationId: $s, type: SOFT) { status } }",
                {"s": str(world.station16)},
                token=admin.token,
            )
        )
        call = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert call[0] == 2 and call[2] == "Reset"
        await ws.send(
            json.dumps(
                [
                    4,
                    call[1],
                    "InternalError",
                    "Relay stuck, call support",
                    {"token": "tok-7f3a9c-secret", "relay": 2},
                ]
            )
        )
        await command
    [row] = await wait_for(sessionmaker, "ocpp.callerror_received", ocpp_identity="CP16")
    assert row.station_id == world.station16
    assert row.details["code"] == "InternalError"
    assert row.details["description"] == "Relay stuck, call support"
    assert row.details["error_details"] == {"relay": 2}
    assert "tok-7f3a9c-secret" not in dump(await rows(sessionmaker))


async def test_refused_boots_and_connections(
    ocpp_server: LiveServer, world: World, sessionmaker: Any, make_user: Any
) -> None:
    async with sessionmaker() as db:
        await db.execute(
            update(ChargingStation)
            .where(ChargingStation.id == world.station201)
            .values(registration_status=RegistrationStatus.REJECTED)
        )
        await db.commit()
    boot201 = {"chargingStation": {"model": "X", "vendorName": "Acme"}, "reason": "PowerUp"}
    async with raw(ocpp_server, "CP201", "2.0.1") as ws:
        reply = await exchange(ws, [2, "b1", "BootNotification", boot201])
        assert reply[2]["status"] == "Rejected"
    [rejected] = await wait_for(sessionmaker, "ocpp.boot_rejected", ocpp_identity="CP201")
    assert rejected.station_id == world.station201
    assert rejected.details["vendor"] == "Acme"

    async with raw(ocpp_server, "NEW-LOG-1") as ws:
        boot16 = {"chargePointVendor": "Acme", "chargePointModel": "X"}
        reply = await exchange(ws, [2, "b2", "BootNotification", boot16])
        assert reply[2]["status"] == "Pending"
    [pending] = await wait_for(sessionmaker, "ocpp.boot_pending", ocpp_identity="NEW-LOG-1")
    assert pending.level is LogLevel.INFO and pending.station_id is not None

    admin = Viewer(user_id=(await make_user(Role.ADMIN)).id, role=Role.ADMIN)
    async with sessionmaker() as db:
        password = await Charging(db).registration.new_password(admin, world.station16)
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(
            url(ocpp_server, "CP16"),
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=headers("CP16", password + "-wrong"),
        ):
            pass
    [refused] = await wait_for(sessionmaker, "security.station_auth_failed", ocpp_identity="CP16")
    assert refused.category is LogCategory.SECURITY and refused.details == {"anonymous": False}
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(url(ocpp_server, "CP16"), subprotocols=["ocpp0.1"]):  # type: ignore[list-item]
            pass
    [no_protocol] = await wait_for(sessionmaker, "ocpp.connection_refused", ocpp_identity="CP16")
    assert no_protocol.details == {"offered": ["ocpp0.1"]}
    assert password not in dump(await rows(sessionmaker))
