"""Connecting: subprotocols, HTTP basic auth, pending stations and registration tokens."""

from __future__ import annotations

from typing import Any

import pytest
import websockets
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from sqlalchemy import select

from backend.db.models import ChargingStation, RegistrationStatus, Role
from backend.domain.charging import Charging
from backend.domain.viewer import Viewer
from tests.ocpp.conftest import exchange, raw, station, url


async def boot(cp: Any, version: str) -> Any:
    if version == "1.6":
        payload: Any = call16.BootNotification(charge_point_vendor="Acme", charge_point_model="X")
    else:
        payload = call201.BootNotification(
            charging_station={"model": "X", "vendor_name": "Acme"}, reason="PowerUp"
        )
    return await cp.call(payload, suppress=False)


@pytest.fixture
async def admin(make_user: Any) -> Viewer:
    return Viewer(user_id=(await make_user(Role.ADMIN)).id, role=Role.ADMIN)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_unknown_station_waits_pending_until_accepted(
    ocpp_server: Any, world: Any, sessionmaker: Any, admin: Viewer, version: str
) -> None:
    async with station(ocpp_server, "NEW-1", version) as cp:
        result = await boot(cp, version)
        assert (result.status, result.interval) == ("Pending", 60)
    async with raw(ocpp_server, "NEW-1", version) as ws:
        reply = await exchange(
            ws,
            [
                2,
                "m1",
                "Authorize",
                {"idTag": "AA"}
                if version == "1.6"
                else {"idToken": {"idToken": "AA", "type": "ISO14443"}},
            ],
        )
        assert reply[:3] == [4, "m1", "SecurityError"]
    async with sessionmaker() as db:
        cs = await db.scalar(
            select(ChargingStation).where(ChargingStation.ocpp_identity == "NEW-1")
        )
        assert cs.registration_status is RegistrationStatus.PENDING
        await Charging(db).registration.set_registration_status(
            admin, cs.id, RegistrationStatus.ACCEPTED, world.area_id
        )
    async with station(ocpp_server, "NEW-1", version) as cp:
        assert (await boot(cp, version)).status == "Accepted"


async def test_rejected_station_stays_rejected(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    async with sessionmaker() as db:
        db.add(
            ChargingStation(ocpp_identity="BAD", registration_status=RegistrationStatus.REJECTED)
        )
        await db.commit()
    async with station(ocpp_server, "BAD") as cp:
        assert (await boot(cp, "1.6")).status == "Rejected"


async def test_registration_token(
    ocpp_server: Any, world: Any, sessionmaker: Any, admin: Viewer
) -> None:
    async with sessionmaker() as db:
        registration = Charging(db).registration
        token, _ = await registration.create_registration_token(admin, world.area_id)
        revoked, row = await registration.create_registration_token(admin, world.area_id)
        await registration.revoke_registration_token(admin, row.id)
    async with station(ocpp_server, "SELF-1", "2.0.1", token=token) as cp:
        assert (await boot(cp, "2.0.1")).status == "Accepted"
    for identity, bad in (("SELF-2", "not-a-token"), ("SELF-3", revoked)):
        async with station(ocpp_server, identity, token=bad) as cp:
            assert (await boot(cp, "1.6")).status == "Pending"
    async with sessionmaker() as db:
        cs = await db.scalar(
            select(ChargingStation).where(ChargingStation.ocpp_identity == "SELF-1")
        )
        assert (cs.site_area_id, cs.site_id) == (world.area_id, world.site_id)


async def test_basic_auth(ocpp_server: Any, world: Any, sessionmaker: Any, admin: Viewer) -> None:
    async with sessionmaker() as db:
        password = await Charging(db).registration.new_password(admin, world.station16)
    async with station(ocpp_server, "CP16", password=password) as cp:
        assert (await boot(cp, "1.6")).status == "Accepted"
    for wrong in ("nope", None):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with station(ocpp_server, "CP16", password=wrong):
                pass
        assert refused.value.response.status_code == 401


async def test_a_station_must_offer_an_ocpp_subprotocol(ocpp_server: Any, world: Any) -> None:
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(url(ocpp_server, "CP16"), subprotocols=["ocpp0.1"]):  # type: ignore[list-item]
            pass
    # Offered both: the station's first choice wins.
    async with websockets.connect(
        url(ocpp_server, "CP16"),
        subprotocols=["ocpp2.0.1", "ocpp1.6"],  # type: ignore[list-item]
    ) as ws:
        assert ws.subprotocol == "ocpp2.0.1"
