"""Charging: the rules behind OCPP, once, whatever the protocol version.

`Charging(session, bus)` gathers the services the OCPP adapter (and GraphQL) call:
registration (boot, credentials, pending stations), status (heartbeat, connectors),
authorization (badges and app starts) and sessions (start, meter values, stop).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.charging.authorization import (
    Authorization,
    AuthorizationResult,
    AuthorizationStatus,
)
from backend.domain.charging.curve import Reading
from backend.domain.charging.registration import BootInfo, BootResult, Registration
from backend.domain.charging.sessions import (
    ReadingsRequest,
    Sessions,
    StartRequest,
    StartResult,
    StopRequest,
    StopResult,
)
from backend.domain.charging.status import StationRef, StationStatus
from backend.events import EventBus, NullBus


class Charging:
    def __init__(
        self, session: AsyncSession, bus: EventBus | None = None, *, deferred: bool = False
    ) -> None:
        self.session = session
        self.bus: EventBus = bus or NullBus()
        self.registration = Registration(session, self.bus)
        self.status = StationStatus(session, self.bus)
        self.authorization = Authorization(session)
        self.sessions = Sessions(session, self.bus, deferred=deferred)

    async def authorize(self, station_id: uuid.UUID, uid: str) -> AuthorizationResult:
        """Authorize a badge (OCPP Authorize) and commit what it recorded."""
        result = await self.authorization.authorize_badge(station_id, uid)
        await self.session.commit()
        return result


__all__ = [
    "Authorization",
    "AuthorizationResult",
    "AuthorizationStatus",
    "BootInfo",
    "BootResult",
    "Charging",
    "Reading",
    "ReadingsRequest",
    "Registration",
    "Sessions",
    "StartRequest",
    "StartResult",
    "StationRef",
    "StationStatus",
    "StopRequest",
    "StopResult",
]
