"""Nested site areas over GraphQL: a manager puts an area inside another of the same site, the
nesting reads back, and areas of another site, loops and unknown areas are refused on the
`parentAreaId` field; an area with areas inside it is not deleted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from backend.db.models import AuditEntry, Role, Site, SiteArea, SiteRole
from tests.conftest import Api, Person

CREATE = """
mutation($input: SiteAreaInput!) { createSiteArea(input: $input) { id name parentAreaId } }
"""
UPDATE = """
mutation($id: ID!, $input: SiteAreaInput!) {
  updateSiteArea(id: $id, input: $input) { id name maxPowerW parentAreaId }
}
"""
DELETE = "mutation($id: ID!) { deleteSiteArea(id: $id) }"
DELETE_SITE = "mutation($id: ID!) { deleteSite(id: $id) }"
SITE = "query($id: ID!) { site(id: $id) { siteAreas { id name parentAreaId } } }"


@dataclass
class Depot:
    site: uuid.UUID
    other_site: uuid.UUID
    grid: uuid.UUID  # an area of the site, top level
    other_area: uuid.UUID  # an area of the other site
    manager: Person
    admin: Person
    member: Person


@pytest.fixture
async def depot(sessionmaker: Any, make_user: Any) -> Depot:
    async with sessionmaker() as session:
        site, other = Site(name="Depot"), Site(name="Elsewhere")
        session.add_all([site, other])
        await session.flush()
        grid = SiteArea(site_id=site.id, name="Grid", max_power_w=250_000)
        other_area = SiteArea(site_id=other.id, name="Far", max_power_w=50_000)
        session.add_all([grid, other_area])
        await session.commit()
    return Depot(
        site=site.id,
        other_site=other.id,
        grid=grid.id,
        other_area=other_area.id,
        manager=await make_user(
            sites={site.id: SiteRole.SITE_ADMIN, other.id: SiteRole.SITE_ADMIN}
        ),
        admin=await make_user(Role.ADMIN),
        member=await make_user(sites={site.id: SiteRole.MEMBER}),
    )


def area_input(depot: Depot, name: str, **kw: Any) -> dict[str, Any]:
    return {"siteId": str(depot.site), "name": name, "maxPowerW": 22_000, **kw}


async def create(api: Api, depot: Depot, name: str, parent: uuid.UUID | str | None) -> str:
    parent_id = None if parent is None else str(parent)
    data = await api.ok(
        CREATE,
        {"input": area_input(depot, name, parentAreaId=parent_id)},
        token=depot.manager.token,
    )
    assert data["createSiteArea"]["parentAreaId"] == parent_id
    return str(data["createSiteArea"]["id"])


async def parents(api: Api, depot: Depot, person: Person) -> dict[str, str | None]:
    data = await api.ok(SITE, {"id": str(depot.site)}, token=person.token)
    return {a["name"]: a["parentAreaId"] for a in data["site"]["siteAreas"]}


async def test_set_a_parent_and_read_it_back(api: Api, depot: Depot, sessionmaker: Any) -> None:
    building = await create(api, depot, "Building", depot.grid)
    row = await create(api, depot, "Row", building)
    expected = {"Grid": None, "Building": str(depot.grid), "Row": building}
    # Readable like the area's other fields: the site's managers, its members, admins.
    for person in (depot.manager, depot.member, depot.admin):
        assert await parents(api, depot, person) == expected

    # Moving an area elsewhere in the same site, then back to the top level (null).
    moved = await api.ok(
        UPDATE,
        {"id": row, "input": area_input(depot, "Row", parentAreaId=str(depot.grid))},
        token=depot.manager.token,
    )
    assert moved["updateSiteArea"]["parentAreaId"] == str(depot.grid)
    top = await api.ok(
        UPDATE,
        {"id": row, "input": area_input(depot, "Row", parentAreaId=None)},
        token=depot.manager.token,
    )
    assert top["updateSiteArea"]["parentAreaId"] is None

    # Each change of nesting is audited, with the parent's id.
    async with sessionmaker() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.target_id == row).order_by(AuditEntry.id)
            )
        )
    assert [(e.action, e.details.get("parent_area", "-")) for e in entries] == [
        ("site_area.create", building),
        ("site_area.update", str(depot.grid)),
        ("site_area.update", None),
    ]
    assert all(e.actor_user_id == depot.manager.id for e in entries)


async def test_an_omitted_parent_is_left_as_it_is(api: Api, depot: Depot) -> None:
    inner = await create(api, depot, "Inner", depot.grid)
    data = await api.ok(
        UPDATE,
        {"id": inner, "input": area_input(depot, "Inner", maxPowerW=11_000)},
        token=depot.manager.token,
    )
    assert data["updateSiteArea"] == {
        "id": inner,
        "name": "Inner",
        "maxPowerW": 11_000,
        "parentAreaId": str(depot.grid),
    }
    # And a new area without one is at the top level.
    assert await create(api, depot, "Loose", None)
    assert (await parents(api, depot, depot.manager))["Loose"] is None


async def test_an_area_of_another_site_is_refused(api: Api, depot: Depot) -> None:
    error = await api.error(
        CREATE,
        {"input": area_input(depot, "Stray", parentAreaId=str(depot.other_area))},
        token=depot.manager.token,
    )
    assert error["code"] == "BAD_USER_INPUT"
    assert error["field"] == "parentAreaId"
    assert "same site" in error["message"]
    error = await api.error(
        UPDATE,
        {
            "id": str(depot.grid),
            "input": area_input(depot, "Grid", parentAreaId=str(depot.other_area)),
        },
        token=depot.manager.token,
    )
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "parentAreaId")
    assert await parents(api, depot, depot.manager) == {"Grid": None}


@pytest.mark.parametrize("depth", [0, 1, 2], ids=["itself", "its child", "its grandchild"])
async def test_a_loop_is_refused(api: Api, depot: Depot, depth: int) -> None:
    chain = [str(depot.grid)]
    for level in range(depth):
        chain.append(await create(api, depot, f"Level {level + 1}", chain[-1]))
    before = await parents(api, depot, depot.manager)
    error = await api.error(
        UPDATE,
        {"id": str(depot.grid), "input": area_input(depot, "Grid", parentAreaId=chain[-1])},
        token=depot.manager.token,
    )
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "parentAreaId")
    assert ("itself" if depth == 0 else "loop") in error["message"]
    assert await parents(api, depot, depot.manager) == before


@pytest.mark.parametrize(
    ("parent", "field"),
    [
        pytest.param(lambda: str(uuid.uuid4()), "parentAreaId", id="unknown area"),
        pytest.param(lambda: "not-an-id", "parentAreaId", id="malformed id"),
    ],
)
async def test_an_unknown_parent_is_refused(
    api: Api, depot: Depot, parent: Any, field: str
) -> None:
    error = await api.error(
        CREATE,
        {"input": area_input(depot, "Orphan", parentAreaId=parent())},
        token=depot.manager.token,
    )
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", field)
    assert await parents(api, depot, depot.manager) == {"Grid": None}


async def test_only_the_sites_managers_nest_its_areas(api: Api, depot: Depot) -> None:
    error = await api.error(
        CREATE,
        {"input": area_input(depot, "Sneaky", parentAreaId=str(depot.grid))},
        token=depot.member.token,
    )
    assert error["code"] == "FORBIDDEN"


async def test_an_area_with_areas_inside_is_not_deleted(api: Api, depot: Depot) -> None:
    inner = await create(api, depot, "Inner", depot.grid)
    error = await api.error(DELETE, {"id": str(depot.grid)}, token=depot.manager.token)
    assert error["code"] == "BAD_USER_INPUT"
    assert "Inner" in error["message"] and error["innerAreas"] == ["Inner"]
    assert await parents(api, depot, depot.manager) == {"Grid": None, "Inner": str(depot.grid)}
    # Once the inner area is gone (or moved), the outer one goes.
    assert (await api.ok(DELETE, {"id": inner}, token=depot.manager.token))["deleteSiteArea"]
    assert (await api.ok(DELETE, {"id": str(depot.grid)}, token=depot.manager.token))[
        "deleteSiteArea"
    ]
    assert await parents(api, depot, depot.manager) == {}


# Deleting a parent before its children would make the database cascade delete rows the
# session still counts on: SQLAlchemy only warns about it, so the warning fails the test.
@pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
async def test_a_site_with_nested_areas_is_deleted(
    api: Api, depot: Depot, sessionmaker: Any
) -> None:
    building = await create(api, depot, "Building", depot.grid)
    await create(api, depot, "Row", building)
    data = await api.ok(DELETE_SITE, {"id": str(depot.site)}, token=depot.admin.token)
    assert data["deleteSite"] is True
    async with sessionmaker() as session:
        left = list(await session.scalars(select(SiteArea.name).order_by(SiteArea.name)))
    assert left == ["Far"]  # the other site's area only
