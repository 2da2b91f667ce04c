"""Infrastructure: sites, site areas, charging stations and connectors."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import select

from backend.db import models
from backend.db.models import RegistrationStatus
from backend.domain.load_management import goals
from backend.domain.stations_status import station_online
from backend.graphql import loaders
from backend.graphql.context import Context
from backend.graphql.pagination import Connection, paginate
from backend.graphql.types.common import Address
from backend.graphql.types.users import SiteMembership

if TYPE_CHECKING:
    from backend.graphql.types.charging import ChargingSession
    from backend.graphql.types.commands import RegistrationToken

ChargingSessionType = Annotated[
    "ChargingSession", strawberry.lazy("backend.graphql.types.charging")
]


@strawberry.type(name="Site")
class Site:
    id: strawberry.ID
    name: str
    latitude: float | None
    longitude: float | None
    timezone: str

    @strawberry.field
    def address(self, root: strawberry.Parent[models.Site]) -> Address | None:
        return Address.of(root)

    @strawberry.field(graphql_type=list["SiteArea"])
    async def site_areas(
        self, root: strawberry.Parent[models.Site], info: strawberry.Info[Context]
    ) -> list[models.SiteArea]:
        return await loaders.children(
            info.context, models.SiteArea.site_id, models.SiteArea.name, models.SiteArea.id
        ).load(root.id)

    @strawberry.field
    async def station_count(
        self, root: strawberry.Parent[models.Site], info: strawberry.Info[Context]
    ) -> int:
        return await loaders.counts(info.context, models.ChargingStation.site_id).load(root.id)

    @strawberry.field(graphql_type=Connection[SiteMembership])
    async def members(
        self,
        root: strawberry.Parent[models.Site],
        info: strawberry.Info[Context],
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[models.SiteMember]:
        stmt = (
            select(models.SiteMember)
            .join(models.User, models.User.id == models.SiteMember.user_id)
            .where(models.SiteMember.site_id == root.id)
            .order_by(models.User.last_name, models.User.first_name, models.User.id)
        )
        return await paginate(info.context, stmt, first, after)  # type: ignore[no-any-return]


@strawberry.type(name="AreaLoad")
class AreaLoad:
    """The live draw of a site area's active sessions (its stations' and those of the areas
    under it), per phase, from their latest meter values, against the area's limit."""

    per_phase_a: list[float] = strawberry.field(description="Amps on L1, L2 and L3.")
    limit_per_phase_a: float = strawberry.field(
        description="The area's max power over its voltage and phases."
    )
    active_sessions: int

    @classmethod
    def of(cls, load: goals.AreaLoad) -> AreaLoad:
        return cls(
            per_phase_a=list(load.per_phase_a),
            limit_per_phase_a=load.limit_per_phase_a,
            active_sessions=load.active_sessions,
        )


@strawberry.type(name="SiteArea")
class SiteArea:
    id: strawberry.ID
    name: str
    max_power_w: int
    phases: int
    voltage: int
    access_control: bool
    smart_charging: bool
    parent_area_id: strawberry.ID | None = strawberry.field(
        description="The area of the same site this one is inside (null: directly under the site)."
    )

    @strawberry.field(graphql_type=Site)
    async def site(
        self, root: strawberry.Parent[models.SiteArea], info: strawberry.Info[Context]
    ) -> models.Site:
        site = await loaders.by_id(info.context, models.Site).load(root.site_id)
        assert site is not None
        return site

    @strawberry.field(graphql_type=list["ChargingStation"])
    async def stations(
        self, root: strawberry.Parent[models.SiteArea], info: strawberry.Info[Context]
    ) -> list[models.ChargingStation]:
        return await loaders.children(
            info.context,
            models.ChargingStation.site_area_id,
            models.ChargingStation.ocpp_identity,
        ).load(root.id)

    @strawberry.field(
        graphql_type=list[
            Annotated["RegistrationToken", strawberry.lazy("backend.graphql.types.commands")]
        ]
        | None,
        description="The tokens that let stations register themselves into this area, newest "
        "first, revoked and expired ones included (a token's secret is shown once, at creation).",
    )
    async def registration_tokens(
        self, root: strawberry.Parent[models.SiteArea], info: strawberry.Info[Context]
    ) -> list[Any]:
        from backend.graphql.types.commands import RegistrationToken

        token = models.SiteAreaRegistrationToken
        rows = await loaders.children(
            info.context, token.site_area_id, token.created_at.desc(), token.id
        ).load(root.id)
        return [RegistrationToken.of(row) for row in rows]

    @strawberry.field(description="The live total load per phase against the area's limit.")
    async def load(
        self, root: strawberry.Parent[models.SiteArea], info: strawberry.Info[Context]
    ) -> AreaLoad | None:
        async with info.context.session() as session:
            return AreaLoad.of(await goals.area_load(session, root))


@strawberry.type(name="Connector")
class Connector:
    id: strawberry.ID
    connector_id: int
    evse_id: int
    type: str | None
    max_power_w: int | None
    phases: int | None
    status: str
    error_code: str | None

    @strawberry.field(
        graphql_type=ChargingSessionType | None,
        description="The session charging here, when you may see it (your own, or any at the "
        "sites you manage): anyone else sees that the connector is busy from its status only.",
    )
    async def current_session(
        self, root: strawberry.Parent[models.Connector], info: strawberry.Info[Context]
    ) -> models.ChargingSession | None:
        from backend.graphql.types.charging import current_sessions

        return await current_sessions(info.context).load(root.id)


@strawberry.type(name="ChargingStation")
class ChargingStation:
    id: strawberry.ID
    ocpp_identity: str
    description: str | None
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    lenient: bool = strawberry.field(
        description="Slightly wrong payloads are accepted (no OCPP schema validation)."
    )
    ocpp_version: str | None
    registration_status: RegistrationStatus
    last_seen_at: datetime | None

    @strawberry.field(
        description="The station has a password of its own (HTTP basic auth); without one it "
        "is let in on its identity alone."
    )
    def has_password(self, root: strawberry.Parent[models.ChargingStation]) -> bool:
        return root.password_hash is not None

    @strawberry.field
    def online(self, root: strawberry.Parent[models.ChargingStation]) -> bool:
        return station_online(root.last_seen_at, root.offline_at)

    @strawberry.field(graphql_type=SiteArea | None)
    async def site_area(
        self, root: strawberry.Parent[models.ChargingStation], info: strawberry.Info[Context]
    ) -> models.SiteArea | None:
        if root.site_area_id is None:
            return None
        return await loaders.by_id(info.context, models.SiteArea).load(root.site_area_id)

    @strawberry.field(graphql_type=list[Connector])
    async def connectors(
        self, root: strawberry.Parent[models.ChargingStation], info: strawberry.Info[Context]
    ) -> list[models.Connector]:
        return await loaders.children(
            info.context,
            models.Connector.station_id,
            models.Connector.evse_id,
            models.Connector.connector_id,
        ).load(root.id)
