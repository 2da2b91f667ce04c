"""Connectivity and connector status of stations.

A station is online while it is heard from (`last_seen_at`, see `stations_status.is_online`):
each heartbeat, boot and status notification refreshes it, and the OCPP adapter touches it at
most once a minute for other messages. Connectors are created the first time a station
mentions them. A status older than the one stored (a buffered message arriving late) is kept
out of the current status.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import AuditEntry, ChargingStation, Connector
from backend.domain.charging.reports import report_log
from backend.domain.stations_status import OFFLINE_AFTER
from backend.domain.system_logs import record
from backend.events import (
    ConnectorStatusChanged,
    EventBus,
    SessionPriced,
    StationNotice,
    StationStatusChanged,
)

NO_ERROR = {"NoError", "", None}


@dataclass(frozen=True)
class StationRef:
    """What the OCPP side keeps about its station between messages."""

    id: uuid.UUID
    ocpp_identity: str
    site_id: uuid.UUID | None
    registration_status: str
    lenient: bool


async def ensure_connector(
    session: AsyncSession, station_id: uuid.UUID, evse_id: int, connector_number: int
) -> Connector:
    connector = await session.scalar(
        select(Connector).where(
            Connector.station_id == station_id,
            Connector.evse_id == evse_id,
            Connector.connector_id == connector_number,
        )
    )
    if connector is None:
        connector = Connector(
            station_id=station_id, evse_id=evse_id, connector_id=connector_number, status="Unknown"
        )
        session.add(connector)
        await session.flush()
    return connector


class StationStatus:
    def __init__(self, session: AsyncSession, bus: EventBus) -> None:
        self.session = session
        self.bus = bus

    async def ref(self, identity: str) -> StationRef | None:
        station = await self.session.scalar(
            select(ChargingStation).where(ChargingStation.ocpp_identity == identity)
        )
        return None if station is None else station_ref(station)

    async def touch(self, station_id: uuid.UUID, at: datetime | None = None) -> datetime:
        at = at or utcnow()
        await self.session.execute(
            update(ChargingStation).where(ChargingStation.id == station_id).values(last_seen_at=at)
        )
        await self.session.commit()
        return at

    async def heartbeat(self, station_id: uuid.UUID) -> datetime:
        """The station is alive; the answer is the current time."""
        return await self.touch(station_id)

    async def connection_changed(self, station_id: uuid.UUID, connected: bool) -> None:
        station = await self.session.get(ChargingStation, station_id)
        if station is None:
            return
        if connected:
            station.last_seen_at = utcnow()
        else:
            station.offline_at = utcnow()  # its websocket closed: offline now, not in 10 minutes
        await self.session.commit()
        await self.bus.publish(station_event(station, connected=connected))

    async def mark_stale_offline(self, now: datetime | None = None) -> list[uuid.UUID]:
        """Mark offline the stations not heard from for OFFLINE_AFTER, and publish it once.

        One conditional UPDATE: a station is marked when it was seen (last_seen_at) after it
        was last marked (offline_at). When several server processes sweep at the same moment,
        the database lets one of them mark each station: the others' UPDATE no longer matches
        it, so the event is published once.
        """
        now = now or utcnow()
        stale = ChargingStation.last_seen_at < now - OFFLINE_AFTER
        not_marked = ChargingStation.offline_at.is_(None) | (
            ChargingStation.offline_at < ChargingStation.last_seen_at
        )
        marked = list(
            (
                await self.session.execute(
                    update(ChargingStation)
                    .where(stale, not_marked)
                    .values(offline_at=now)
                    .returning(ChargingStation.id)
                    .execution_options(synchronize_session=False)
                )
            ).scalars()
        )
        await self.session.commit()
        for station_id in marked:
            station = await self.session.get(ChargingStation, station_id)
            if station is not None:
                await self.bus.publish(station_event(station, connected=False))
        return marked

    async def connector_status(
        self,
        station_id: uuid.UUID,
        evse_id: int,
        connector_number: int,
        status: str,
        error_code: str | None,
        at: datetime | None,
    ) -> bool:
        """Record a connector's status. False when it was older than the one known."""
        at = at or utcnow()
        now = utcnow()
        station = await self.session.get(ChargingStation, station_id)
        if station is None:
            return False
        station.last_seen_at = now
        if evse_id == 0:
            # OCPP 1.6 connector 0: the station as a whole.
            await self.session.commit()
            await self.bus.publish(
                station_event(
                    station,
                    connected=True,
                    status=status,
                    error_code=None if error_code in NO_ERROR else error_code,
                )
            )
            return True
        connector = await ensure_connector(self.session, station_id, evse_id, connector_number)
        if connector.status_at is not None and at < connector.status_at:
            await self.session.commit()
            return False
        connector.status = status[:16]
        connector.error_code = None if error_code in NO_ERROR else (error_code or "")[:50]
        connector.status_at = at
        priced: SessionPriced | None = None
        if connector.status == "Available":
            # Free again: the session that stopped here ends its parking time now.
            from backend.domain.billing.costs import SessionCosts, running_cost

            ended = await SessionCosts(self.session).connector_available(connector.id, at)
            if ended is not None:
                # Its followers hear of its final cost.
                priced = SessionPriced(
                    session_id=ended.id,
                    station_id=ended.station_id,
                    site_id=station.site_id,
                    user_id=ended.user_id,
                    connector_id=ended.connector_id,
                    transaction_id=ended.ocpp_transaction_id,
                    available_at=ended.available_at,
                    cost=running_cost(ended),
                )
        await self.session.commit()
        await self.bus.publish(
            ConnectorStatusChanged(
                station_id=station_id,
                site_id=station.site_id,
                connector_id=connector.id,
                evse_id=evse_id,
                connector_number=connector_number,
                status=connector.status,
                error_code=connector.error_code,
                at=at,
            )
        )
        if priced is not None:
            await self.bus.publish(priced)
        return True

    async def notice(
        self,
        station_id: uuid.UUID,
        kind: str,
        data: dict[str, Any],
        *,
        audit: bool = False,
    ) -> None:
        """Firmware, diagnostics, security events, device reports: published for admins and
        kept in the station's system logs (a summary, see `report_log`).

        Security events also go to the audit log.
        """
        station = await self.session.get(ChargingStation, station_id)
        if station is None:
            return
        station.last_seen_at = utcnow()
        if audit:
            self.session.add(
                AuditEntry(
                    actor_user_id=None,
                    action=f"station.{kind}",
                    target_type="ChargingStation",
                    target_id=str(station_id),
                    details=data,
                )
            )
        entry = report_log(kind, data)
        record(
            self.session,
            entry.level,
            entry.category,
            entry.event,
            entry.message,
            station_id=station_id,
            ocpp_identity=station.ocpp_identity,
            details=entry.details,
        )
        await self.session.commit()
        await self.bus.publish(
            StationNotice(station_id=station_id, site_id=station.site_id, notice=kind, data=data)
        )


def station_ref(station: ChargingStation) -> StationRef:
    return StationRef(
        id=station.id,
        ocpp_identity=station.ocpp_identity,
        site_id=station.site_id,
        registration_status=station.registration_status.value,
        lenient=station.lenient,
    )


def station_event(
    station: ChargingStation,
    *,
    connected: bool,
    status: str | None = None,
    error_code: str | None = None,
) -> StationStatusChanged:
    return StationStatusChanged(
        station_id=station.id,
        site_id=station.site_id,
        ocpp_identity=station.ocpp_identity,
        registration_status=station.registration_status.value,
        connected=connected,
        last_seen_at=station.last_seen_at,
        status=status,
        error_code=error_code,
    )
