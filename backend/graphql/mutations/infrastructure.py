"""Sites, members, site areas and stations."""

from __future__ import annotations

import strawberry

from backend.db import models
from backend.db.models import SiteRole
from backend.domain.sites import KEEP, AddressData, SiteAreaData, SiteData, Sites
from backend.domain.stations import ConnectorData, StationData, Stations
from backend.graphql.context import Context
from backend.graphql.ids import parse_id, parse_optional_id
from backend.graphql.types.common import AddressInput
from backend.graphql.types.sites import ChargingStation, Connector, Site, SiteArea
from backend.graphql.types.users import SiteMembership


@strawberry.input
class SiteInput:
    name: str
    address: AddressInput | None = None
    latitude: float | None = None
    longitude: float | None = None
    timezone: str | None = None

    def to_data(self) -> SiteData:
        address = None
        if self.address is not None:
            a = self.address
            address = AddressData(a.street, a.postal_code, a.city, a.region, a.country)
        return SiteData(self.name, address, self.latitude, self.longitude, self.timezone)


@strawberry.input
class SiteAreaInput:
    site_id: strawberry.ID
    name: str
    max_power_w: int
    phases: int = 3
    voltage: int = 230
    access_control: bool = True
    smart_charging: bool = False
    parent_area_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="The area of the same site this one is inside; null: directly under the "
        "site. Omitted: unchanged (none for a new area).",
    )

    def to_data(self) -> SiteAreaData:
        return SiteAreaData(
            site_id=parse_id(self.site_id, "siteId"),
            name=self.name,
            max_power_w=self.max_power_w,
            phases=self.phases,
            voltage=self.voltage,
            access_control=self.access_control,
            smart_charging=self.smart_charging,
            parent_area_id=KEEP
            if self.parent_area_id is strawberry.UNSET
            else parse_optional_id(self.parent_area_id, "parentAreaId"),
        )


@strawberry.input
class StationInput:
    ocpp_identity: str
    site_area_id: strawberry.ID | None = None
    description: str | None = None
    lenient: bool | None = strawberry.field(
        default=None,
        description="Accept slightly wrong payloads from this station (no OCPP schema "
        "validation; what is read is coerced). From its next connection. Omitted: unchanged.",
    )

    def to_data(self) -> StationData:
        return StationData(
            ocpp_identity=self.ocpp_identity,
            site_area_id=parse_optional_id(self.site_area_id, "siteAreaId"),
            description=self.description,
            lenient=self.lenient,
        )


@strawberry.input(description="What a station does not report about a connector.")
class ConnectorInput:
    type: str | None = strawberry.field(
        default=None, description="Type2, Type2Cable, CCS2, CHAdeMO, Type1, CCS1, Domestic, …"
    )
    max_power_w: int | None = None
    phases: int | None = strawberry.field(default=None, description="1 or 3 (AC).")

    def to_data(self) -> ConnectorData:
        return ConnectorData(type=self.type, max_power_w=self.max_power_w, phases=self.phases)


def _release_left_stations(info: strawberry.Info[Context]) -> None:
    # Smart charging may have been turned off, or a station moved out of its area: cars there
    # get their full power back now rather than at the next periodic sweep.
    load_manager = info.context.services.load_manager
    if load_manager is not None:
        load_manager.release_soon()


