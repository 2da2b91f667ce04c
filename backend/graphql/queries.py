"""Root queries. Lists are filtered by the viewer's rights in SQL, before anything loads."""

from __future__ import annotations

import enum
import functools
import uuid
from pathlib import Path
from typing import Any

import strawberry
from sqlalchemy import or_, select

from backend.db import models
from backend.db.like import contains
from backend.db.models import Language, RegistrationStatus, Role
from backend.db.models import UserStatus as UserStatusEnum
from backend.domain import access
from backend.domain import stations as station_domain
from backend.domain.billing import tariffs as billing_tariffs
from backend.domain.errors import Forbidden
from backend.graphql.context import Context
from backend.graphql.ids import parse_id, parse_optional_id
from backend.graphql.pagination import Connection, paginate
from backend.graphql.types import charging
from backend.graphql.types import tariffs as tariff_types
from backend.graphql.types.common import OrderDirection, PrivacyPolicy
from backend.graphql.types.sites import ChargingStation, Site, SiteArea
from backend.graphql.types.users import RfidCard, User, Vehicle

POLICY_DIR = Path(__file__).resolve().parent.parent / "content"


@functools.cache
def _policy_text(language: Language) -> str:
    path = POLICY_DIR / f"privacy_policy.{language.value}.md"
    if not path.exists():
        path = POLICY_DIR / "privacy_policy.en.md"
    return path.read_text(encoding="utf-8")


@strawberry.input
class UserFilter:
    search: str | None = None
    role: Role | None = None
    status: UserStatusEnum | None = None


@strawberry.enum
class UserOrderField(enum.Enum):
    NAME = "name"
    EMAIL = "email"
    CREATED_AT = "created_at"
    LAST_LOGIN_AT = "last_login_at"


@strawberry.input
class UserOrder:
    field: UserOrderField
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class SiteFilter:
    search: str | None = None


@strawberry.input
class StationFilter:
    search: str | None = strawberry.field(
        default=None,
        description="Case-insensitive, anywhere in the OCPP identity, the description, the "
        "vendor and model, or the site's name.",
    )
    site_id: strawberry.ID | None = None
    site_area_id: strawberry.ID | None = None
    registration_status: RegistrationStatus | None = None
    registration_statuses: list[RegistrationStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )

    def domain(self) -> station_domain.StationFilter:
        statuses = None if self.registration_statuses is None else set(self.registration_statuses)
        if self.registration_status is not None:
            # Both given: both must hold, like every other condition.
            one = {self.registration_status}
            statuses = one if statuses is None else statuses & one
        return station_domain.StationFilter(
            search=self.search,
            site_id=parse_optional_id(self.site_id, "siteId"),
            site_area_id=parse_optional_id(self.site_area_id, "siteAreaId"),
            registration_statuses=None if statuses is None else tuple(statuses),
        )


@strawberry.enum(description="The order of a list of stations (each then by OCPP identity).")
class StationOrderField(enum.Enum):
    IDENTITY = "identity"
    SITE = "site"


