"""Profiles, user administration, RFID cards and vehicles."""

from __future__ import annotations

from dataclasses import fields

import strawberry
from strawberry.file_uploads import Upload

from backend.db import models
from backend.db.models import Language, Role, UserStatus
from backend.domain.accounts import Accounts
from backend.domain.cards import Cards
from backend.domain.errors import InvalidInput
from backend.domain.users import UNSET, ProfileChanges, Users
from backend.domain.vehicles import VehicleData, Vehicles
from backend.graphql.context import Context
from backend.graphql.ids import parse_id, parse_optional_id
from backend.graphql.types.common import AddressInput
from backend.graphql.types.users import RfidCard, User, Vehicle


@strawberry.input
class ProfileInput:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    mobile: str | None = strawberry.UNSET
    language: Language | None = strawberry.UNSET
    address: AddressInput | None = strawberry.UNSET
    professional_id: str | None = strawberry.UNSET
    cost_center: str | None = strawberry.UNSET
    company: str | None = strawberry.UNSET
    department: str | None = strawberry.UNSET

    def to_changes(self) -> ProfileChanges:
        changes = ProfileChanges()
        for f in fields(changes):
            if f.name.startswith("address_"):
                continue
            value = getattr(self, f.name)
            setattr(changes, f.name, UNSET if value is strawberry.UNSET else value)
        if self.address is None:
            for part in ("street", "postal_code", "city", "region", "country"):
                setattr(changes, f"address_{part}", None)
        elif self.address is not strawberry.UNSET:
            for part in ("street", "postal_code", "city", "region", "country"):
                setattr(changes, f"address_{part}", getattr(self.address, part))
        return changes


@strawberry.input
class CreateUserInput:
    email: str
    first_name: str
    last_name: str
    role: Role = models.Role.BASIC
    language: Language = models.Language.EN
    password: str | None = None


@strawberry.input
class UserAdminInput:
    role: Role | None = None
    status: UserStatus | None = None
    profile: ProfileInput | None = None
    email: str | None = None


@strawberry.input
class RfidCardInput:
    uid: str
    description: str | None = None
    user_id: strawberry.ID | None = None


@strawberry.input
class VehicleInput:
    plate: str
    vin: str | None = None
    make: str | None = None
    model: str | None = None
    battery_capacity_wh: int | None = None
    max_ac_power_w: int | None = None
    max_dc_power_w: int | None = None
    ac_phases: int | None = None
    is_default: bool | None = None

    def to_data(self) -> VehicleData:
        return VehicleData(**{f.name: getattr(self, f.name) for f in fields(VehicleData)})


@strawberry.type
class PeopleMutations:
    @strawberry.mutation(graphql_type=User)
    async def update_profile(
        self,
        info: strawberry.Info[Context],
        input: ProfileInput,
        user_id: strawberry.ID | None = None,
    ) -> models.User:
        async with info.context.session() as session:
            return await Users(session).update_profile(
                info.context.viewer, parse_optional_id(user_id, "userId"), input.to_changes()
            )

    @strawberry.mutation(graphql_type=User)
    async def upload_picture(
        self, info: strawberry.Info[Context], file: Upload, user_id: strawberry.ID | None = None
    ) -> models.User:
        limit = info.context.settings.max_picture_bytes
        read = getattr(file, "read", None)
        if read is None:
            raise InvalidInput("Send the picture as a file upload.", field="file")
        data = await read(limit + 1)  # never read more than the limit allows
        async with info.context.session() as session:
            return await Users(session).set_picture(
                info.context.viewer, parse_optional_id(user_id, "userId"), data, limit
            )

    @strawberry.mutation(graphql_type=User)
    async def remove_picture(
        self, info: strawberry.Info[Context], user_id: strawberry.ID | None = None
    ) -> models.User:
        async with info.context.session() as session:
            return await Users(session).remove_picture(
                info.context.viewer, parse_optional_id(user_id, "userId")
            )

    @strawberry.mutation(graphql_type=User)
    async def create_user(
        self, info: strawberry.Info[Context], input: CreateUserInput
    ) -> models.User:
        async with info.context.session() as session:
            user = await Users(session).create_user(
                info.context.viewer,
                email=input.email,
                first_name=input.first_name,
                last_name=input.last_name,
                role=models.Role(input.role),
                language=models.Language(input.language),
                password=input.password,
            )
            if input.password is None:
                accounts = Accounts(session, info.context.settings, info.context.services.mailer)
                await accounts.send_welcome(user)
        return user

    @strawberry.mutation(graphql_type=User)
    async def update_user(
        self, info: strawberry.Info[Context], id: strawberry.ID, input: UserAdminInput
    ) -> models.User:
        async with info.context.session() as session:
            return await Users(session).admin_update(
                info.context.viewer,
                parse_id(id),
                role=models.Role(input.role) if input.role is not None else None,
                status=models.UserStatus(input.status) if input.status is not None else None,
                email=input.email,
                profile=input.profile.to_changes() if input.profile is not None else None,
            )

    @strawberry.mutation(graphql_type=RfidCard)
    async def add_rfid_card(
        self, info: strawberry.Info[Context], input: RfidCardInput
    ) -> models.RfidCard:
        async with info.context.session() as session:
            return await Cards(session).add(
                info.context.viewer,
                input.uid,
                input.description,
                parse_optional_id(input.user_id, "userId"),
            )

    @strawberry.mutation(graphql_type=RfidCard)
    async def set_rfid_card_active(
        self, info: strawberry.Info[Context], id: strawberry.ID, active: bool
    ) -> models.RfidCard:
        async with info.context.session() as session:
            return await Cards(session).set_active(info.context.viewer, parse_id(id), active)

    @strawberry.mutation
    async def delete_rfid_card(self, info: strawberry.Info[Context], id: strawberry.ID) -> bool:
        async with info.context.session() as session:
            await Cards(session).delete(info.context.viewer, parse_id(id))
        return True

    @strawberry.mutation(graphql_type=Vehicle)
    async def create_vehicle(
        self,
        info: strawberry.Info[Context],
        input: VehicleInput,
        user_id: strawberry.ID | None = None,
    ) -> models.Vehicle:
        async with info.context.session() as session:
            return await Vehicles(session).create(
                info.context.viewer, input.to_data(), parse_optional_id(user_id, "userId")
            )

    @strawberry.mutation(graphql_type=Vehicle)
    async def update_vehicle(
        self, info: strawberry.Info[Context], id: strawberry.ID, input: VehicleInput
    ) -> models.Vehicle:
        async with info.context.session() as session:
            return await Vehicles(session).update(
                info.context.viewer, parse_id(id), input.to_data()
            )

    @strawberry.mutation
    async def delete_vehicle(self, info: strawberry.Info[Context], id: strawberry.ID) -> bool:
        async with info.context.session() as session:
            await Vehicles(session).delete(info.context.viewer, parse_id(id))
        return True

    @strawberry.mutation(graphql_type=Vehicle)
    async def set_default_vehicle(
        self, info: strawberry.Info[Context], id: strawberry.ID
    ) -> models.Vehicle:
        async with info.context.session() as session:
            return await Vehicles(session).set_default(info.context.viewer, parse_id(id))
