"""People: users, their RFID cards, vehicles and site memberships."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from backend.db import models
from backend.db.models import Language, Role, SiteRole, UserStatus
from backend.graphql import loaders
from backend.graphql.context import Context
from backend.graphql.types.common import Address

if TYPE_CHECKING:
    from backend.graphql.types.privacy import Privacy
    from backend.graphql.types.sites import Site

SiteType = Annotated["Site", strawberry.lazy("backend.graphql.types.sites")]
PrivacyType = Annotated["Privacy", strawberry.lazy("backend.graphql.types.privacy")]


@strawberry.type(name="User")
class User:
    id: strawberry.ID
    email: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    mobile: str | None
    language: Language
    professional_id: str | None
    cost_center: str | None
    company: str | None
    department: str | None
    role: Role
    status: UserStatus
    last_login_at: datetime | None
    created_at: datetime

    @strawberry.field
    def picture_url(self, root: strawberry.Parent[models.User]) -> str | None:
        if root.picture_sha256 is None:
            return None
        # The hash in the URL lets browsers cache the picture until it changes.
        return f"/media/pictures/{root.id}?v={root.picture_sha256[:12]}"

    @strawberry.field
    def address(self, root: strawberry.Parent[models.User]) -> Address | None:
        return Address.of(root)

    @strawberry.field
    def email_verified(self, root: strawberry.Parent[models.User]) -> bool:
        return root.email_verified_at is not None

    @strawberry.field(graphql_type=list["RfidCard"])
    async def rfid_cards(
        self, root: strawberry.Parent[models.User], info: strawberry.Info[Context]
    ) -> list[models.RfidCard]:
        return await loaders.children(
            info.context, models.RfidCard.user_id, models.RfidCard.created_at, models.RfidCard.id
        ).load(root.id)

    @strawberry.field(graphql_type=list["Vehicle"])
    async def vehicles(
        self, root: strawberry.Parent[models.User], info: strawberry.Info[Context]
    ) -> list[models.Vehicle]:
        return await loaders.children(
            info.context, models.Vehicle.user_id, models.Vehicle.plate, models.Vehicle.id
        ).load(root.id)

    @strawberry.field(
        graphql_type=PrivacyType | None,
        description="Restrictions, objections, erasure and consents (the person, admins and "
        "the data protection officer).",
    )
    def privacy(self, root: strawberry.Parent[models.User]) -> models.User:
        return root

    @strawberry.field(graphql_type=list["SiteMembership"])
    async def site_memberships(
        self, root: strawberry.Parent[models.User], info: strawberry.Info[Context]
    ) -> list[models.SiteMember]:
        return await loaders.children(
            info.context, models.SiteMember.user_id, models.SiteMember.site_id
        ).load(root.id)


@strawberry.type(name="SiteMembership")
class SiteMembership:
    role: SiteRole

    @strawberry.field(graphql_type=SiteType)
    async def site(
        self, root: strawberry.Parent[models.SiteMember], info: strawberry.Info[Context]
    ) -> models.Site:
        site = await loaders.by_id(info.context, models.Site).load(root.site_id)
        assert site is not None  # the foreign key guarantees it
        return site

    @strawberry.field(graphql_type=User)
    async def user(
        self, root: strawberry.Parent[models.SiteMember], info: strawberry.Info[Context]
    ) -> models.User:
        user = await loaders.by_id(info.context, models.User).load(root.user_id)
        assert user is not None
        return user


async def _owner(info: strawberry.Info[Context], user_id: uuid.UUID) -> models.User:
    user = await loaders.by_id(info.context, models.User).load(user_id)
    assert user is not None
    return user


@strawberry.type(name="RfidCard")
class RfidCard:
    id: strawberry.ID
    uid: str
    description: str | None
    active: bool
    created_at: datetime

    @strawberry.field(graphql_type=User)
    async def user(
        self, root: strawberry.Parent[models.RfidCard], info: strawberry.Info[Context]
    ) -> models.User:
        return await _owner(info, root.user_id)


@strawberry.type(name="Vehicle")
class Vehicle:
    id: strawberry.ID
    plate: str
    vin: str | None
    make: str | None
    model: str | None
    battery_capacity_wh: int | None
    max_ac_power_w: int | None
    max_dc_power_w: int | None
    ac_phases: int
    is_default: bool

    @strawberry.field(graphql_type=User)
    async def user(
        self, root: strawberry.Parent[models.Vehicle], info: strawberry.Info[Context]
    ) -> models.User:
        return await _owner(info, root.user_id)
