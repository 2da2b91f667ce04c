"""Sites, their members and their site areas."""

from __future__ import annotations

import enum
import functools
import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import ChargingStation, Site, SiteArea, SiteMember, SiteRole, User
from backend.domain import audit
from backend.domain.access import require_admin, require_site_manager
from backend.domain.accounts import normalize_email
from backend.domain.errors import Forbidden, InvalidInput, NotFound
from backend.domain.throttle import Limit, Throttle
from backend.domain.viewer import Viewer

# Adding a member by email tells a site manager whether an address has an account. Admins can
# list users anyway; for site managers unknown addresses are counted, so that trying a list of
# addresses cannot map who has an account. Counted per manager, not per network address.
MEMBER_EMAIL_MISSES = Limit("site_member_email_miss", 20, timedelta(hours=1))


@dataclass
class AddressData:
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None


@dataclass
class SiteData:
    name: str
    address: AddressData | None = None
    latitude: float | None = None
    longitude: float | None = None
    timezone: str | None = None


class Keep(enum.Enum):
    """A field left as it is (as opposed to None: cleared)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass
class SiteAreaData:
    site_id: uuid.UUID
    name: str
    max_power_w: int
    phases: int = 3
    voltage: int = 230
    access_control: bool = True
    smart_charging: bool = False
    # The enclosing area; None: directly under the site. KEEP leaves the nesting as it is, so
    # a client unaware of nesting that saves an area's power does not take it out of its parent.
    parent_area_id: uuid.UUID | Keep | None = KEEP


@functools.cache
def _time_zones() -> frozenset[str]:
    # The IANA names known here; "Europe" (a folder) or a very long name is simply unknown.
    return frozenset(zoneinfo.available_timezones())


def _grants_rights(viewer: Viewer, site_id: uuid.UUID) -> bool:
    return viewer.is_admin or viewer.site_roles.get(site_id) is SiteRole.SITE_OWNER


def _name(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise InvalidInput("A name is required.", field="name")
    if len(value) > 200:
        raise InvalidInput("At most 200 characters.", field="name")
    return value


def _audit_id(value: uuid.UUID | None) -> str | None:
    # Ids only, like the audit log's targets: it says where an area went, not its name.
    return None if value is None else str(value)


async def enclosing_areas(session: AsyncSession, area_id: uuid.UUID) -> list[uuid.UUID]:
    """The areas around ``area_id``, nearest first (one query over its site's areas)."""
    same_site = select(SiteArea.site_id).where(SiteArea.id == area_id).scalar_subquery()
    rows = await session.execute(
        select(SiteArea.id, SiteArea.parent_area_id).where(SiteArea.site_id == same_site)
    )
    parents = {row_id: row_parent for row_id, row_parent in rows}
    chain: list[uuid.UUID] = []
    current = parents.get(area_id)
    # Areas are kept free of loops; the guard only keeps bad data from hanging a caller.
    while current is not None and current != area_id and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


class Sites:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_site(self, site_id: uuid.UUID) -> Site:
        site = await self.session.get(Site, site_id)
        if site is None:
            raise NotFound("No such site.")
        return site

    async def get_area(self, area_id: uuid.UUID) -> SiteArea:
        area = await self.session.get(SiteArea, area_id)
        if area is None:
            raise NotFound("No such site area.")
        return area

    # --- sites -------------------------------------------------------------------------------

    async def create_site(self, viewer: Viewer, data: SiteData) -> Site:
        require_admin(viewer)
        site = Site()
        self._apply_site(site, data)
        self.session.add(site)
        await self.session.flush()
        audit.record(self.session, viewer.user_id, "site.create", site)
        await self.session.commit()
        return site

    async def update_site(self, viewer: Viewer, site_id: uuid.UUID, data: SiteData) -> Site:
        require_site_manager(viewer, site_id)
        site = await self.get_site(site_id)
        self._apply_site(site, data)
        audit.record(self.session, viewer.user_id, "site.update", site)
        await self.session.commit()
        return site

    async def delete_site(self, viewer: Viewer, site_id: uuid.UUID) -> None:
        require_admin(viewer)
        site = await self.get_site(site_id)
        # Stations stay (with their history) and wait to be assigned to another site.
        await self.session.execute(
            update(ChargingStation)
            .where(ChargingStation.site_id == site_id)
            .values(site_id=None, site_area_id=None)
        )
        # The areas go with the site; unnested first, or the database's cascade from a parent
        # would delete children the session is about to delete itself.
        await self.session.execute(
            update(SiteArea).where(SiteArea.site_id == site_id).values(parent_area_id=None)
        )
        audit.record(self.session, viewer.user_id, "site.delete", site)
        await self.session.delete(site)
        await self.session.commit()

    def _apply_site(self, site: Site, data: SiteData) -> None:
        site.name = _name(data.name)
        if data.address is not None:
            a = data.address
            for attr, limit in (
                ("street", 200),
                ("postal_code", 20),
                ("city", 100),
                ("region", 100),
                ("country", 100),
            ):
                value = getattr(a, attr)
                value = " ".join(value.split()) if value else None
                if value and len(value) > limit:
                    api_name = "postalCode" if attr == "postal_code" else attr
                    raise InvalidInput(f"At most {limit} characters.", field=f"address.{api_name}")
                setattr(site, f"address_{attr}", value or None)
        if (data.latitude is None) != (data.longitude is None):
            raise InvalidInput("Give both latitude and longitude, or neither.", field="latitude")
        if data.latitude is not None and not -90 <= data.latitude <= 90:
            raise InvalidInput("Latitude is between -90 and 90.", field="latitude")
        if data.longitude is not None and not -180 <= data.longitude <= 180:
            raise InvalidInput("Longitude is between -180 and 180.", field="longitude")
        site.latitude, site.longitude = data.latitude, data.longitude
        if data.timezone is not None:
            if data.timezone not in _time_zones():
                raise InvalidInput("Unknown time zone.", field="timezone")
            site.timezone = data.timezone
        elif site.timezone is None:
            site.timezone = "Europe/Paris"

    # --- members -----------------------------------------------------------------------------

    async def set_member(
        self, viewer: Viewer, site_id: uuid.UUID, user_id: uuid.UUID, role: SiteRole
    ) -> SiteMember:
        require_site_manager(viewer, site_id)
        site = await self.get_site(site_id)
        if await self.session.get(User, user_id) is None:
            raise NotFound("No such user.", field="userId")
        # Only admins and owners hand out management rights; site admins add plain members.
        if role is not SiteRole.MEMBER and not _grants_rights(viewer, site_id):
            raise Forbidden("Only administrators and site owners grant site rights.")
        member = await self.session.get(SiteMember, (site_id, user_id))
        if (
            member is not None
            and member.role is not SiteRole.MEMBER
            and not _grants_rights(viewer, site_id)
        ):
            raise Forbidden("Only administrators and site owners change site rights.")
        if member is None:
            member = SiteMember(site_id=site_id, user_id=user_id, role=role)
            self.session.add(member)
        else:
            member.role = role
        audit.record(
            self.session,
            viewer.user_id,
            "site.set_member",
            site,
            user=str(user_id),
            role=role.value,
        )
        await self.session.commit()
        return member

    async def add_member_by_email(
        self,
        viewer: Viewer,
        site_id: uuid.UUID,
        email: str,
        role: SiteRole,
        *,
        throttle_secret: str,
    ) -> SiteMember:
        """Assign the account with exactly this address to the site (or change its role).

        Only an exact address finds someone, and an unknown one, an erased account and a typo
        all get the same NOT_FOUND: nothing here lists or hints at other accounts.
        """
        require_site_manager(viewer, site_id)
        await self.get_site(site_id)
        address = normalize_email(email)
        # Checked before the lookup, so that a refused grant says nothing about the address.
        if role is not SiteRole.MEMBER and not _grants_rights(viewer, site_id):
            raise Forbidden("Only administrators and site owners grant site rights.")
        throttle = Throttle(self.session, throttle_secret)
        client = None if viewer.is_admin else str(viewer.user_id)
        await throttle.check(MEMBER_EMAIL_MISSES, client, utcnow())
        user_id = await self.session.scalar(
            select(User.id).where(User.email == address, User.erased_at.is_(None))
        )
        if user_id is None:
            await throttle.hit(MEMBER_EMAIL_MISSES, client, utcnow())
            await self.session.commit()
            raise NotFound("No account with this email address.", field="email")
        return await self.set_member(viewer, site_id, user_id, role)

    async def remove_member(self, viewer: Viewer, site_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        require_site_manager(viewer, site_id)
        member = await self.session.get(SiteMember, (site_id, user_id))
        if member is None:
            return False
        if member.role is not SiteRole.MEMBER and not _grants_rights(viewer, site_id):
            raise Forbidden("Only administrators and site owners remove site rights.")
        audit.record(
            self.session,
            viewer.user_id,
            "site.remove_member",
            await self.get_site(site_id),
            user=str(user_id),
        )
        await self.session.delete(member)
        await self.session.commit()
        return True

    # --- site areas --------------------------------------------------------------------------

    async def create_area(self, viewer: Viewer, data: SiteAreaData) -> SiteArea:
        require_site_manager(viewer, data.site_id)
        await self.get_site(data.site_id)
        area = SiteArea(site_id=data.site_id)
        self._apply_area(area, data)
        if data.parent_area_id is not KEEP:
            await self._check_parent(area.site_id, None, data.parent_area_id)
            area.parent_area_id = data.parent_area_id
        self.session.add(area)
        await self.session.flush()
        audit.record(
            self.session,
            viewer.user_id,
            "site_area.create",
            area,
            parent_area=_audit_id(area.parent_area_id),
        )
        await self.session.commit()
        return area

    async def update_area(self, viewer: Viewer, area_id: uuid.UUID, data: SiteAreaData) -> SiteArea:
        area = await self.get_area(area_id)
        require_site_manager(viewer, area.site_id)
        if data.site_id != area.site_id:
            raise InvalidInput("A site area cannot move to another site.", field="siteId")
        self._apply_area(area, data)
        moved: dict[str, Any] = {}
        if data.parent_area_id is not KEEP and data.parent_area_id != area.parent_area_id:
            await self._check_parent(area.site_id, area.id, data.parent_area_id)
            area.parent_area_id = data.parent_area_id
            moved["parent_area"] = _audit_id(area.parent_area_id)
        audit.record(self.session, viewer.user_id, "site_area.update", area, **moved)
        await self.session.commit()
        return area

    async def delete_area(self, viewer: Viewer, area_id: uuid.UUID) -> None:
        """Delete an area; its stations stay and wait to be assigned again.

        An area with areas inside it is refused rather than re-attaching them to its parent
        (or cascading): its limit protects a real feeder for the areas under it, and a tariff
        on it prices their stations, so removing it silently would change both. The manager
        moves or deletes the inner areas first.
        """
        area = await self.get_area(area_id)
        require_site_manager(viewer, area.site_id)
        inner = list(
            await self.session.scalars(
                select(SiteArea.name)
                .where(SiteArea.parent_area_id == area_id)
                .order_by(SiteArea.name)
            )
        )
        if inner:
            raise InvalidInput(
                f"Areas are inside this one ({', '.join(inner)}): move or delete them first.",
                innerAreas=inner,
            )
        await self.session.execute(
            update(ChargingStation)
            .where(ChargingStation.site_area_id == area_id)
            .values(site_id=None, site_area_id=None)
        )
        audit.record(self.session, viewer.user_id, "site_area.delete", area)
        await self.session.delete(area)
        await self.session.commit()

    def _apply_area(self, area: SiteArea, data: SiteAreaData) -> None:
        area.name = _name(data.name)
        if not 1_000 <= data.max_power_w <= 100_000_000:
            raise InvalidInput("Maximum power is between 1 kW and 100 MW.", field="maxPowerW")
        if data.phases not in (1, 3):
            raise InvalidInput("A site area has 1 or 3 phases.", field="phases")
        if data.voltage not in (110, 120, 127, 208, 220, 230, 240, 400):
            raise InvalidInput(
                "Unusual voltage: use the phase-to-neutral voltage.", field="voltage"
            )
        area.max_power_w = data.max_power_w
        area.phases = data.phases
        area.voltage = data.voltage
        area.access_control = data.access_control
        area.smart_charging = data.smart_charging

    async def _check_parent(
        self, site_id: uuid.UUID, area_id: uuid.UUID | None, parent_id: uuid.UUID | None
    ) -> None:
        """A parent exists, is on the area's site, and is neither the area nor inside it
        (`area_id` None: a new area, with nothing inside it yet)."""
        if parent_id is None:
            return
        if parent_id == area_id:
            raise InvalidInput("An area cannot be inside itself.", field="parentAreaId")
        parent = await self.session.get(SiteArea, parent_id)
        if parent is None:
            raise InvalidInput("No such site area.", field="parentAreaId")
        if parent.site_id != site_id:
            raise InvalidInput("The enclosing area must be on the same site.", field="parentAreaId")
        if area_id is not None and area_id in await enclosing_areas(self.session, parent_id):
            raise InvalidInput(
                "The chosen area is inside this one: that would make a loop.",
                field="parentAreaId",
            )

    async def member_site_ids(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        return list(
            await self.session.scalars(
                select(SiteMember.site_id).where(SiteMember.user_id == user_id)
            )
        )
