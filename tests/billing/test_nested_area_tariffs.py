"""`Tariffs.choose` with nested site areas, against the database: the tariff of an area
reaches the stations of the areas inside it, and the nearest attachment wins (station, its
area, the areas around it nearest first, site, organization)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import ChargingStation, RegistrationStatus, TariffScope
from backend.domain.billing.tariffs import TariffData, Tariffs
from backend.domain.sites import SiteAreaData, Sites
from tests.billing.conftest import Place

AT = datetime(2024, 6, 15, 12, tzinfo=UTC)


@dataclass
class Nest:
    """Campus > Garage > P1 (the place's area, with station TARIFF-1), a sibling "Yard" inside
    Campus, and station OUTER-1 in Garage itself."""

    ids: dict[str, uuid.UUID]


@pytest.fixture
async def nest(sessionmaker: async_sessionmaker[AsyncSession], place: Place) -> Nest:
    admin = place.admin_viewer
    ids = {"site": place.site_id, "P1": place.area_id, "station": place.station_id}
    async with sessionmaker() as db:
        sites = Sites(db)
        campus = await sites.create_area(
            admin, SiteAreaData(site_id=place.site_id, name="Campus", max_power_w=400_000)
        )
        ids["Campus"] = campus.id
        for name, parent in (("Garage", campus.id), ("Yard", campus.id)):
            area = await sites.create_area(
                admin,
                SiteAreaData(
                    site_id=place.site_id, name=name, max_power_w=200_000, parent_area_id=parent
                ),
            )
            ids[name] = area.id
        await sites.update_area(
            admin,
            place.area_id,
            SiteAreaData(
                site_id=place.site_id, name="P1", max_power_w=100_000, parent_area_id=ids["Garage"]
            ),
        )
        outer = ChargingStation(
            ocpp_identity="OUTER-1",
            site_id=place.site_id,
            site_area_id=ids["Garage"],
            registration_status=RegistrationStatus.ACCEPTED,
        )
        db.add(outer)
        await db.commit()
        ids["outer station"] = outer.id
    return Nest(ids)


async def publish(
    sessionmaker: async_sessionmaker[AsyncSession],
    place: Place,
    nest: Nest,
    name: str,
    target: str | None,
    *,
    valid_from: datetime | None = None,
) -> None:
    """A tariff named `name` attached to `target` (a key of the nest; None: organization)."""
    scope = {
        None: TariffScope.ORGANIZATION,
        "site": TariffScope.SITE,
        "station": TariffScope.STATION,
        "outer station": TariffScope.STATION,
    }.get(target, TariffScope.SITE_AREA)
    async with sessionmaker() as db:
        await Tariffs(db).create(
            place.admin_viewer,
            TariffData(
                name=name,
                currency="EUR",
                vat_percent="20",
                elements=[{"price_components": [{"type": "ENERGY", "price": "0.30"}]}],
                scope=scope,
                target_id=None if target is None else nest.ids[target],
                valid_from=valid_from,
            ),
        )


async def chosen(
    sessionmaker: async_sessionmaker[AsyncSession], station_id: uuid.UUID
) -> tuple[str, str] | None:
    async with sessionmaker() as db:
        found = await Tariffs(db).choose(station_id, AT)
    return None if found is None else (found[0].name, found[1])


@pytest.mark.parametrize(
    ("tariffs", "expected"),
    [
        pytest.param(["Campus", "site", None], "Campus", id="the outermost area beats the site"),
        pytest.param(["Campus", "Garage", "site"], "Garage", id="the nearer enclosing area wins"),
        pytest.param(["Garage", "P1", "Campus"], "P1", id="the station's own area wins"),
        pytest.param(["P1", "Garage", "station"], "station", id="the station's tariff wins"),
        pytest.param(["Yard", "site"], "site", id="a sibling area's tariff does not apply"),
        pytest.param([None], "organization", id="the organization's tariff as the last resort"),
    ],
)
async def test_the_nearest_enclosing_area_wins(
    sessionmaker: async_sessionmaker[AsyncSession],
    place: Place,
    nest: Nest,
    tariffs: list[str | None],
    expected: str,
) -> None:
    for target in tariffs:
        await publish(sessionmaker, place, nest, target or "organization", target)
    assert await chosen(sessionmaker, place.station_id) == (expected, "Europe/Paris")


async def test_an_inner_areas_tariff_does_not_reach_the_outer_area(
    sessionmaker: async_sessionmaker[AsyncSession], place: Place, nest: Nest
) -> None:
    await publish(sessionmaker, place, nest, "P1", "P1")
    await publish(sessionmaker, place, nest, "Campus", "Campus")
    assert await chosen(sessionmaker, nest.ids["outer station"]) == ("Campus", "Europe/Paris")
    assert await chosen(sessionmaker, place.station_id) == ("P1", "Europe/Paris")


async def test_a_nearer_tariff_not_valid_yet_gives_way(
    sessionmaker: async_sessionmaker[AsyncSession], place: Place, nest: Nest
) -> None:
    await publish(sessionmaker, place, nest, "Campus", "Campus")
    await publish(sessionmaker, place, nest, "Garage", "Garage", valid_from=AT + timedelta(days=1))
    assert await chosen(sessionmaker, place.station_id) == ("Campus", "Europe/Paris")


async def test_moving_an_area_changes_the_tariff_of_new_sessions(
    sessionmaker: async_sessionmaker[AsyncSession], place: Place, nest: Nest
) -> None:
    await publish(sessionmaker, place, nest, "Garage", "Garage")
    await publish(sessionmaker, place, nest, "Yard", "Yard")
    assert await chosen(sessionmaker, place.station_id) == ("Garage", "Europe/Paris")
    async with sessionmaker() as db:
        await Sites(db).update_area(
            place.admin_viewer,
            place.area_id,
            SiteAreaData(
                site_id=place.site_id,
                name="P1",
                max_power_w=100_000,
                parent_area_id=nest.ids["Yard"],
            ),
        )
    assert await chosen(sessionmaker, place.station_id) == ("Yard", "Europe/Paris")
