"""Tariffs in the product: create, edit, schedule and retire; choose and freeze one per session.

Who may write: administrators anywhere (the organization's tariff included); site
administrators and owners for their sites, their site areas and their stations.
Who may read: every signed-in user reads the organization's tariffs and those of the sites
they are assigned to (prices are public information for drivers); admins and demo users all.

Scheduling is validity: `valid_from` (inclusive) and `valid_until` (exclusive), both optional.
Retiring ends the validity now (or at a given time) and records when it was retired; a
retired tariff stays readable, and sessions that started under it keep their frozen copy.

When a session starts, `freeze` chooses among the tariffs attached where it takes place the
most specific one valid at its start (station > site area > the areas around it, nearest
first > site > organization; then the newest: latest `valid_from`, then latest created),
with `backend.pricing.select_tariff`, and copies it into the session with the site's time
zone. Edits never reach a session already started.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import (
    ChargingSession,
    ChargingStation,
    Site,
    SiteArea,
    Tariff,
    TariffScope,
)
from backend.domain import audit
from backend.domain.access import require_admin, require_login, require_site_manager
from backend.domain.billing import ocpi
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.sites import enclosing_areas
from backend.domain.viewer import Viewer
from backend.pricing import Location, Price, Scope, TariffCandidate, select_tariff
from backend.pricing import Tariff as PricingTariff

_SCOPES = {
    TariffScope.ORGANIZATION: Scope.ORGANIZATION,
    TariffScope.SITE: Scope.SITE,
    TariffScope.SITE_AREA: Scope.SITE_AREA,
    TariffScope.STATION: Scope.STATION,
}


@dataclass
class TariffData:
    name: str
    currency: str
    vat_percent: str
    elements: list[dict[str, Any]]
    """OCPI TariffElement objects (see `backend.domain.billing.ocpi`)."""
    scope: TariffScope = TariffScope.ORGANIZATION
    target_id: uuid.UUID | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None


def visible_tariffs(viewer: Viewer) -> ColumnElement[bool]:
    """Tariffs as an SQL filter: the organization's and those of one's sites."""
    if viewer.reads_everything:
        return true()
    if not viewer.authenticated:
        return false()
    if not viewer.member_site_ids:
        return Tariff.site_id.is_(None)
    return or_(Tariff.site_id.is_(None), Tariff.site_id.in_(viewer.member_site_ids))


def may_read(viewer: Viewer, tariff: Any) -> bool:
    if viewer.reads_everything:
        return True
    site_id = getattr(tariff, "site_id", None)
    return viewer.authenticated and (site_id is None or viewer.member_of(site_id))


def to_pricing(tariff: Tariff) -> PricingTariff:
    return ocpi.tariff_from_json(
        tariff.currency, tariff.vat_percent, tariff.elements, id=str(tariff.id), name=tariff.name
    )


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput("Give a time with its offset (ISO 8601).", field=field)
    return value


class Tariffs:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- reading -------------------------------------------------------------------------------

    async def get(self, viewer: Viewer, tariff_id: uuid.UUID) -> Tariff:
        require_login(viewer)
        tariff = await self.session.get(Tariff, tariff_id)
        if tariff is None or not may_read(viewer, tariff):
            raise NotFound("No such tariff.")
        return tariff

    # --- writing -------------------------------------------------------------------------------

    async def _site_of(self, scope: TariffScope, target_id: uuid.UUID | None) -> uuid.UUID | None:
        """The site a target belongs to (checked to exist)."""
        if scope is TariffScope.ORGANIZATION:
            if target_id is not None:
                raise InvalidInput("An organization tariff has no target.", field="targetId")
            return None
        if target_id is None:
            raise InvalidInput("Say which site, site area or station.", field="targetId")
        if scope is TariffScope.SITE:
            site = await self.session.get(Site, target_id)
            if site is None:
                raise NotFound("No such site.", field="targetId")
            return site.id
        if scope is TariffScope.SITE_AREA:
            area = await self.session.get(SiteArea, target_id)
            if area is None:
                raise NotFound("No such site area.", field="targetId")
            return area.site_id
        station = await self.session.get(ChargingStation, target_id)
        if station is None:
            raise NotFound("No such station.", field="targetId")
        if station.site_id is None:
            raise InvalidInput("This station belongs to no site yet.", field="targetId")
        return station.site_id

    async def _authorize(
        self, viewer: Viewer, scope: TariffScope, site_id: uuid.UUID | None
    ) -> None:
        if scope is TariffScope.ORGANIZATION:
            require_admin(viewer)
        else:
            require_site_manager(viewer, site_id)

    def _validate(self, data: TariffData) -> PricingTariff:
        name = " ".join(data.name.split())
        if not name:
            raise InvalidInput("A name is required.", field="name")
        if len(name) > 200:
            raise InvalidInput("At most 200 characters.", field="name")
        data.name = name
        data.currency = data.currency.strip().upper()
        _aware(data.valid_from, "validFrom")
        _aware(data.valid_until, "validUntil")
        if (
            data.valid_from is not None
            and data.valid_until is not None
            and data.valid_until <= data.valid_from
        ):
            raise InvalidInput("The end of validity must be after its start.", field="validUntil")
        return ocpi.tariff_from_json(data.currency, data.vat_percent, data.elements)

    def _apply(
        self, tariff: Tariff, data: TariffData, model: PricingTariff, site_id: uuid.UUID | None
    ) -> None:
        tariff.name = data.name
        tariff.currency = model.currency
        tariff.vat_percent = str(model.vat_percent)
        tariff.elements = ocpi.elements_to_json(model.elements)
        tariff.scope = data.scope
        tariff.target_id = data.target_id
        tariff.site_id = site_id
        tariff.valid_from = data.valid_from
        tariff.valid_until = data.valid_until

    async def create(self, viewer: Viewer, data: TariffData) -> Tariff:
        require_login(viewer)
        site_id = await self._site_of(data.scope, data.target_id)
        await self._authorize(viewer, data.scope, site_id)
        model = self._validate(data)
        tariff = Tariff(created_by_user_id=viewer.user_id)
        self._apply(tariff, data, model, site_id)
        self.session.add(tariff)
        await self.session.flush()
        audit.record(self.session, viewer.user_id, "tariff.create", tariff)
        await self.session.commit()
        return tariff

    async def _writable(self, viewer: Viewer, tariff_id: uuid.UUID) -> Tariff:
        tariff = await self.get(viewer, tariff_id)
        await self._authorize(viewer, tariff.scope, tariff.site_id)
        return tariff

    async def update(self, viewer: Viewer, tariff_id: uuid.UUID, data: TariffData) -> Tariff:
        """Edit a tariff (sessions already started keep the copy they froze)."""
        tariff = await self._writable(viewer, tariff_id)
        site_id = await self._site_of(data.scope, data.target_id)
        await self._authorize(viewer, data.scope, site_id)
        model = self._validate(data)
        self._apply(tariff, data, model, site_id)
        if tariff.retired_at is not None and (
            tariff.valid_until is None or tariff.valid_until > utcnow()
        ):
            tariff.retired_at = None  # scheduled again
        audit.record(self.session, viewer.user_id, "tariff.update", tariff)
        await self.session.commit()
        return tariff

    async def retire(
        self, viewer: Viewer, tariff_id: uuid.UUID, at: datetime | None = None
    ) -> Tariff:
        """End the tariff's validity at `at` (default now); it no longer applies to new
        sessions from then on."""
        tariff = await self._writable(viewer, tariff_id)
        now = utcnow()
        at = _aware(at, "at") or now
        if tariff.valid_from is not None and at <= tariff.valid_from:
            at = tariff.valid_from  # never valid: retiring before its start cancels it
        if tariff.valid_until is None or at < tariff.valid_until:
            tariff.valid_until = at
        tariff.retired_at = now
        audit.record(self.session, viewer.user_id, "tariff.retire", tariff)
        await self.session.commit()
        return tariff

    # --- sessions --------------------------------------------------------------------------------

    async def choose(self, station_id: uuid.UUID, at: datetime) -> tuple[Tariff, str] | None:
        """The tariff that applies at the station at `at`, with the site's time zone."""
        station = await self.session.get(ChargingStation, station_id)
        if station is None:
            return None
        enclosing = (
            await enclosing_areas(self.session, station.site_area_id)
            if station.site_area_id is not None
            else []
        )
        location = Location(
            site_id=station.site_id,
            site_area_id=station.site_area_id,
            station_id=station.id,
            enclosing_area_ids=tuple(enclosing),
        )
        targets = [t for t in (station.site_id, station.site_area_id, *enclosing, station.id) if t]
        rows = list(
            await self.session.scalars(
                select(Tariff).where(
                    or_(Tariff.scope == TariffScope.ORGANIZATION, Tariff.target_id.in_(targets))
                )
            )
        )
        candidates = [
            TariffCandidate(
                ref=row,
                scope=_SCOPES[row.scope],
                target_id=row.target_id,
                created_at=row.created_at,
                valid_from=row.valid_from,
                valid_until=row.valid_until,
            )
            for row in rows
        ]
        chosen = select_tariff(candidates, location, at)
        if chosen is None:
            return None
        zone = "UTC"
        if station.site_id is not None:
            zone = (
                await self.session.scalar(select(Site.timezone).where(Site.id == station.site_id))
            ) or "UTC"
        return chosen.ref, zone

    async def freeze(self, charging: ChargingSession) -> None:
        """Choose the session's tariff at its start and copy it into the session."""
        found = await self.choose(charging.station_id, charging.started_at)
        if found is None:
            return
        tariff, zone = found
        charging.tariff_id = tariff.id
        charging.tariff_snapshot = snapshot(tariff, zone)
        charging.cost_currency = tariff.currency


