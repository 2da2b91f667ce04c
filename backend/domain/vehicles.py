"""Vehicles, with one default vehicle per user."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import User, Vehicle
from backend.domain import audit
from backend.domain.access import require_login, require_self_or_admin
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.viewer import Viewer
from backend.domain.vin import normalize_plate, normalize_vin, plate_key


@dataclass
class VehicleData:
    plate: str
    vin: str | None = None
    make: str | None = None
    model: str | None = None
    battery_capacity_wh: int | None = None
    max_ac_power_w: int | None = None
    max_dc_power_w: int | None = None
    ac_phases: int | None = None
    is_default: bool | None = None


# What the audit log names when a vehicle changes (the API's field names, never the values).
_AUDITED = {
    "plate": "plate",
    "vin": "vin",
    "make": "make",
    "model": "model",
    "battery_capacity_wh": "batteryCapacityWh",
    "max_ac_power_w": "maxAcPowerW",
    "max_dc_power_w": "maxDcPowerW",
    "ac_phases": "acPhases",
    "is_default": "isDefault",
}


def _snapshot(vehicle: Vehicle) -> dict[str, object]:
    return {name: getattr(vehicle, attr) for attr, name in _AUDITED.items()}


def _bounded(value: int | None, field: str, low: int, high: int, unit: str) -> int | None:
    if value is None:
        return None
    if not low <= value <= high:
        raise InvalidInput(f"Expected between {low} and {high} {unit}.", field=field)
    return value


def _text(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if len(value) > 64:
        raise InvalidInput("At most 64 characters.", field=field)
    return value or None


class Vehicles:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _get(self, viewer: Viewer, vehicle_id: uuid.UUID) -> Vehicle:
        require_login(viewer)
        vehicle = await self.session.get(Vehicle, vehicle_id)
        if vehicle is None or not (viewer.is_admin or vehicle.user_id == viewer.user_id):
            raise NotFound("No such vehicle.")
        return vehicle

    async def create(self, viewer: Viewer, data: VehicleData, user_id: uuid.UUID | None) -> Vehicle:
        owner_id = user_id or viewer.user_id
        require_self_or_admin(viewer, owner_id)
        assert owner_id is not None
        owner = await self.session.get(User, owner_id)
        if owner is None or owner.erased_at is not None:
            raise NotFound("No such user.", field="userId")
        has_any = await self.session.scalar(select(Vehicle.id).where(Vehicle.user_id == owner_id))
        vehicle = Vehicle(user_id=owner_id)
        await self._apply(vehicle, data, first=has_any is None)
        self.session.add(vehicle)
        await self.session.flush()
        audit.record(self.session, viewer.user_id, "vehicle.create", vehicle)
        await self.session.commit()
        return vehicle

    async def update(self, viewer: Viewer, vehicle_id: uuid.UUID, data: VehicleData) -> Vehicle:
        vehicle = await self._get(viewer, vehicle_id)
        before = _snapshot(vehicle)
        await self._apply(vehicle, data, first=False)
        after = _snapshot(vehicle)
        changed = [name for name, value in after.items() if before[name] != value]
        if changed:
            audit.record(self.session, viewer.user_id, "vehicle.update", vehicle, fields=changed)
        await self.session.commit()
        return vehicle

    async def set_default(self, viewer: Viewer, vehicle_id: uuid.UUID) -> Vehicle:
        vehicle = await self._get(viewer, vehicle_id)
        if not vehicle.is_default:
            await self._make_default(vehicle)
            audit.record(
                self.session, viewer.user_id, "vehicle.set_default", vehicle, fields=["isDefault"]
            )
        await self.session.commit()
        return vehicle

    async def delete(self, viewer: Viewer, vehicle_id: uuid.UUID) -> None:
        vehicle = await self._get(viewer, vehicle_id)
        audit.record(self.session, viewer.user_id, "vehicle.delete", vehicle)
        was_default, owner_id = vehicle.is_default, vehicle.user_id
        await self.session.delete(vehicle)
        await self.session.flush()
        if was_default:
            # The person keeps a default vehicle as long as they have one.
            successor = await self.session.scalar(
                select(Vehicle)
                .where(Vehicle.user_id == owner_id)
                .order_by(Vehicle.created_at, Vehicle.id)
                .limit(1)
            )
            if successor is not None:
                successor.is_default = True
        await self.session.commit()

    async def _make_default(self, vehicle: Vehicle) -> None:
        # Clear the old default first: the database allows one default per user at any time.
        await self.session.execute(
            update(Vehicle)
            .where(Vehicle.user_id == vehicle.user_id, Vehicle.id != vehicle.id)
            .values(is_default=False)
        )
        vehicle.is_default = True

    async def _apply(self, vehicle: Vehicle, data: VehicleData, *, first: bool) -> None:
        plate = normalize_plate(data.plate)
        # "AB-123-CD" and "AB 123 CD" are the same car: compare without separators.
        others = await self.session.scalars(
            select(Vehicle.plate).where(
                Vehicle.user_id == vehicle.user_id, Vehicle.id != vehicle.id
            )
        )
        if plate_key(plate) in {plate_key(p) for p in others}:
            raise Conflict("You already have a vehicle with this plate.", field="plate")
        phases = data.ac_phases if data.ac_phases is not None else vehicle.ac_phases or 3
        if phases not in (1, 2, 3):
            raise InvalidInput("A car charges on 1, 2 or 3 phases.", field="acPhases")
        vehicle.plate = plate
        vehicle.vin = normalize_vin(data.vin) if data.vin else None
        vehicle.make = _text(data.make, "make")
        vehicle.model = _text(data.model, "model")
        vehicle.battery_capacity_wh = _bounded(
            data.battery_capacity_wh, "batteryCapacityWh", 1_000, 500_000, "Wh"
        )
        vehicle.max_ac_power_w = _bounded(data.max_ac_power_w, "maxAcPowerW", 1_000, 50_000, "W")
        vehicle.max_dc_power_w = _bounded(data.max_dc_power_w, "maxDcPowerW", 1_000, 1_000_000, "W")
        vehicle.ac_phases = phases
        if data.is_default or first:
            if vehicle.id is None:
                vehicle.id = uuid.uuid4()
            await self._make_default(vehicle)
        elif data.is_default is False:
            vehicle.is_default = False
