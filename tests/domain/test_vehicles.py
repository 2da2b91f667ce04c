"""Vehicles: one default per user, normalized plates, validated bounds, owner-only access."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuditEntry, Role, Vehicle
from backend.domain.accounts import Accounts
from backend.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from backend.domain.mailer import Mailer
from backend.domain.vehicles import VehicleData, Vehicles
from backend.domain.viewer import ANONYMOUS, Viewer
from backend.settings import Settings
from tests.conftest import Person


async def viewer_of(db: AsyncSession, settings: Settings, person: Person) -> Viewer:
    viewer = await Accounts(db, settings, Mailer(settings)).viewer_for_token(person.token)
    assert viewer.user_id == person.id
    return viewer


async def defaults(db: AsyncSession, user_id: uuid.UUID) -> list[str]:
    db.expire_all()
    return list(
        await db.scalars(
            select(Vehicle.plate).where(Vehicle.user_id == user_id, Vehicle.is_default)
        )
    )


@pytest.fixture
async def driver(make_user: Any) -> Person:
    return await make_user()


async def test_first_vehicle_becomes_default_and_switching_keeps_one(
    db: AsyncSession, settings: Settings, driver: Person
) -> None:
    viewer = await viewer_of(db, settings, driver)
    vehicles = Vehicles(db)

    a = await vehicles.create(viewer, VehicleData(plate="AA-111-AA", is_default=False), None)
    a_id = a.id
    assert a.user_id == driver.id
    assert await defaults(db, driver.id) == ["AA-111-AA"]  # the first is the default anyway

    b = await vehicles.create(viewer, VehicleData(plate="BB-222-BB"), None)
    b_id = b.id
    assert await defaults(db, driver.id) == ["AA-111-AA"]

    await vehicles.create(viewer, VehicleData(plate="CC-333-CC", is_default=True), None)
    assert await defaults(db, driver.id) == ["CC-333-CC"]

    await vehicles.set_default(viewer, b_id)
    assert await defaults(db, driver.id) == ["BB-222-BB"]

    await vehicles.update(viewer, a_id, VehicleData(plate="AA-111-AA", is_default=True))
    assert await defaults(db, driver.id) == ["AA-111-AA"]

    # Updating another vehicle without touching the flag leaves the default where it is.
    await vehicles.update(viewer, b_id, VehicleData(plate="BB-222-BB", make="Renault"))
    assert await defaults(db, driver.id) == ["AA-111-AA"]


async def test_defaults_are_per_user(
    db: AsyncSession, settings: Settings, driver: Person, make_user: Any
) -> None:
    other = await make_user()
    vehicles = Vehicles(db)
    await vehicles.create(await viewer_of(db, settings, driver), VehicleData(plate="AB 1"), None)
    await vehicles.create(await viewer_of(db, settings, other), VehicleData(plate="AB 1"), None)
    assert await defaults(db, driver.id) == ["AB 1"]
    assert await defaults(db, other.id) == ["AB 1"]  # the same plate may belong to two people


async def test_the_database_refuses_a_second_default(
    db: AsyncSession, settings: Settings, driver: Person
) -> None:
    await Vehicles(db).create(await viewer_of(db, settings, driver), VehicleData(plate="X 1"), None)
    db.add(Vehicle(user_id=driver.id, plate="X 2", is_default=True))
    with pytest.raises(IntegrityError):
        await db.commit()
    await db.rollback()
    assert await defaults(db, driver.id) == ["X 1"]


async def test_plate_is_normalized_and_unique_per_user(
    db: AsyncSession, settings: Settings, driver: Person
) -> None:
    viewer = await viewer_of(db, settings, driver)
    vehicles = Vehicles(db)
    first = await vehicles.create(viewer, VehicleData(plate="  ab-123   cd "), None)
    assert first.plate == "AB-123 CD"

    with pytest.raises(Conflict) as caught:
        await vehicles.create(viewer, VehicleData(plate="Ab-123 cD"), None)
    await db.rollback()
    assert caught.value.extensions == {"code": "CONFLICT", "field": "plate"}

    second = await vehicles.create(viewer, VehicleData(plate="ZZ-999-ZZ"), None)
    second_id = second.id
    with pytest.raises(Conflict):
        await vehicles.update(viewer, second_id, VehicleData(plate="ab-123 cd"))
    await db.rollback()
    # Keeping one's own plate on update is not a clash.
    kept = await vehicles.update(viewer, second_id, VehicleData(plate="zz-999-zz", make="Kia"))
    assert (kept.plate, kept.make) == ("ZZ-999-ZZ", "Kia")
    assert await db.scalar(select(func.count()).where(Vehicle.user_id == driver.id)) == 2


async def test_vin_and_texts_are_normalized(
    db: AsyncSession, settings: Settings, driver: Person
) -> None:
    vehicle = await Vehicles(db).create(
        await viewer_of(db, settings, driver),
        VehicleData(
            plate="EV 1",
            vin="wvwzzz1jzxw000001",
            make="  Volks   wagen ",
            model="",
            battery_capacity_wh=1_000,
            max_ac_power_w=50_000,
            max_dc_power_w=1_000_000,
            ac_phases=1,
        ),
        None,
    )
    assert vehicle.vin == "WVWZZZ1JZXW000001"
    assert vehicle.make == "Volks wagen"
    assert vehicle.model is None
    assert (vehicle.battery_capacity_wh, vehicle.max_ac_power_w, vehicle.max_dc_power_w) == (
        1_000,
        50_000,
        1_000_000,
    )
    assert vehicle.ac_phases == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"battery_capacity_wh": 999}, "batteryCapacityWh"),
        ({"battery_capacity_wh": 500_001}, "batteryCapacityWh"),
        ({"max_ac_power_w": 999}, "maxAcPowerW"),
        ({"max_ac_power_w": 50_001}, "maxAcPowerW"),
        ({"max_dc_power_w": 0}, "maxDcPowerW"),
        ({"max_dc_power_w": 1_000_001}, "maxDcPowerW"),
        ({"ac_phases": 0}, "acPhases"),
        ({"ac_phases": 4}, "acPhases"),
        ({"make": "M" * 65}, "make"),
        ({"model": "M" * 65}, "model"),
        ({"vin": "1HGCM82634A004352"}, "vin"),
        ({"vin": "SHORT"}, "vin"),
        ({"plate": "   "}, "plate"),
        ({"plate": "AB#12"}, "plate"),
    ],
)
async def test_invalid_values_name_their_field(
    db: AsyncSession, settings: Settings, driver: Person, changes: dict[str, Any], field: str
) -> None:
    viewer = await viewer_of(db, settings, driver)
    data = VehicleData(**{"plate": "OK 1", **changes})
    with pytest.raises(InvalidInput) as caught:
        await Vehicles(db).create(viewer, data, None)
    await db.rollback()
    assert caught.value.extensions["code"] == "BAD_USER_INPUT"
    assert caught.value.extensions["field"] == field
    assert await db.scalar(select(func.count()).select_from(Vehicle)) == 0


async def test_only_the_owner_and_admins_reach_a_vehicle(
    db: AsyncSession, settings: Settings, driver: Person, make_user: Any
) -> None:
    other = await viewer_of(db, settings, await make_user())
    demo = await viewer_of(db, settings, await make_user(Role.DEMO))
    admin = await viewer_of(db, settings, await make_user(Role.ADMIN))
    owner = await viewer_of(db, settings, driver)
    vehicles = Vehicles(db)
    vehicle_id = (await vehicles.create(owner, VehicleData(plate="MINE 1"), None)).id

    for stranger in (other, demo):
        for attempt in (
            vehicles.update(stranger, vehicle_id, VehicleData(plate="STOLEN")),
            vehicles.set_default(stranger, vehicle_id),
            vehicles.delete(stranger, vehicle_id),
        ):
            with pytest.raises(NotFound):
                await attempt
            await db.rollback()
        # Creating a vehicle for somebody else is refused outright.
        with pytest.raises(Forbidden):
            await vehicles.create(stranger, VehicleData(plate="GIFT 1"), driver.id)
    with pytest.raises(Unauthenticated):
        await vehicles.update(ANONYMOUS, vehicle_id, VehicleData(plate="X"))
    with pytest.raises(Unauthenticated):
        await vehicles.create(ANONYMOUS, VehicleData(plate="X"), None)

    updated = await vehicles.update(admin, vehicle_id, VehicleData(plate="ADMIN 1"))
    assert updated.plate == "ADMIN 1"
    gift = await vehicles.create(admin, VehicleData(plate="GIFT 1"), driver.id)
    assert gift.user_id == driver.id
    with pytest.raises(NotFound) as caught:
        await vehicles.create(admin, VehicleData(plate="NOBODY 1"), uuid.uuid4())
    await db.rollback()
    assert caught.value.extensions["field"] == "userId"

    await vehicles.delete(owner, vehicle_id)
    db.expire_all()
    assert await db.get(Vehicle, vehicle_id) is None
    actions = list(
        await db.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target_id == str(vehicle_id))
            .order_by(AuditEntry.id)
        )
    )
    assert actions == ["vehicle.create", "vehicle.update", "vehicle.delete"]


async def test_deleting_the_default_vehicle_promotes_another(
    db: AsyncSession, settings: Settings, driver: Person
) -> None:
    viewer = await viewer_of(db, settings, driver)
    vehicles = Vehicles(db)
    first_id = (await vehicles.create(viewer, VehicleData(plate="AA-111-AA"), None)).id
    await vehicles.create(viewer, VehicleData(plate="BB-222-BB"), None)
    assert await defaults(db, driver.id) == ["AA-111-AA"]
    await vehicles.delete(viewer, first_id)
    assert await defaults(db, driver.id) == ["BB-222-BB"]


async def test_one_plate_written_two_ways_is_a_duplicate(
    db: AsyncSession, settings: Settings, driver: Person
) -> None:
    viewer = await viewer_of(db, settings, driver)
    await Vehicles(db).create(viewer, VehicleData(plate="AB-123-CD"), None)
    with pytest.raises(Conflict) as caught:
        await Vehicles(db).create(viewer, VehicleData(plate="ab 123 cd"), None)
    assert caught.value.extensions["field"] == "plate"
