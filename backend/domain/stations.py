"""Charging stations as records: declared by admins, or registered by the OCPP side."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import ChargingStation, Connector, RegistrationStatus, SiteArea
from backend.domain import audit
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
        changed = [
            name
            for name, value in (
                ("type", data.type),
                ("max_power_w", data.max_power_w),
                ("phases", data.phases),
            )
            if getattr(connector, name) != value
        ]
        connector.type = data.type
        connector.max_power_w = data.max_power_w
        connector.phases = data.phases
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
