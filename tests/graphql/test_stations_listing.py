"""The `stations` list at scale: cursor pages over more than 100 sites, ordered by site then
identity, the search (identity, description, vendor and model, site name), and the viewer's
scope (a driver sees their sites' stations only; stations without a site are the admins')."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import (
    ChargingStation,
    RegistrationStatus,
    Role,
    Site,
    SiteArea,
    SiteRole,
)
from tests.conftest import Api, Person

Maker = async_sessionmaker[AsyncSession]
SITES = 120

STATIONS = """
query($first: Int, $after: String, $filter: StationFilter, $order: StationOrderField) {
  stations(first: $first, after: $after, filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id ocppIdentity siteArea { site { name } } } }
  }
}
"""


@dataclass
class Fleet:
    site_ids: list[uuid.UUID]
    # Identity of each site's station, in site order (Site 001 holds CP-120, and so on down,
    # so that the order by site differs from the order by identity).
    identities: list[str]
    loose: str  # a station without a site


async def make_fleet(sessionmaker: Maker) -> Fleet:
    """SITES sites with one area and one station each, plus a pending station without a site,
    added in one go (the listing is what is tested)."""
    async with sessionmaker() as db:
        sites = [Site(name=f"Site {i:03d}") for i in range(1, SITES + 1)]
        db.add_all(sites)
        await db.flush()
        areas = [SiteArea(site_id=s.id, name="Car park", max_power_w=50_000) for s in sites]
        db.add_all(areas)
        await db.flush()
        identities = [f"CP-{SITES + 1 - i:03d}" for i in range(1, SITES + 1)]
        stations = [
            ChargingStation(
                ocpp_identity=identity,
                site_area_id=area.id,
                site_id=area.site_id,
                registration_status=RegistrationStatus.ACCEPTED,
            )
            for identity, area in zip(identities, areas, strict=True)
        ]
        stations[6].vendor, stations[6].model = "Acme", "Volt 22"
        stations[7].description = "Near the 50% ramp"
        loose = ChargingStation(
            ocpp_identity="AAA-LOOSE",
            vendor="Acme",
            model="Volt 22",
            registration_status=RegistrationStatus.PENDING,
        )
        db.add_all([*stations, loose])
        await db.commit()
        return Fleet([s.id for s in sites], identities, loose.ocpp_identity)


async def walk(api: Api, token: str, **variables: Any) -> tuple[list[dict[str, Any]], int]:
    """Every page of the list, 50 at a time; the nodes and the number of pages."""
    nodes: list[dict[str, Any]] = []
    after = None
    pages = 0
    while True:
        data = await api.ok(STATIONS, {"first": 50, "after": after, **variables}, token=token)
        page = data["stations"]
        pages += 1
        nodes += [edge["node"] for edge in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            return nodes, pages
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]


@pytest.fixture
async def fleet(sessionmaker: Maker) -> Fleet:
    return await make_fleet(sessionmaker)


@pytest.fixture
async def admin(make_user: Any) -> Person:
    return await make_user(Role.ADMIN)


def identities(nodes: list[dict[str, Any]]) -> list[str]:
    return [n["ocppIdentity"] for n in nodes]


async def test_every_page_is_reachable_by_site_then_identity(
    api: Api, fleet: Fleet, admin: Person
) -> None:
    nodes, pages = await walk(api, admin.token, order="SITE")
    assert pages == 3  # 121 stations, 50 at a time
    # By site name (Site 001 first), the station without a site last.
    assert identities(nodes) == [*fleet.identities, fleet.loose]
    assert [n["siteArea"]["site"]["name"] for n in nodes[:2]] == ["Site 001", "Site 002"]
    assert nodes[-1]["siteArea"] is None
    data = await api.ok(STATIONS, {"first": 0, "order": "SITE"}, token=admin.token)
    assert data["stations"]["totalCount"] == SITES + 1

    # By identity (the default): the same stations, in the other order.
    nodes, _ = await walk(api, admin.token)
    assert identities(nodes) == sorted([*fleet.identities, fleet.loose])


async def test_search_matches_identity_description_vendor_model_and_site(
    api: Api, fleet: Fleet, admin: Person
) -> None:
    async def found(search: str, **flt: Any) -> list[str]:
        data = await api.ok(
            STATIONS,
            {"first": 100, "order": "SITE", "filter": {"search": search, **flt}},
            token=admin.token,
        )
        return identities([e["node"] for e in data["stations"]["edges"]])

    assert await found("cp-00") == [f"CP-{i:03d}" for i in range(9, 0, -1)]
    assert await found("SITE 042") == [fleet.identities[41]]
    assert await found("acme volt") == [fleet.identities[6], fleet.loose]
    assert await found("volt 22", registrationStatuses=["ACCEPTED"]) == [fleet.identities[6]]
    assert await found("  50%  ") == [fleet.identities[7]]  # % is a character, not a wildcard
    assert await found("5_%") == []
    assert await found("nothing like this") == []
    # A site filter narrows the search to that site.
    site_9 = str(fleet.site_ids[8])
    assert await found("cp", siteId=site_9) == [fleet.identities[8]]
    assert await found("Site 042", siteId=site_9) == []
    # The pending section's filter still works, alone and together with the list of statuses.
    assert await found("", registrationStatus="PENDING") == [fleet.loose]
    assert await found("", registrationStatus="PENDING", registrationStatuses=["ACCEPTED"]) == []

    error = await api.error(STATIONS, {"filter": {"search": "x" * 201}}, token=admin.token)
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "search")


async def test_a_driver_sees_only_their_sites_stations(
    api: Api, fleet: Fleet, make_user: Any
) -> None:
    mine = {fleet.site_ids[0]: SiteRole.MEMBER, fleet.site_ids[99]: SiteRole.MEMBER}
    driver = await make_user(Role.BASIC, sites=mine)
    nodes, pages = await walk(api, driver.token, order="SITE")
    assert pages == 1
    assert identities(nodes) == [fleet.identities[0], fleet.identities[99]]

    # Searching does not reach beyond them: not another site's name, nor a station without one.
    for search in ("Site 042", "acme", "AAA-LOOSE", "CP-05"):
        data = await api.ok(STATIONS, {"filter": {"search": search}}, token=driver.token)
        assert data["stations"]["edges"] == [], search
    other = {"siteId": str(fleet.site_ids[41])}
    data = await api.ok(STATIONS, {"filter": other}, token=driver.token)
    assert data["stations"]["totalCount"] == 0

    stranger = await make_user(Role.BASIC)
    data = await api.ok(STATIONS, {"order": "SITE"}, token=stranger.token)
    assert data["stations"]["totalCount"] == 0
    result = await api(STATIONS, {"order": "SITE"})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
