"""Sites, site areas and site members: validation and who may manage what."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import (
    AuditEntry,
    ChargingStation,
    Connector,
    RegistrationStatus,
    Role,
    Site,
    SiteArea,
    SiteMember,
    SiteRole,
)
from backend.domain.accounts import Accounts
from backend.domain.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from backend.domain.mailer import Mailer
from backend.domain.sites import AddressData, SiteAreaData, SiteData, Sites
from backend.domain.viewer import ANONYMOUS, Viewer
from backend.settings import Settings
from tests.conftest import Person


async def viewer_of(db: AsyncSession, settings: Settings, person: Person) -> Viewer:
    viewer = await Accounts(db, settings, Mailer(settings)).viewer_for_token(person.token)
    assert viewer.user_id == person.id
    return viewer


@pytest.fixture
async def admin(db: AsyncSession, settings: Settings, make_user: Any) -> Viewer:
    return await viewer_of(db, settings, await make_user(Role.ADMIN))


async def new_site(db: AsyncSession, admin: Viewer, name: str = "Headquarters") -> uuid.UUID:
    return (await Sites(db).create_site(admin, SiteData(name=name))).id


# --- sites -----------------------------------------------------------------------------------


async def test_admin_creates_a_site(db: AsyncSession, admin: Viewer) -> None:
    site = await Sites(db).create_site(
        admin,
        SiteData(
            name="  Lyon   Part-Dieu ",
            address=AddressData(street="1 rue X", postal_code=" 69003 ", city="Lyon", country=""),
            latitude=45.76,
            longitude=4.86,
            timezone="Europe/Berlin",
        ),
    )
    site_id = site.id
    db.expire_all()
    stored = await db.get_one(Site, site_id)
    assert stored.name == "Lyon Part-Dieu"
    assert (stored.address_street, stored.address_postal_code, stored.address_city) == (
        "1 rue X",
        "69003",
        "Lyon",
    )
    assert stored.address_country is None
    assert (stored.latitude, stored.longitude, stored.timezone) == (45.76, 4.86, "Europe/Berlin")

    default = await Sites(db).create_site(admin, SiteData(name="No zone"))
    assert default.timezone == "Europe/Paris"
    # Updating without a time zone keeps the one already set.
    updated = await Sites(db).update_site(admin, site_id, SiteData(name="Lyon"))
    assert updated.timezone == "Europe/Berlin"
    assert (updated.latitude, updated.longitude) == (None, None)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (SiteData(name=""), "name"),
        (SiteData(name=" \t "), "name"),
        (SiteData(name="n" * 201), "name"),
        (SiteData(name="S", latitude=45.0), "latitude"),
        (SiteData(name="S", longitude=4.0), "latitude"),
        (SiteData(name="S", latitude=90.01, longitude=0), "latitude"),
        (SiteData(name="S", latitude=-91, longitude=0), "latitude"),
        (SiteData(name="S", latitude=0, longitude=180.5), "longitude"),
        (SiteData(name="S", latitude=0, longitude=-181), "longitude"),
        (SiteData(name="S", timezone="Mars/Olympus_Mons"), "timezone"),
        (SiteData(name="S", timezone="europe/paris"), "timezone"),
        (SiteData(name="S", timezone="../../etc/passwd"), "timezone"),
        (SiteData(name="S", timezone=""), "timezone"),
        (SiteData(name="S", address=AddressData(street="s" * 201)), "address.street"),
        (SiteData(name="S", address=AddressData(city="c" * 101)), "address.city"),
        (SiteData(name="S", address=AddressData(country="c" * 101)), "address.country"),
    ],
)
async def test_site_validation_names_the_field(
    db: AsyncSession, admin: Viewer, data: SiteData, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await Sites(db).create_site(admin, data)
    await db.rollback()
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "field": field}
    assert await db.scalar(select(func.count()).select_from(Site)) == 0


async def test_site_postal_code_error_uses_the_api_field_name(
    db: AsyncSession, admin: Viewer
) -> None:
    data = SiteData(name="S", address=AddressData(postal_code="9" * 21))
    with pytest.raises(InvalidInput) as caught:
        await Sites(db).create_site(admin, data)
    await db.rollback()
    assert caught.value.extensions["field"] == "address.postalCode"


@pytest.mark.parametrize("timezone", ["Europe", "America", "A" * 300])
async def test_timezone_that_is_a_folder_or_too_long_is_invalid_input(
    db: AsyncSession, admin: Viewer, timezone: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await Sites(db).create_site(admin, SiteData(name="S", timezone=timezone))
    await db.rollback()
    assert caught.value.extensions["field"] == "timezone"


@pytest.mark.parametrize("timezone", ["UTC", "America/Argentina/Buenos_Aires", "Asia/Kolkata"])
async def test_valid_timezones(db: AsyncSession, admin: Viewer, timezone: str) -> None:
    site = await Sites(db).create_site(admin, SiteData(name="S", timezone=timezone))
    assert site.timezone == timezone


async def test_only_admins_create_and_delete_sites(
    db: AsyncSession, settings: Settings, admin: Viewer, make_user: Any
) -> None:
    site_id = await new_site(db, admin)
    owner = await viewer_of(db, settings, await make_user(sites={site_id: SiteRole.SITE_OWNER}))
    for viewer in (
        owner,
        await viewer_of(db, settings, await make_user()),
        await viewer_of(db, settings, await make_user(Role.DEMO)),
    ):
        with pytest.raises(Forbidden):
            await Sites(db).create_site(viewer, SiteData(name="Mine"))
        with pytest.raises(Forbidden):
            await Sites(db).delete_site(viewer, site_id)
    with pytest.raises(Unauthenticated):
        await Sites(db).create_site(ANONYMOUS, SiteData(name="Mine"))
    with pytest.raises(NotFound):
        await Sites(db).delete_site(admin, uuid.uuid4())
    assert await db.scalar(select(func.count()).select_from(Site)) == 1


async def test_site_admin_edits_own_site_only(
    db: AsyncSession, settings: Settings, admin: Viewer, make_user: Any
) -> None:
    mine, theirs = await new_site(db, admin, "Mine"), await new_site(db, admin, "Theirs")
    site_admin = await viewer_of(
        db, settings, await make_user(sites={mine: SiteRole.SITE_ADMIN, theirs: SiteRole.MEMBER})
    )
    sites = Sites(db)
    updated = await sites.update_site(site_admin, mine, SiteData(name="Mine, renamed"))
    assert updated.name == "Mine, renamed"

    # A plain membership of another site gives no right to edit it.
    with pytest.raises(Forbidden):
        await sites.update_site(site_admin, theirs, SiteData(name="Taken over"))
    member = await viewer_of(db, settings, await make_user(sites={mine: SiteRole.MEMBER}))
    with pytest.raises(Forbidden):
        await sites.update_site(member, mine, SiteData(name="Nope"))
    db.expire_all()
    assert (await db.get_one(Site, theirs)).name == "Theirs"

    area = await sites.create_area(
        site_admin, SiteAreaData(site_id=mine, name="P1", max_power_w=22_000)
    )
    assert area.site_id == mine
    with pytest.raises(Forbidden):
        await sites.create_area(
            site_admin, SiteAreaData(site_id=theirs, name="P1", max_power_w=22_000)
        )


# --- members ---------------------------------------------------------------------------------


async def test_only_admins_and_owners_grant_site_rights(
    db: AsyncSession, settings: Settings, admin: Viewer, make_user: Any
) -> None:
    site_id = await new_site(db, admin)
    site_admin = await viewer_of(
        db, settings, await make_user(sites={site_id: SiteRole.SITE_ADMIN})
    )
    owner = await viewer_of(db, settings, await make_user(sites={site_id: SiteRole.SITE_OWNER}))
    driver, colleague = await make_user(), await make_user()
    sites = Sites(db)

    # A site admin adds plain members ...
    member = await sites.set_member(site_admin, site_id, driver.id, SiteRole.MEMBER)
    assert member.role is SiteRole.MEMBER
    # ... but grants no management rights.
    for role in (SiteRole.SITE_ADMIN, SiteRole.SITE_OWNER):
        with pytest.raises(Forbidden):
            await sites.set_member(site_admin, site_id, driver.id, role)
        await db.rollback()

    assert (await sites.set_member(owner, site_id, driver.id, SiteRole.SITE_ADMIN)).role is (
        SiteRole.SITE_ADMIN
    )
    assert (await sites.set_member(admin, site_id, colleague.id, SiteRole.SITE_OWNER)).role is (
        SiteRole.SITE_OWNER
    )
    # The promoted driver now manages the site (a fresh viewer sees the new rights).
    promoted = await viewer_of(db, settings, driver)
    assert promoted.manages(site_id)
    assert colleague.id in promoted.managed_user_ids

    with pytest.raises(NotFound) as caught:
        await sites.set_member(admin, site_id, uuid.uuid4(), SiteRole.MEMBER)
    await db.rollback()
    assert caught.value.extensions["field"] == "userId"

    db.expire_all()
    roles = dict(
        (
            await db.execute(
                select(SiteMember.user_id, SiteMember.role).where(SiteMember.site_id == site_id)
            )
        ).all()
    )
    assert roles[driver.id] is SiteRole.SITE_ADMIN
    assert roles[colleague.id] is SiteRole.SITE_OWNER
    audit = (
        await db.scalars(select(AuditEntry).where(AuditEntry.action == "site.set_member"))
    ).all()
    assert {(e.details["user"], e.details["role"]) for e in audit} >= {
        (str(driver.id), "member"),
        (str(driver.id), "site_admin"),
        (str(colleague.id), "site_owner"),
    }


async def test_site_admin_manages_members_of_own_site_only(
    db: AsyncSession, settings: Settings, admin: Viewer, make_user: Any
) -> None:
    mine, theirs = await new_site(db, admin, "Mine"), await new_site(db, admin, "Theirs")
    site_admin = await viewer_of(db, settings, await make_user(sites={mine: SiteRole.SITE_ADMIN}))
    driver = await make_user()
    with pytest.raises(Forbidden):
        await Sites(db).set_member(site_admin, theirs, driver.id, SiteRole.MEMBER)
    with pytest.raises(Forbidden):
        await Sites(db).remove_member(site_admin, theirs, driver.id)


async def test_removing_members(
    db: AsyncSession, settings: Settings, admin: Viewer, make_user: Any
) -> None:
    site_id = await new_site(db, admin)
    site_admin_person = await make_user(sites={site_id: SiteRole.SITE_ADMIN})
    other_admin_person = await make_user(sites={site_id: SiteRole.SITE_ADMIN})
    driver = await make_user(sites={site_id: SiteRole.MEMBER})
    site_admin = await viewer_of(db, settings, site_admin_person)
    owner = await viewer_of(db, settings, await make_user(sites={site_id: SiteRole.SITE_OWNER}))
    sites = Sites(db)

    assert await sites.remove_member(site_admin, site_id, driver.id) is True
    assert await sites.remove_member(site_admin, site_id, driver.id) is False  # already gone
    with pytest.raises(Forbidden):
        await sites.remove_member(site_admin, site_id, other_admin_person.id)
    await db.rollback()
    assert await sites.remove_member(owner, site_id, other_admin_person.id) is True
    db.expire_all()
    left = set(await db.scalars(select(SiteMember.user_id).where(SiteMember.site_id == site_id)))
    assert driver.id not in left and other_admin_person.id not in left
    assert site_admin_person.id in left


async def test_site_admin_cannot_demote_the_site_owner(
    db: AsyncSession, settings: Settings, admin: Viewer, make_user: Any
) -> None:
    site_id = await new_site(db, admin)
    owner = await make_user(sites={site_id: SiteRole.SITE_OWNER})
    site_admin = await viewer_of(
        db, settings, await make_user(sites={site_id: SiteRole.SITE_ADMIN})
    )
    with pytest.raises(Forbidden):
        await Sites(db).set_member(site_admin, site_id, owner.id, SiteRole.MEMBER)
    await db.rollback()
    db.expire_all()
    assert (await db.get_one(SiteMember, (site_id, owner.id))).role is SiteRole.SITE_OWNER


# --- site areas ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"max_power_w": 999}, "maxPowerW"),
        ({"max_power_w": 100_000_001}, "maxPowerW"),
        ({"phases": 2}, "phases"),
        ({"phases": 0}, "phases"),
        ({"voltage": 231}, "voltage"),
        ({"voltage": 0}, "voltage"),
    ],
)
async def test_site_area_validation_names_the_field(
    db: AsyncSession, admin: Viewer, changes: dict[str, Any], field: str
) -> None:
    site_id = await new_site(db, admin)
    data = SiteAreaData(site_id=site_id, name="Parking", max_power_w=50_000)
    with pytest.raises(InvalidInput) as caught:
        await Sites(db).create_area(admin, replace(data, **changes))
    await db.rollback()
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "field": field}
    assert await db.scalar(select(func.count()).select_from(SiteArea)) == 0


async def test_site_area_create_update_and_no_move(db: AsyncSession, admin: Viewer) -> None:
    site_id, other_id = await new_site(db, admin), await new_site(db, admin, "Other")
    sites = Sites(db)
    area = await sites.create_area(
        admin,
        SiteAreaData(
            site_id=site_id,
            name="Garage",
            max_power_w=1_000,
            phases=1,
            voltage=120,
            access_control=False,
            smart_charging=True,
        ),
    )
    area_id = area.id
    assert (area.max_power_w, area.phases, area.voltage) == (1_000, 1, 120)
    assert (area.access_control, area.smart_charging) == (False, True)

    updated = await sites.update_area(
        admin, area_id, SiteAreaData(site_id=site_id, name="Garage B", max_power_w=100_000_000)
    )
    assert (updated.name, updated.max_power_w, updated.phases) == ("Garage B", 100_000_000, 3)

    with pytest.raises(InvalidInput) as caught:
        await sites.update_area(
            admin, area_id, SiteAreaData(site_id=other_id, name="Moved", max_power_w=22_000)
        )
    await db.rollback()
    assert caught.value.extensions["field"] == "siteId"
    with pytest.raises(NotFound):
        await sites.create_area(
            admin, SiteAreaData(site_id=uuid.uuid4(), name="X", max_power_w=22_000)
        )


async def add_station(db: AsyncSession, area: SiteArea, identity: str) -> uuid.UUID:
    station = ChargingStation(
        ocpp_identity=identity,
        site_area_id=area.id,
        site_id=area.site_id,
        registration_status=RegistrationStatus.ACCEPTED,
    )
    db.add(station)
    await db.flush()
    db.add(Connector(station_id=station.id, connector_id=1, status="Available"))
    await db.commit()
    return station.id


async def test_deleting_a_site_keeps_its_stations_unassigned(
    db: AsyncSession, admin: Viewer, make_user: Any
) -> None:
    site_id, kept_id = await new_site(db, admin), await new_site(db, admin, "Kept")
    sites = Sites(db)
    area = await sites.create_area(
        admin, SiteAreaData(site_id=site_id, name="A", max_power_w=22_000)
    )
    area_id = area.id
    kept_area = await sites.create_area(
        admin, SiteAreaData(site_id=kept_id, name="K", max_power_w=22_000)
    )
    kept_area_id = kept_area.id
    gone = [await add_station(db, area, "CS-1"), await add_station(db, area, "CS-2")]
    untouched = await add_station(db, kept_area, "CS-3")
    driver = await make_user(sites={site_id: SiteRole.MEMBER, kept_id: SiteRole.MEMBER})

    await sites.delete_site(admin, site_id)

    db.expire_all()
    assert await db.get(Site, site_id) is None
    assert await db.get(SiteArea, area_id) is None
    for station_id in gone:
        station = await db.get_one(ChargingStation, station_id)
        assert (station.site_id, station.site_area_id) == (None, None)
        # Its connectors (and so its history) stay with it.
        assert await db.scalar(select(func.count()).where(Connector.station_id == station_id)) == 1
    station = await db.get_one(ChargingStation, untouched)
    assert (station.site_id, station.site_area_id) == (kept_id, kept_area_id)
    memberships = set(
        await db.scalars(select(SiteMember.site_id).where(SiteMember.user_id == driver.id))
    )
    assert memberships == {kept_id}


async def test_deleting_an_area_unassigns_its_stations(
    db: AsyncSession, settings: Settings, admin: Viewer, make_user: Any
) -> None:
    site_id = await new_site(db, admin)
    sites = Sites(db)
    area = await sites.create_area(
        admin, SiteAreaData(site_id=site_id, name="A", max_power_w=22_000)
    )
    area_id = area.id
    station_id = await add_station(db, area, "CS-9")
    member = await viewer_of(db, settings, await make_user(sites={site_id: SiteRole.MEMBER}))
    with pytest.raises(Forbidden):
        await sites.delete_area(member, area_id)
    site_admin = await viewer_of(
        db, settings, await make_user(sites={site_id: SiteRole.SITE_ADMIN})
    )
    await sites.delete_area(site_admin, area_id)
    db.expire_all()
    station = await db.get_one(ChargingStation, station_id)
    assert (station.site_id, station.site_area_id) == (None, None)
    assert await db.get(Site, site_id) is not None