@strawberry.type
class Query:
    @strawberry.field(graphql_type=User | None)
    async def me(self, info: strawberry.Info[Context]) -> models.User | None:
        viewer = info.context.viewer
        if not viewer.authenticated:
            return None
        async with info.context.session() as session:
            return await session.get(models.User, viewer.user_id)

    @strawberry.field
    def privacy_policy(
        self, info: strawberry.Info[Context], language: Language | None = None
    ) -> PrivacyPolicy:
        return PrivacyPolicy(
            version=info.context.settings.privacy_policy_version,
            text=_policy_text(language or Language.EN),
        )

    @strawberry.field(graphql_type=User | None)
    async def user(self, info: strawberry.Info[Context], id: strawberry.ID) -> models.User | None:
        viewer = info.context.viewer
        stmt = select(models.User).where(
            models.User.id == parse_id(id), access.visible_users(viewer)
        )
        async with info.context.session() as session:
            return await session.scalar(stmt)

    @strawberry.field(graphql_type=Connection[User])
    async def users(
        self,
        info: strawberry.Info[Context],
        first: int | None = 20,
        after: str | None = None,
        filter: UserFilter | None = None,
        order_by: UserOrder | None = None,
    ) -> Connection[models.User]:
        U = models.User
        stmt = select(U).where(access.visible_users(info.context.viewer))
        if filter is not None:
            if filter.search:
                pattern = contains(filter.search)
                stmt = stmt.where(
                    or_(
                        U.email.ilike(pattern, escape="\\"),
                        U.first_name.ilike(pattern, escape="\\"),
                        U.last_name.ilike(pattern, escape="\\"),
                    )
                )
            if filter.role is not None:
                stmt = stmt.where(U.role == filter.role)
            if filter.status is not None:
                stmt = stmt.where(U.status == filter.status)
        order = order_by or UserOrder(field=UserOrderField.NAME)
        sort_columns: dict[UserOrderField, list[Any]] = {
            UserOrderField.NAME: [U.last_name, U.first_name],
            UserOrderField.EMAIL: [U.email],
            UserOrderField.CREATED_AT: [U.created_at],
            UserOrderField.LAST_LOGIN_AT: [U.last_login_at],
        }
        columns = sort_columns[order.field]
        descending = order.direction is OrderDirection.DESC
        ordering = [c.desc().nulls_last() if descending else c.asc().nulls_last() for c in columns]
        stmt = stmt.order_by(*ordering, U.id)
        return await paginate(info.context, stmt, first, after)  # type: ignore[no-any-return]

    @strawberry.field(graphql_type=Connection[RfidCard])
    async def rfid_cards(
        self,
        info: strawberry.Info[Context],
        user_id: strawberry.ID | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[models.RfidCard]:
        owner = _owner_for_listing(info.context, user_id)
        stmt = (
            select(models.RfidCard)
            .where(models.RfidCard.user_id == owner)
            .order_by(models.RfidCard.created_at, models.RfidCard.id)
        )
        return await paginate(info.context, stmt, first, after)  # type: ignore[no-any-return]

    @strawberry.field(graphql_type=Connection[Vehicle])
    async def vehicles(
        self,
        info: strawberry.Info[Context],
        user_id: strawberry.ID | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[models.Vehicle]:
        owner = _owner_for_listing(info.context, user_id)
        stmt = (
            select(models.Vehicle)
            .where(models.Vehicle.user_id == owner)
            .order_by(models.Vehicle.is_default.desc(), models.Vehicle.plate, models.Vehicle.id)
        )
        return await paginate(info.context, stmt, first, after)  # type: ignore[no-any-return]

    @strawberry.field(graphql_type=Site | None)
    async def site(self, info: strawberry.Info[Context], id: strawberry.ID) -> models.Site | None:
        stmt = select(models.Site).where(
            models.Site.id == parse_id(id), access.visible_sites(info.context.viewer)
        )
        async with info.context.session() as session:
            return await session.scalar(stmt)

    @strawberry.field(graphql_type=Connection[Site])
    async def sites(
        self,
        info: strawberry.Info[Context],
        first: int | None = 20,
        after: str | None = None,
        filter: SiteFilter | None = None,
    ) -> Connection[models.Site]:
        S = models.Site
        stmt = select(S).where(access.visible_sites(info.context.viewer))
        if filter is not None and filter.search:
            pattern = contains(filter.search)
            stmt = stmt.where(
                or_(S.name.ilike(pattern, escape="\\"), S.address_city.ilike(pattern, escape="\\"))
            )
        stmt = stmt.order_by(S.name, S.id)
        return await paginate(info.context, stmt, first, after)  # type: ignore[no-any-return]

    @strawberry.field(graphql_type=SiteArea | None)
    async def site_area(
        self, info: strawberry.Info[Context], id: strawberry.ID
    ) -> models.SiteArea | None:
        stmt = select(models.SiteArea).where(
            models.SiteArea.id == parse_id(id), access.visible_site_areas(info.context.viewer)
        )
        async with info.context.session() as session:
            return await session.scalar(stmt)

    @strawberry.field(graphql_type=ChargingStation | None)
    async def station(
        self, info: strawberry.Info[Context], id: strawberry.ID
    ) -> models.ChargingStation | None:
        stmt = select(models.ChargingStation).where(
            models.ChargingStation.id == parse_id(id),
            access.visible_stations(info.context.viewer),
        )
        async with info.context.session() as session:
            return await session.scalar(stmt)

    @strawberry.field(graphql_type=Connection[ChargingStation])
    async def stations(
        self,
        info: strawberry.Info[Context],
        first: int | None = 20,
        after: str | None = None,
        filter: StationFilter | None = None,
        order_by: StationOrderField = StationOrderField.IDENTITY,
    ) -> Connection[models.ChargingStation]:
        stmt = station_domain.listing(
            info.context.viewer,
            filter.domain() if filter is not None else None,
            station_domain.StationOrder(order_by.value),
        )
        return await paginate(info.context, stmt, first, after)  # type: ignore[no-any-return]

    @strawberry.field(graphql_type=charging.ChargingSession | None)
    async def session(
        self, info: strawberry.Info[Context], id: strawberry.ID
    ) -> models.ChargingSession | None:
        return await charging.resolve_session(info, id)

    @strawberry.field(
        graphql_type=Connection[charging.ChargingSession],
        description="Charging sessions you may see: your own; those at the sites you manage; "
        "all for admins and demo users. Newest first by default; cursors are keyset cursors.",
    )
    async def sessions(
        self,
        info: strawberry.Info[Context],
        first: int | None = 20,
        after: str | None = None,
        filter: charging.SessionFilter | None = None,
        order_by: charging.SessionOrder | None = None,
    ) -> Connection[models.ChargingSession]:
        return await charging.resolve_sessions(info, first, after, filter, order_by)

    @strawberry.field(
        graphql_type=Connection[tariff_types.Tariff],
        description="Tariffs you may read: the organization's and those of your sites (all for "
        "admins and demo users); most specific first, then newest.",
    )
    async def tariffs(
        self,
        info: strawberry.Info[Context],
        first: int | None = 50,
        after: str | None = None,
        filter: tariff_types.TariffFilter | None = None,
    ) -> Connection[models.Tariff]:
        T = models.Tariff
        stmt = select(T).where(billing_tariffs.visible_tariffs(info.context.viewer))
        if filter is not None:
            if filter.site_id is not None:
                stmt = stmt.where(T.site_id == parse_id(filter.site_id, "siteId"))
            if filter.scope is not None:
                stmt = stmt.where(T.scope == filter.scope)
            if filter.target_id is not None:
                stmt = stmt.where(T.target_id == parse_id(filter.target_id, "targetId"))
            if filter.valid_at is not None:
                at = filter.valid_at
                stmt = stmt.where(
                    or_(T.valid_from.is_(None), T.valid_from <= at),
                    or_(T.valid_until.is_(None), T.valid_until > at),
                )
            if not filter.include_retired:
                stmt = stmt.where(T.retired_at.is_(None))
        stmt = stmt.order_by(T.scope.desc(), T.created_at.desc(), T.id)
        return await paginate(info.context, stmt, first, after)  # type: ignore[no-any-return]

    @strawberry.field(graphql_type=tariff_types.Tariff | None)
    async def tariff(
        self, info: strawberry.Info[Context], id: strawberry.ID
    ) -> models.Tariff | None:
        stmt = select(models.Tariff).where(
            models.Tariff.id == parse_id(id),
            billing_tariffs.visible_tariffs(info.context.viewer),
        )
        async with info.context.session() as session:
            return await session.scalar(stmt)


def _owner_for_listing(ctx: Context, user_id: strawberry.ID | None) -> uuid.UUID | None:
    viewer = ctx.viewer
    owner = parse_optional_id(user_id, "userId") or viewer.user_id
    if owner != viewer.user_id and not viewer.reads_everything:
        raise Forbidden("You may only list your own cards and vehicles.")
    return owner