def snapshot(tariff: Tariff, time_zone: str) -> dict[str, Any]:
    """What a session keeps of its tariff: enough to price it and to show it, forever."""
    return {
        "id": str(tariff.id),
        "name": tariff.name,
        "currency": tariff.currency,
        "vat_percent": tariff.vat_percent,
        "elements": tariff.elements,
        "scope": tariff.scope.value,
        "target_id": None if tariff.target_id is None else str(tariff.target_id),
        "site_id": None if tariff.site_id is None else str(tariff.site_id),
        "valid_from": None if tariff.valid_from is None else tariff.valid_from.isoformat(),
        "valid_until": None if tariff.valid_until is None else tariff.valid_until.isoformat(),
        "created_at": tariff.created_at.isoformat(),
        "time_zone": time_zone,
        "frozen_at": utcnow().isoformat(),
    }


def snapshot_tariff(data: dict[str, Any]) -> PricingTariff:
    return ocpi.tariff_from_json(
        data["currency"], data["vat_percent"], data["elements"], id=data["id"], name=data["name"]
    )


@dataclass(frozen=True)
class PreviewProfile:
    """A simple session: charging at constant power, then idle while still plugged in."""

    started_at: datetime
    duration_minutes: int
    energy_wh: int
    idle_minutes_after: int = 0
    time_zone: str | None = None


