"""Charging stations as records: declared by admins, or registered by the OCPP side.

Also the one query builder of station lists (`listing`): the viewer's scope
(`access.visible_stations`: stations without a site are the admins' and demo users'), a search
on what people call a station by, and an order by site then identity so that a long list can be
shown grouped by site, page after page.
"""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.like import contains
from backend.db.models import ChargingStation, Connector, RegistrationStatus, Site, SiteArea
from backend.domain import access, audit
from backend.domain.access import require_admin, require_login, require_site_manager
from backend.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.domain.viewer import Viewer

# OCPP identities travel in the websocket URL: keep them to URL-safe characters.
_IDENTITY = re.compile(r"^[A-Za-z0-9._\-:*]{1,48}$")
# What stations do not report and smart charging, tariffs and drivers need: the plug and its
# power. OCPI's connector standards, for the AC and DC plugs found in Europe and beyond.
CONNECTOR_TYPES = (
    "Type2",
    "Type2Cable",
    "CCS2",
    "CHAdeMO",
    "Type1",
    "CCS1",
    "Domestic",
    "Type3",
    "GBT",
)
MAX_CONNECTOR_POWER_W = 1_000_000
MAX_SEARCH_LENGTH = 200


class StationOrder(enum.Enum):
    IDENTITY = "identity"
    # Stations without a site come last: they are the odd ones an admin has still to place.
    SITE = "site"


@dataclass(frozen=True)
class StationFilter:
    """Conditions on a station list; all given ones must hold."""

    # Case-insensitive, anywhere in the OCPP identity, description, "vendor model" or site name.
    search: str | None = None
    site_id: uuid.UUID | None = None
    site_area_id: uuid.UUID | None = None
    # Any of these statuses (None: any status; empty: none matches).
    registration_statuses: tuple[RegistrationStatus, ...] | None = None


def listing(
    viewer: Viewer,
    flt: StationFilter | None = None,
    order: StationOrder = StationOrder.IDENTITY,
) -> Select[ChargingStation]:
    """The stations the viewer may see, filtered and ordered (ending on the id, for paging)."""
    require_login(viewer)
    cs = ChargingStation
    stmt = select(cs).where(access.visible_stations(viewer))
    flt = flt or StationFilter()
    if flt.search and flt.search.strip():
        if len(flt.search.strip()) > MAX_SEARCH_LENGTH:
            raise InvalidInput(
                f"Search with at most {MAX_SEARCH_LENGTH} characters.", field="search"
            )
        pattern = contains(flt.search)
        vendor_model = func.coalesce(cs.vendor, "") + " " + func.coalesce(cs.model, "")
        # Sites the viewer may not see are not searched: their stations are out of scope anyway.
        sites = select(Site.id).where(Site.name.ilike(pattern, escape="\\"))
        stmt = stmt.where(
            or_(
                cs.ocpp_identity.ilike(pattern, escape="\\"),
                cs.description.ilike(pattern, escape="\\"),
                vendor_model.ilike(pattern, escape="\\"),
                cs.site_id.in_(sites),
            )
        )
    if flt.site_id is not None:
        stmt = stmt.where(cs.site_id == flt.site_id)
    if flt.site_area_id is not None:
        stmt = stmt.where(cs.site_area_id == flt.site_area_id)
    if flt.registration_statuses is not None:
        stmt = stmt.where(cs.registration_status.in_(flt.registration_statuses))
    if order is StationOrder.SITE:
        # The site's id after its name keeps two sites of the same name apart (one group each).
        stmt = stmt.outerjoin(Site, Site.id == cs.site_id).order_by(
            Site.name.asc().nulls_last(), Site.id.asc().nulls_last(), cs.ocpp_identity, cs.id
        )
    else:
        stmt = stmt.order_by(cs.ocpp_identity, cs.id)
    return stmt


@dataclass
class StationData:
    ocpp_identity: str
    site_area_id: uuid.UUID | None = None
    description: str | None = None
    # Skip OCPP schema validation for a station that sends slightly wrong payloads (None: as
    # it is); read when the station connects.
    lenient: bool | None = None


@dataclass
class ConnectorData:
    type: str | None = None
    max_power_w: int | None = None
    phases: int | None = None


