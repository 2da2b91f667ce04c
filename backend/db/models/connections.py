"""Which server process holds each station's websocket: the shared registry behind commands.

Every server process has a row in `server_processes` and refreshes its `heartbeat_at` every
few seconds; a process whose heartbeat is stale (it crashed, or its host vanished) is ignored,
and so are the station connections it registered. A station's row in `station_connections`
is written when its websocket opens and removed when it closes; `connection_id` tells a
replaced connection from the current one.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, utcnow


class ServerProcess(Base):
    __tablename__ = "server_processes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class StationConnection(Base):
    __tablename__ = "station_connections"

    station_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("charging_stations.id", ondelete="CASCADE"), primary_key=True
    )
    process_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("server_processes.id", ondelete="CASCADE"), index=True
    )
    connection_id: Mapped[uuid.UUID]
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