async def preview(
    session: AsyncSession,
    viewer: Viewer,
    profile: PreviewProfile,
    *,
    tariff_id: uuid.UUID | None = None,
    data: TariffData | None = None,
) -> Price:
    """What `profile` would cost under a stored tariff (one the viewer may read) or a draft."""
    import zoneinfo
    from datetime import timedelta

    from backend.pricing import MeterSample, build_profile, price_session

    require_login(viewer)
    if (tariff_id is None) == (data is None):
        raise InvalidInput("Give either a tariff id or a tariff.", field="tariffId")
    zone = profile.time_zone
    if tariff_id is not None:
        stored = await Tariffs(session).get(viewer, tariff_id)
        model = to_pricing(stored)
        if zone is None and stored.site_id is not None:
            zone = await session.scalar(select(Site.timezone).where(Site.id == stored.site_id))
    else:
        assert data is not None
        model = Tariffs(session)._validate(data)
    zone = zone or "UTC"
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("Unknown time zone.", field="profile.siteTimeZone") from None
    started = _aware(profile.started_at, "profile.startedAt")
    assert started is not None
    if not 0 <= profile.duration_minutes <= 7 * 24 * 60:
        raise InvalidInput("Between 0 and 10080 minutes.", field="profile.durationMinutes")
    if not 0 <= profile.idle_minutes_after <= 7 * 24 * 60:
        raise InvalidInput("Between 0 and 10080 minutes.", field="profile.idleMinutesAfter")
    if not 0 <= profile.energy_wh <= 10_000_000:
        raise InvalidInput("Between 0 and 10000000 Wh.", field="profile.energyWh")
    stopped = started + timedelta(minutes=profile.duration_minutes)
    priced = build_profile(
        started_at=started,
        samples=[MeterSample(stopped, Decimal(profile.energy_wh))],
        meter_start_wh=Decimal(0),
        stopped_at=stopped,
        available_at=stopped + timedelta(minutes=profile.idle_minutes_after),
    )
    return price_session(model, priced, zone)