class Stations:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, station_id: uuid.UUID) -> ChargingStation:
        station = await self.session.get(ChargingStation, station_id)
        if station is None:
            raise NotFound("No such charging station.")
        return station

    async def _area(self, viewer: Viewer, area_id: uuid.UUID | None) -> SiteArea | None:
        if area_id is None:
            return None
        area = await self.session.get(SiteArea, area_id)
        if area is None:
            raise NotFound("No such site area.", field="siteAreaId")
        require_site_manager(viewer, area.site_id)
        return area

    async def create(self, viewer: Viewer, data: StationData) -> ChargingStation:
        require_login(viewer)
        area = await self._area(viewer, data.site_area_id)
        if area is None:
            require_admin(viewer)  # stations without a site are the admins' to hold
        identity = self._identity(data.ocpp_identity)
        if await self.session.scalar(
            select(ChargingStation.id).where(ChargingStation.ocpp_identity == identity)
        ):
            raise Conflict("A station with this OCPP identity exists.", field="ocppIdentity")
        station = ChargingStation(
            ocpp_identity=identity,
            site_area_id=area.id if area else None,
            site_id=area.site_id if area else None,
            description=self._description(data.description),
            lenient=bool(data.lenient),
            # Declared by a manager: the station is expected, so its boot is accepted.
            registration_status=RegistrationStatus.ACCEPTED,
        )
        self.session.add(station)
        await self.session.flush()
        audit.record(self.session, viewer.user_id, "station.create", station)
        await self.session.commit()
        return station

    async def update(
        self, viewer: Viewer, station_id: uuid.UUID, data: StationData
    ) -> ChargingStation:
        station = await self.get(station_id)
        self._require_manager(viewer, station)
        area = await self._area(viewer, data.site_area_id)
        identity = self._identity(data.ocpp_identity)
        if identity != station.ocpp_identity:
            if await self.session.scalar(
                select(ChargingStation.id).where(ChargingStation.ocpp_identity == identity)
            ):
                raise Conflict("A station with this OCPP identity exists.", field="ocppIdentity")
            station.ocpp_identity = identity
        if area is None and not viewer.is_admin:
            raise Forbidden("Only administrators may take a station out of its site.")
        station.site_area_id = area.id if area else None
        station.site_id = area.site_id if area else None
        station.description = self._description(data.description)
        if data.lenient is not None:
            station.lenient = data.lenient
        audit.record(self.session, viewer.user_id, "station.update", station)
        await self.session.commit()
        return station

    async def delete(self, viewer: Viewer, station_id: uuid.UUID) -> None:
        require_admin(viewer)
        station = await self.get(station_id)
        audit.record(self.session, viewer.user_id, "station.delete", station)
        await self.session.delete(station)
        await self.session.commit()

    async def update_connector(
        self, viewer: Viewer, connector_id: uuid.UUID, data: ConnectorData
    ) -> Connector:
        """The plug, its maximum power and phases, which stations do not report (smart
        charging plans within that power; drivers see the plug)."""
        connector = await self.session.get(Connector, connector_id)
        if connector is None:
            raise NotFound("No such connector.")
        station = await self.get(connector.station_id)
        self._require_manager(viewer, station)
        if data.type is not None and data.type not in CONNECTOR_TYPES:
            raise InvalidInput(
                "Unknown connector type; one of " + ", ".join(CONNECTOR_TYPES) + ".",
                field="type",
            )
        if data.max_power_w is not None and not 0 < data.max_power_w <= MAX_CONNECTOR_POWER_W:
            raise InvalidInput("Between 1 W and 1 MW.", field="maxPowerW")
        if data.phases not in (None, 1, 3):
            raise InvalidInput("1 or 3 phases.", field="phases")
        changed = []
        for name in ("type", "max_power_w", "phases"):
            value = getattr(data, name)
            if getattr(connector, name) != value:
                setattr(connector, name, value)
                changed.append(name)
        if changed:
            actor = viewer.user_id
            audit.record(self.session, actor, "connector.update", connector, fields=changed)
        await self.session.commit()
        return connector

    def _require_manager(self, viewer: Viewer, station: ChargingStation) -> None:
        if station.site_id is None:
            require_admin(viewer)
        else:
            require_site_manager(viewer, station.site_id)

    @staticmethod
    def _identity(value: str) -> str:
        value = value.strip()
        if not _IDENTITY.match(value):
            raise InvalidInput(
                "Use 1 to 48 letters, digits or . _ - : * for the OCPP identity.",
                field="ocppIdentity",
            )
        return value

    @staticmethod
    def _description(value: str | None) -> str | None:
        if value is None:
            return None
        value = " ".join(value.split())
        if len(value) > 200:
            raise InvalidInput("At most 200 characters.", field="description")
        return value or None
