"""Connectivity of stations, judged from when they were last heard."""

from __future__ import annotations

from datetime import datetime, timedelta

from backend.db.base import utcnow

# A station heartbeats every few minutes; two missed beats mean it is offline.
OFFLINE_AFTER = timedelta(minutes=10)


def is_online(last_seen_at: datetime | None, now: datetime | None = None) -> bool:
    if last_seen_at is None:
        return False
    return (now or utcnow()) - last_seen_at < OFFLINE_AFTER


def station_online(
    last_seen_at: datetime | None, offline_at: datetime | None, now: datetime | None = None
) -> bool:
    """Heard from recently, and not marked offline since (its websocket closed, or a sweep)."""
    if offline_at is not None and last_seen_at is not None and offline_at >= last_seen_at:
        return False
    return is_online(last_seen_at, now)