@strawberry.type
class InfrastructureMutations:
    @strawberry.mutation(graphql_type=Site)
    async def create_site(self, info: strawberry.Info[Context], input: SiteInput) -> models.Site:
        async with info.context.session() as session:
            return await Sites(session).create_site(info.context.viewer, input.to_data())

    @strawberry.mutation(graphql_type=Site)
    async def update_site(
        self, info: strawberry.Info[Context], id: strawberry.ID, input: SiteInput
    ) -> models.Site:
        async with info.context.session() as session:
            return await Sites(session).update_site(
                info.context.viewer, parse_id(id), input.to_data()
            )

    @strawberry.mutation
    async def delete_site(self, info: strawberry.Info[Context], id: strawberry.ID) -> bool:
        async with info.context.session() as session:
            await Sites(session).delete_site(info.context.viewer, parse_id(id))
        return True

    @strawberry.mutation(graphql_type=SiteMembership)
    async def set_site_member(
        self,
        info: strawberry.Info[Context],
        site_id: strawberry.ID,
        user_id: strawberry.ID,
        role: SiteRole,
    ) -> models.SiteMember:
        async with info.context.session() as session:
            return await Sites(session).set_member(
                info.context.viewer,
                parse_id(site_id, "siteId"),
                parse_id(user_id, "userId"),
                models.SiteRole(role),
            )

    @strawberry.mutation(
        graphql_type=SiteMembership,
        description="Assign the account with exactly this email address to a site (or change "
        "its role there). An unknown address gives NOT_FOUND; nothing is listed.",
    )
    async def add_site_member_by_email(
        self, info: strawberry.Info[Context], site_id: strawberry.ID, email: str, role: SiteRole
    ) -> models.SiteMember:
        async with info.context.session() as session:
            return await Sites(session).add_member_by_email(
                info.context.viewer,
                parse_id(site_id, "siteId"),
                email,
                models.SiteRole(role),
                throttle_secret=info.context.services.secret_key,
            )

    @strawberry.mutation
    async def remove_site_member(
        self, info: strawberry.Info[Context], site_id: strawberry.ID, user_id: strawberry.ID
    ) -> bool:
        async with info.context.session() as session:
            return await Sites(session).remove_member(
                info.context.viewer, parse_id(site_id, "siteId"), parse_id(user_id, "userId")
            )

    @strawberry.mutation(graphql_type=SiteArea)
    async def create_site_area(
        self, info: strawberry.Info[Context], input: SiteAreaInput
    ) -> models.SiteArea:
        async with info.context.session() as session:
            return await Sites(session).create_area(info.context.viewer, input.to_data())

    @strawberry.mutation(graphql_type=SiteArea)
    async def update_site_area(
        self, info: strawberry.Info[Context], id: strawberry.ID, input: SiteAreaInput
    ) -> models.SiteArea:
        async with info.context.session() as session:
            area = await Sites(session).update_area(
                info.context.viewer, parse_id(id), input.to_data()
            )
        _release_left_stations(info)
        return area

    @strawberry.mutation
    async def delete_site_area(self, info: strawberry.Info[Context], id: strawberry.ID) -> bool:
        async with info.context.session() as session:
            await Sites(session).delete_area(info.context.viewer, parse_id(id))
        return True

    @strawberry.mutation(graphql_type=ChargingStation)
    async def create_station(
        self, info: strawberry.Info[Context], input: StationInput
    ) -> models.ChargingStation:
        async with info.context.session() as session:
            return await Stations(session).create(info.context.viewer, input.to_data())

    @strawberry.mutation(graphql_type=ChargingStation)
    async def update_station(
        self, info: strawberry.Info[Context], id: strawberry.ID, input: StationInput
    ) -> models.ChargingStation:
        async with info.context.session() as session:
            station = await Stations(session).update(
                info.context.viewer, parse_id(id), input.to_data()
            )
        _release_left_stations(info)
        return station

    @strawberry.mutation(graphql_type=Connector)
    async def update_connector(
        self, info: strawberry.Info[Context], id: strawberry.ID, input: ConnectorInput
    ) -> models.Connector:
        # Smart charging's next run of the area (within SMART_CHARGING_INTERVAL_S) plans
        # within the new power.
        async with info.context.session() as session:
            return await Stations(session).update_connector(
                info.context.viewer, parse_id(id), input.to_data()
            )

    @strawberry.mutation
    async def delete_station(self, info: strawberry.Info[Context], id: strawberry.ID) -> bool:
        async with info.context.session() as session:
            await Stations(session).delete(info.context.viewer, parse_id(id))
        return True
