"""A station's connectors: what stations do not report (the plug, its power and phases) is set
by the site's managers, checked, and audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.db.models import (
    AuditEntry,
    ChargingStation,
    Connector,
    RegistrationStatus,
    Role,
    Site,
    SiteArea,
    SiteRole,
)
from tests.conftest import Api

UPDATE = """
mutation($id: ID!, $input: ConnectorInput!) {
  updateConnector(id: $id, input: $input) { id type maxPowerW phases }
}
"""


async def test_managers_set_the_plug_power_and_phases(
    api: Api, sessionmaker: Any, make_user: Any
) -> None:
    async with sessionmaker() as db:
        site = Site(name="Plugs")
        db.add(site)
        await db.flush()
        area = SiteArea(site_id=site.id, name="Bay", max_power_w=44_000)
        db.add(area)
        await db.flush()
        station = ChargingStation(
            ocpp_identity="CP-PLUGS",
            site_area_id=area.id,
            site_id=site.id,
            registration_status=RegistrationStatus.ACCEPTED,
        )
        db.add(station)
        await db.flush()
        connector = Connector(station_id=station.id, status="Available")
        db.add(connector)
        await db.commit()
    manager = await make_user(sites={site.id: SiteRole.SITE_ADMIN})
    driver = await make_user(sites={site.id: SiteRole.MEMBER})
    elsewhere = await make_user(Role.BASIC)
    cid = str(connector.id)

    data = await api.ok(
        UPDATE,
        {"id": cid, "input": {"type": "CCS2", "maxPowerW": 50_000, "phases": 3}},
        token=manager.token,
    )
    assert data["updateConnector"] == {"id": cid, "type": "CCS2", "maxPowerW": 50_000, "phases": 3}
    async with sessionmaker() as db:
        stored = await db.get_one(Connector, connector.id)
        assert (stored.type, stored.max_power_w, stored.phases) == ("CCS2", 50_000, 3)
        entry = await db.scalar(select(AuditEntry).where(AuditEntry.action == "connector.update"))
        assert entry is not None and entry.actor_user_id == manager.id
        assert entry.details == {"fields": ["max_power_w", "phases", "type"]}

    for bad, field in (
        ({"type": "Type9"}, "type"),
        ({"maxPowerW": 0}, "maxPowerW"),
        ({"maxPowerW": 5_000_000}, "maxPowerW"),
        ({"phases": 2}, "phases"),
    ):
        error = await api.error(UPDATE, {"id": cid, "input": bad}, token=manager.token)
        assert (error["code"], error["field"]) == ("BAD_USER_INPUT", field)
    for outsider in (driver, elsewhere):
        error = await api.error(
            UPDATE, {"id": cid, "input": {"type": "Type2"}}, token=outsider.token
        )
        assert error["code"] == "FORBIDDEN"
    # Clearing is allowed: unknown again.
    data = await api.ok(UPDATE, {"id": cid, "input": {}}, token=manager.token)
    assert data["updateConnector"] == {"id": cid, "type": None, "maxPowerW": None, "phases": None}
