"""A site in Paris with one station, an admin, a site admin and a driver, for tariff tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import (
    ChargingStation,
    Connector,
    RegistrationStatus,
    Role,
    Site,
    SiteArea,
    SiteRole,
)
from backend.domain.viewer import Viewer
from tests.conftest import Person


@dataclass
class Place:
    site_id: uuid.UUID
    other_site_id: uuid.UUID
    area_id: uuid.UUID
    station_id: uuid.UUID
    admin: Person
    site_admin: Person
    driver: Person
    stranger: Person

    @property
    def admin_viewer(self) -> Viewer:
        return Viewer(user_id=self.admin.id, role=Role.ADMIN)

    @property
    def site_admin_viewer(self) -> Viewer:
        return Viewer(
            user_id=self.site_admin.id,
            role=Role.BASIC,
            site_roles={self.site_id: SiteRole.SITE_ADMIN},
        )


@pytest.fixture
async def place(sessionmaker: async_sessionmaker[AsyncSession], make_user: Any) -> Place:
    async with sessionmaker() as db:
        site = Site(name="Paris", timezone="Europe/Paris")
        other = Site(name="Lyon", timezone="Europe/Paris")
        db.add_all([site, other])
        await db.flush()
        area = SiteArea(site_id=site.id, name="P1", max_power_w=100_000)
        db.add(area)
        await db.flush()
        station = ChargingStation(
            ocpp_identity="TARIFF-1",
            site_id=site.id,
            site_area_id=area.id,
            registration_status=RegistrationStatus.ACCEPTED,
        )
        db.add(station)
        await db.flush()
        db.add(Connector(station_id=station.id, evse_id=1, connector_id=1, status="Available"))
        await db.commit()
        ids = (site.id, other.id, area.id, station.id)
    return Place(
        *ids,
        admin=await make_user(Role.ADMIN),
        site_admin=await make_user(sites={ids[0]: SiteRole.SITE_ADMIN}),
        driver=await make_user(sites={ids[0]: SiteRole.MEMBER}),
        stranger=await make_user(sites={ids[1]: SiteRole.MEMBER}),
    )
