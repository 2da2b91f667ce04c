"""Stations introducing themselves: credentials, boot notifications, pending and acceptance.

- A known, accepted station boots Accepted with the heartbeat interval.
- An unknown station is created Pending (admins accept it later), unless its URL carries a
  valid registration token of a site area: then it is created Accepted into that area. A
  pending station presenting a valid token is accepted into the token's area as well.
- A rejected station stays Rejected.
- Every boot updates vendor, model, serial, firmware, OCPP version and last seen; a boot while a
  session is open on the station is a reboot mid-session: the session is closed with its last
  reading.

Station passwords (HTTP basic auth, OCPP security profiles 1 and 2) are generated here, 32
random bytes, and stored as their SHA-256: a random secret needs no slow hash, and a storm of
reconnects must stay cheap to check. Argon2 hashes are accepted too, for passwords set by hand.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import (
    ChargingStation,
    RegistrationStatus,
    SiteArea,
    SiteAreaRegistrationToken,
)
from backend.domain import audit
from backend.domain.access import require_admin, require_site_manager
from backend.domain.charging.sessions import REBOOT, Sessions
from backend.domain.charging.status import StationRef, station_event, station_ref
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.passwords import verify_password
from backend.domain.tokens import hash_token, new_token
from backend.domain.viewer import Viewer
from backend.events import EventBus

# Two missed heartbeats make a station offline (stations_status.OFFLINE_AFTER is 10 minutes).
HEARTBEAT_INTERVAL_S = 300
# A pending or rejected station retries its boot notification this often.
PENDING_RETRY_S = 60
REJECTED_RETRY_S = 3600

_SHA256 = "sha256$"


@dataclass(frozen=True)
class BootInfo:
    vendor: str | None
    model: str | None
    serial_number: str | None = None
    firmware_version: str | None = None
    ocpp_version: str | None = None


@dataclass(frozen=True)
class BootResult:
    status: RegistrationStatus
    interval_s: int
    station: StationRef
    closed_sessions: tuple[uuid.UUID, ...] = ()


def _short(value: str | None, length: int = 50) -> str | None:
    return value[:length] if value else None


def hash_station_password(password: str) -> str:
    return _SHA256 + hash_token(password)


def check_station_password(stored: str, password: str) -> bool:
    if stored.startswith(_SHA256):
        return hmac.compare_digest(stored, hash_station_password(password))
    return verify_password(stored, password)


class Registration:
    def __init__(self, session: AsyncSession, bus: EventBus) -> None:
        self.session = session
        self.bus = bus

    async def _by_identity(self, identity: str) -> ChargingStation | None:
        return await self.session.scalar(
            select(ChargingStation).where(ChargingStation.ocpp_identity == identity)
        )

    # --- the OCPP side ---------------------------------------------------------------------------

    async def authenticate(self, identity: str, password: str | None) -> bool:
        """May this connection speak for the station? A station without a password, or one not
        known yet, may connect (it waits as pending, or registers with a token)."""
        station = await self._by_identity(identity)
        if station is None or not station.password_hash:
            return True
        return password is not None and check_station_password(station.password_hash, password)

    async def _token_area(self, token: str | None) -> SiteArea | None:
        if not token:
            return None
        row = await self.session.scalar(
            select(SiteAreaRegistrationToken).where(
                SiteAreaRegistrationToken.token_hash == hash_token(token)
            )
        )
        now = utcnow()
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and row.expires_at <= now:
            return None
        return await self.session.get(SiteArea, row.site_area_id)

    async def boot(
        self, identity: str, info: BootInfo, registration_token: str | None = None
    ) -> BootResult:
        now = utcnow()
        station = await self._by_identity(identity)
        area = await self._token_area(registration_token)
        if station is None:
            station = ChargingStation(
                ocpp_identity=identity,
                registration_status=RegistrationStatus.ACCEPTED
                if area
                else RegistrationStatus.PENDING,
                site_area_id=area.id if area else None,
                site_id=area.site_id if area else None,
            )
            self.session.add(station)
            await self.session.flush()
            audit.record(
                self.session,
                None,
                "station.register" if area else "station.pending",
                station,
                **({"site_area_id": str(area.id)} if area else {}),
            )
        elif station.registration_status is RegistrationStatus.PENDING and area is not None:
            station.registration_status = RegistrationStatus.ACCEPTED
            station.site_area_id = area.id
            station.site_id = area.site_id
            audit.record(self.session, None, "station.register", station, site_area_id=str(area.id))
        station.vendor = _short(info.vendor) or station.vendor
        station.model = _short(info.model) or station.model
        station.serial_number = _short(info.serial_number) or station.serial_number
        station.firmware_version = _short(info.firmware_version) or station.firmware_version
        station.ocpp_version = _short(info.ocpp_version, 8) or station.ocpp_version
        station.last_seen_at = now
        # Booting again while a session is open: the station rebooted mid-session.
        sessions = Sessions(self.session, self.bus)
        closed = await sessions.close_open(station.id, REBOOT, commit=False)
        await sessions._commit()
        await self.bus.publish(station_event(station, connected=True))
        status = station.registration_status
        interval = {
            RegistrationStatus.ACCEPTED: HEARTBEAT_INTERVAL_S,
            RegistrationStatus.PENDING: PENDING_RETRY_S,
        }.get(status, REJECTED_RETRY_S)
        return BootResult(status, interval, station_ref(station), tuple(closed))

    # --- the admins' side (GraphQL) -----------------------------------------------------------

    async def _station(self, station_id: uuid.UUID) -> ChargingStation:
        station = await self.session.get(ChargingStation, station_id)
        if station is None:
            raise NotFound("No such charging station.")
        return station

    async def set_registration_status(
        self,
        viewer: Viewer,
        station_id: uuid.UUID,
        status: RegistrationStatus,
        site_area_id: uuid.UUID | None = None,
    ) -> ChargingStation:
        """Accept (optionally into a site area) or reject a station; administrators only.

        The station learns it at its next boot notification (pending stations retry every
        minute); the commands engineer may also trigger one.
        """
        require_admin(viewer)
        station = await self._station(station_id)
        if site_area_id is not None:
            area = await self.session.get(SiteArea, site_area_id)
            if area is None:
                raise NotFound("No such site area.", field="siteAreaId")
            station.site_area_id = area.id
            station.site_id = area.site_id
        station.registration_status = status
        audit.record(self.session, viewer.user_id, f"station.{status.value}", station)
        await self.session.commit()
        await self.bus.publish(station_event(station, connected=True))
        return station

    async def new_password(self, viewer: Viewer, station_id: uuid.UUID) -> str:
        """A fresh basic-auth password for the station, shown once; the old one stops working."""
        station = await self._station(station_id)
        if station.site_id is None:
            require_admin(viewer)
        else:
            require_site_manager(viewer, station.site_id)
        password = secrets.token_urlsafe(24)
        station.password_hash = hash_station_password(password)
        audit.record(self.session, viewer.user_id, "station.password", station)
        await self.session.commit()
        return password

    async def create_registration_token(
        self,
        viewer: Viewer,
        site_area_id: uuid.UUID,
        *,
        description: str | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[str, SiteAreaRegistrationToken]:
        """A token that lets stations register into the area; returned once, kept hashed."""
        area = await self.session.get(SiteArea, site_area_id)
        if area is None:
            raise NotFound("No such site area.", field="siteAreaId")
        require_site_manager(viewer, area.site_id)
        if description is not None and len(description) > 200:
            raise InvalidInput("At most 200 characters.", field="description")
        if expires_at is not None and expires_at <= utcnow():
            raise InvalidInput("The expiry must be in the future.", field="expiresAt")
        token, token_hash = new_token()
        row = SiteAreaRegistrationToken(
            site_area_id=area.id,
            token_hash=token_hash,
            description=description or None,
            created_by_user_id=viewer.user_id,
            expires_at=expires_at,
        )
        self.session.add(row)
        await self.session.flush()
        audit.record(self.session, viewer.user_id, "registration_token.create", row)
        await self.session.commit()
        return token, row

    async def revoke_registration_token(self, viewer: Viewer, token_id: uuid.UUID) -> None:
        row = await self.session.get(SiteAreaRegistrationToken, token_id)
        if row is None:
            raise NotFound("No such registration token.")
        area = await self.session.get(SiteArea, row.site_area_id)
        require_site_manager(viewer, area.site_id if area else None)
        row.revoked_at = row.revoked_at or utcnow()
        audit.record(self.session, viewer.user_id, "registration_token.revoke", row)
        await self.session.commit()
