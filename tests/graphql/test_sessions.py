"""Charging sessions through GraphQL and the CSV export: scope per role, anonymization,
filters, keyset pagination, curves, the connector's current session."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from backend.db.base import utcnow
from backend.db.models import (
    ChargingSession,
    ChargingStation,
    Connector,
    MeterSample,
    RegistrationStatus,
    Role,
    SessionStatus,
    Site,
    SiteArea,
    SiteRole,
)
from backend.domain.charging.history import Point, downsample
from backend.web.exports import safe_cell
from tests.conftest import Api, Person

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=utcnow().tzinfo)


@dataclass
class World:
    site_a: uuid.UUID
    site_b: uuid.UUID
    station_a: uuid.UUID
    station_b: uuid.UUID
    connector_a: uuid.UUID
    driver: Person  # charges at site A (3 sessions, one active)
    member: Person  # another member of site A, no sessions
    other: Person  # charges at site B (2 sessions)
    site_admin: Person  # manages site A
    demo: Person
    admin: Person
    active: uuid.UUID  # the driver's active session on connector_a
    long: uuid.UUID  # a completed session with 100 samples

    def token(self, role: str) -> str:
        return {
            "driver": self.driver,
            "member": self.member,
            "other": self.other,
            "site_admin": self.site_admin,
            "demo": self.demo,
            "admin": self.admin,
        }[role].token


@pytest.fixture
async def world(sessionmaker: Any, make_user: Any) -> World:
    async with sessionmaker() as db:
        site_a, site_b = Site(name="Alpha"), Site(name="Beta")
        db.add_all([site_a, site_b])
        await db.flush()
        area_a = SiteArea(site_id=site_a.id, name="A", max_power_w=50_000)
        area_b = SiteArea(site_id=site_b.id, name="B", max_power_w=50_000)
        db.add_all([area_a, area_b])
        await db.flush()
        st_a = ChargingStation(
            ocpp_identity="ALPHA-1",
            site_area_id=area_a.id,
            site_id=site_a.id,
            registration_status=RegistrationStatus.ACCEPTED,
            description="=HYPERLINK(evil)",
        )
        st_b = ChargingStation(
            ocpp_identity="BETA-1",
            site_area_id=area_b.id,
            site_id=site_b.id,
            registration_status=RegistrationStatus.ACCEPTED,
        )
        db.add_all([st_a, st_b])
        await db.flush()
        conn_a = Connector(station_id=st_a.id, evse_id=2, connector_id=1, status="Charging")
        conn_b = Connector(station_id=st_b.id, evse_id=1, connector_id=1, status="Available")
        db.add_all([conn_a, conn_b])
        await db.commit()
    driver = await make_user(
        sites={site_a.id: SiteRole.MEMBER}, first_name="Grace", last_name="Hopper"
    )
    member = await make_user(sites={site_a.id: SiteRole.MEMBER})
    other = await make_user(sites={site_b.id: SiteRole.MEMBER}, last_name="Other")
    site_admin = await make_user(sites={site_a.id: SiteRole.SITE_ADMIN})
    demo = await make_user(Role.DEMO)
    admin = await make_user(Role.ADMIN)

    def session(
        station: ChargingStation,
        connector: Connector,
        user: Person,
        start: datetime,
        energy: int,
        tx: str,
        active: bool = False,
        tag: str = "TAG-GRACE",
    ) -> ChargingSession:
        return ChargingSession(
            station_id=station.id,
            connector_id=connector.id,
            user_id=user.id,
            id_tag=tag,
            ocpp_transaction_id=tx,
            status=SessionStatus.ACTIVE if active else SessionStatus.COMPLETED,
            started_at=start,
            stopped_at=None if active else start + timedelta(hours=1),
            energy_wh=energy,
            instant_power_w=7_000 if active else 0,
            stop_reason=None if active else "EVDisconnected",
        )

    async with sessionmaker() as db:
        rows = [
            session(st_a, conn_a, driver, T0, 10_000, "1"),
            session(st_a, conn_a, driver, T0 + timedelta(days=1), 12_000, "2"),
            session(st_a, conn_a, driver, T0 + timedelta(days=2), 5_000, "3", active=True),
            session(st_b, conn_b, other, T0 + timedelta(hours=5), 8_000, "4", tag="+TAG-OTHER"),
            session(st_b, conn_b, other, T0 + timedelta(days=1, hours=5), 9_000, "5", tag="B2"),
        ]
        db.add_all(rows)
        await db.flush()
        long = rows[0]
        for i in range(100):
            db.add(
                MeterSample(
                    session_id=long.id,
                    sampled_at=T0 + timedelta(seconds=30 * (i + 1)),
                    energy_wh=1000 + i * 100,
                    session_energy_wh=(i + 1) * 100,
                    power_w=11_000 if i < 80 else 11_000 - (i - 79) * 400,
                    current_a_l1=16.0,
                    voltage_v_l1=230.0,
                    soc_percent=20 + i * 3 // 4,
                )
            )
        await db.commit()
        ids = (rows[2].id, long.id)
    return World(
        site_a.id,
        site_b.id,
        st_a.id,
        st_b.id,
        conn_a.id,
        driver,
        member,
        other,
        site_admin,
        demo,
        admin,
        *ids,
    )


LIST = "query($f: SessionFilter, $first: Int, $after: String, $o: SessionOrder) { sessions(first: $first, after: $after, filter: $f, orderBy: $o) { totalCount pageInfo { hasNextPage endCursor } edges { node { transactionId } } } }"  # noqa: E501


async def txs(api: Api, token: str, **variables: Any) -> list[str]:
    data = await api.ok(LIST, {"first": 50, **variables}, token=token)
    return [e["node"]["transactionId"] for e in data["sessions"]["edges"]]


async def test_scope_per_role(api: Api, world: World) -> None:
    assert await txs(api, world.token("driver")) == ["3", "2", "1"]  # newest first
    assert await txs(api, world.token("member")) == []
    assert await txs(api, world.token("other")) == ["5", "4"]
    assert await txs(api, world.token("site_admin")) == ["3", "2", "1"]
    assert await txs(api, world.token("admin")) == ["3", "5", "2", "4", "1"]
    assert await txs(api, world.token("demo")) == ["3", "5", "2", "4", "1"]
    error = await api.error(LIST, {"first": 5})
    assert error["code"] == "UNAUTHENTICATED"
    one = "query($id: ID!) { session(id: $id) { transactionId } }"
    for role, expected in {"driver": "3", "member": None, "other": None, "site_admin": "3"}.items():
        data = await api.ok(one, {"id": str(world.active)}, token=world.token(role))
        assert (data["session"] or {}).get("transactionId") == expected, role


WHO = "query($id: ID!) { session(id: $id) { idTag user { id firstName lastName email } } }"


async def test_who_charged(api: Api, world: World) -> None:
    variables = {"id": str(world.active)}
    mine = (await api.ok(WHO, variables, token=world.token("driver")))["session"]
    assert mine["idTag"] == "TAG-GRACE" and mine["user"]["lastName"] == "Hopper"
    admin = (await api.ok(WHO, variables, token=world.token("admin")))["session"]
    assert admin == mine
    demo = (await api.ok(WHO, variables, token=world.token("demo")))["session"]
    assert demo["idTag"].startswith("ANON") and demo["idTag"] != "TAG-GRACE"
    assert demo["user"]["firstName"] == "Person" and demo["user"]["lastName"] != "Hopper"
    assert demo["user"]["email"].endswith("@anonymized.invalid")
    again = (await api.ok(WHO, variables, token=world.token("demo")))["session"]
    assert again == demo  # stable pseudonyms
    # The site admin sees the session, but not who charged.
    result = await api(WHO, variables, token=world.token("site_admin"))
    codes = {e["extensions"]["code"] for e in result["errors"]}
    assert codes == {"FORBIDDEN"}
    ok = await api.ok(
        "query($id: ID!) { session(id: $id) { energyWh station { ocppIdentity } } }",
        variables,
        token=world.token("site_admin"),
    )
    assert ok["session"] == {"energyWh": 5000, "station": {"ocppIdentity": "ALPHA-1"}}


async def test_fields(api: Api, world: World) -> None:
    data = await api.ok(
        "query($id: ID!) { session(id: $id) { status connectorId connector { evseId } "
        "startedAt stoppedAt durationS energyWh instantPowerW inactivityS stopReason } }",
        {"id": str(world.long)},
        token=world.token("driver"),
    )
    s = data["session"]
    assert s["status"] == "COMPLETED" and s["connectorId"] == 2 == s["connector"]["evseId"]
    assert (
        s["durationS"] == 3600 and s["energyWh"] == 10_000 and s["stopReason"] == "EVDisconnected"
    )


async def test_filters(api: Api, world: World) -> None:
    admin = world.token("admin")
    assert await txs(api, admin, f={"active": True}) == ["3"]
    assert await txs(api, admin, f={"active": False}) == ["5", "2", "4", "1"]
    assert await txs(api, admin, f={"siteId": str(world.site_b)}) == ["5", "4"]
    assert await txs(api, admin, f={"stationId": str(world.station_a)}) == ["3", "2", "1"]
    assert await txs(api, admin, f={"userId": str(world.other.id)}) == ["5", "4"]
    window = {
        "from": (T0 + timedelta(hours=1)).isoformat(),
        "to": (T0 + timedelta(days=1, hours=1)).isoformat(),
    }
    assert await txs(api, admin, f=window) == ["2", "4"]
    assert await txs(api, admin, f={"search": "beta"}) == ["5", "4"]
    assert await txs(api, admin, f={"search": "hopper"}) == ["3", "2", "1"]
    # Names are not searchable by those who may not see who charged.
    assert await txs(api, world.token("site_admin"), f={"search": "hopper"}) == []
    assert await txs(api, world.token("demo"), f={"search": "hopper"}) == []
    error = await api.error(
        LIST, {"f": {"userId": str(world.driver.id)}}, token=world.token("site_admin")
    )
    assert error["code"] == "FORBIDDEN"
    assert await txs(api, world.token("driver"), f={"userId": str(world.driver.id)}) == [
        "3",
        "2",
        "1",
    ]
    order = {"field": "ENERGY_WH", "direction": "ASC"}
    assert await txs(api, admin, o=order) == ["3", "4", "5", "1", "2"]


async def test_keyset_pagination(api: Api, world: World) -> None:
    admin = world.token("admin")
    for order in (None, {"field": "ENERGY_WH", "direction": "DESC"}):
        expected = await txs(api, admin, o=order)
        seen: list[str] = []
        after = None
        while True:
            data = await api.ok(LIST, {"first": 2, "after": after, "o": order}, token=admin)
            page = data["sessions"]
            assert page["totalCount"] == 5
            seen += [e["node"]["transactionId"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == expected
    error = await api.error(LIST, {"first": 2, "after": "bm9wZQ=="}, token=admin)
    assert error["code"] == "BAD_USER_INPUT"


async def test_curve_and_downsampling(api: Api, world: World) -> None:
    query = "query($id: ID!, $n: Int) { session(id: $id) { curve(maxPoints: $n) { at powerW energyWh currentL1 voltageL1 soc } } }"  # noqa: E501
    full = await api.ok(query, {"id": str(world.long)}, token=world.token("driver"))
    points = full["session"]["curve"]
    assert len(points) == 100 and points[0]["powerW"] == 11_000 and points[-1]["powerW"] < 11_000
    small = await api.ok(query, {"id": str(world.long), "n": 10}, token=world.token("driver"))
    curve = small["session"]["curve"]
    assert len(curve) == 10
    assert curve[0] == points[0]  # the first point as it was
    assert curve[-1]["at"] == points[-1]["at"] and curve[-1]["energyWh"] == 10_000
    assert curve[-1]["soc"] == points[-1]["soc"]
    powers = [p["powerW"] for p in curve]
    assert powers[1] == 11_000 and powers[-1] < powers[-2] <= 11_000  # the taper survives
    error = await api.error(query, {"id": str(world.long), "n": 1}, token=world.token("driver"))
    assert error["code"] == "BAD_USER_INPUT"


def test_downsample_keeps_energy_and_mean_power() -> None:
    points = [
        Point(
            T0 + timedelta(seconds=i),
            1000 * (i % 2),
            i * 10,
            (1.0, None, None),
            (230.0, None, None),
            i,
        )
        for i in range(1, 1002)
    ]
    out = downsample(points, 101)
    assert len(out) == 101 and out[0] == points[0] and out[-1].at == points[-1].at
    assert out[-1].energy_wh == points[-1].energy_wh
    assert all(p.power_w == 500 for p in out[1:])  # the mean of alternating 0 and 1000 W
    assert [p.at for p in out] == sorted(p.at for p in out)
    assert downsample(points[:5], 10) == points[:5]


async def test_connector_current_session(api: Api, world: World) -> None:
    query = (
        "query($id: ID!) { station(id: $id) { connectors { status currentSession "
        "{ transactionId } } } }"
    )
    variables = {"id": str(world.station_a)}
    for role, expected in {
        "driver": {"transactionId": "3"},
        "member": None,  # sees the connector busy, not who charges
        "site_admin": {"transactionId": "3"},
        "admin": {"transactionId": "3"},
        "demo": {"transactionId": "3"},
    }.items():
        data = await api.ok(query, variables, token=world.token(role))
        connector = data["station"]["connectors"][0]
        assert connector["status"] == "Charging"
        assert connector["currentSession"] == expected, role


# --- CSV export ---------------------------------------------------------------------------


async def export(api: Api, token: str | None, **params: str) -> tuple[int, list[dict[str, str]]]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await api.client.get("/export/sessions.csv", params=params, headers=headers)
    if response.status_code != 200:
        return response.status_code, []
    assert response.headers["content-type"].startswith("text/csv")
    return 200, list(csv.DictReader(io.StringIO(response.text)))


async def test_csv_export(api: Api, world: World) -> None:
    status, rows = await export(api, world.token("admin"))
    assert status == 200 and [r["transaction_id"] for r in rows] == ["3", "5", "2", "4", "1"]
    first = rows[-1]
    assert first["station"] == "ALPHA-1" and first["site"] == "Alpha" and first["connector"] == "2"
    assert first["energy_wh"] == "10000" and first["duration_s"] == "3600"
    assert first["user_name"] == "Grace Hopper" and first["id_tag"] == "TAG-GRACE"
    assert rows[3]["id_tag"] == "'+TAG-OTHER"  # CSV injection defused
    # Same scope and rules as GraphQL.
    _, mine = await export(api, world.token("driver"))
    assert [r["transaction_id"] for r in mine] == ["3", "2", "1"]
    assert mine[0]["user_name"] == "Grace Hopper"
    _, managed = await export(api, world.token("site_admin"))
    assert [r["transaction_id"] for r in managed] == ["3", "2", "1"]
    assert all(r["user_name"] == "" and r["id_tag"] == "" for r in managed)
    _, demo = await export(api, world.token("demo"))
    assert len(demo) == 5 and "Hopper" not in str(demo) and "TAG-GRACE" not in str(demo)
    assert demo[0]["id_tag"].startswith("ANON") and demo[0]["user_email"].endswith(".invalid")
    _, nothing = await export(api, world.token("member"))
    assert nothing == []
    # Filters, as in GraphQL.
    _, filtered = await export(
        api, world.token("admin"), siteId=str(world.site_b), order="energy_wh", direction="asc"
    )
    assert [r["transaction_id"] for r in filtered] == ["4", "5"]
    _, active = await export(api, world.token("admin"), active="true")
    assert [r["transaction_id"] for r in active] == ["3"]
    assert (await export(api, None))[0] == 401
    assert (await export(api, world.token("admin"), siteId="nope"))[0] == 400
    assert (await export(api, world.token("site_admin"), userId=str(world.driver.id)))[0] == 403


async def test_csv_export_by_cookie(api: Api, world: World) -> None:
    api.client.cookies.set("vev_session", world.token("driver"))
    try:
        status, rows = await export(api, None)
    finally:
        api.client.cookies.clear()
    assert status == 200 and len(rows) == 3


def test_safe_cell() -> None:
    for dangerous in ("=1+1", "+33 6", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell("ALPHA-1") == "ALPHA-1"
    assert safe_cell(-5) == -5 and safe_cell(None) == ""
