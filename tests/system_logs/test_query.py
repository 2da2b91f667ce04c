"""`systemLogs` through the real API: administrators only; system logs and audit entries merged
newest first, page by page without a gap or a repeat; every filter; clear errors."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from backend.db.base import utcnow
from backend.db.models import (
    AuditEntry,
    ChargingStation,
    LogCategory,
    LogLevel,
    RegistrationStatus,
    Role,
    SystemLogEntry,
)
from tests.conftest import Api

QUERY = """
query($f: SystemLogFilter, $first: Int, $after: String) {
  systemLogs(filter: $f, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id source at level category event message stationId ocppIdentity userId details
    } }
  }
}
"""


async def _world(sessionmaker: Any, admin_id: Any) -> dict[str, Any]:
    """Ten system log rows a minute apart, and audit entries between them (one about a
    station, one mirrored by a security event, which the view leaves out)."""
    now = utcnow().replace(microsecond=0)
    async with sessionmaker() as db:
        station = ChargingStation(
            ocpp_identity="CP-LOGS", registration_status=RegistrationStatus.ACCEPTED
        )
        db.add(station)
        await db.flush()
        levels = [LogLevel.INFO, LogLevel.WARNING, LogLevel.ERROR]
        categories = [LogCategory.OCPP, LogCategory.SECURITY, LogCategory.SYSTEM]
        await db.execute(
            insert(SystemLogEntry),
            [
                {
                    "at": now - timedelta(minutes=n),
                    "level": levels[n % 3],
                    "category": categories[n % 3],
                    "event": f"test.event_{n}",
                    "message": f"Message number {n}",
                    "station_id": station.id if n % 2 == 0 else None,
                    "ocpp_identity": "CP-LOGS" if n % 2 == 0 else None,
                    "details": {"n": n},
                }
                for n in range(10)
            ],
        )
        await db.execute(
            insert(AuditEntry),
            [
                {
                    "at": now - timedelta(minutes=2),  # the same time as a system log row
                    "actor_user_id": admin_id,
                    "action": "station.update",
                    "target_type": "ChargingStation",
                    "target_id": str(station.id),
                    "details": {"fields": ["description"]},
                },
                {
                    "at": now - timedelta(minutes=4, seconds=30),
                    "actor_user_id": admin_id,
                    "action": "site.create",
                    "target_type": "Site",
                    "target_id": "00000000-0000-0000-0000-000000000001",
                    "details": {},
                },
                {
                    "at": now - timedelta(minutes=5, seconds=30),
                    "actor_user_id": None,
                    "action": "user.login_failed",
                    "target_type": "User",
                    "target_id": str(admin_id),
                    "details": {},
                },
            ],
        )
        await db.commit()
        return {"now": now, "station_id": station.id}


async def _all(api: Api, token: str, f: dict[str, Any] | None = None, first: int = 3) -> list[Any]:
    nodes: list[Any] = []
    after = None
    while True:
        data = await api.ok(QUERY, {"f": f, "first": first, "after": after}, token=token)
        page = data["systemLogs"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def test_admins_only(api: Api, make_user: Any) -> None:
    for role in (Role.BASIC, Role.DEMO):
        person = await make_user(role)
        error = await api.error(QUERY, token=person.token)
        assert error["code"] == "FORBIDDEN", role
    assert (await api.error(QUERY))["code"] == "UNAUTHENTICATED"


async def test_merged_newest_first_page_by_page(
    api: Api, make_user: Any, sessionmaker: Any
) -> None:
    admin = await make_user(Role.ADMIN)
    world = await _world(sessionmaker, admin.id)
    nodes = await _all(api, admin.token)
    # 10 rows and 2 audit entries (the mirrored one is left out), each once, newest first.
    assert len(nodes) == 12 and len({n["id"] for n in nodes}) == 12
    events = [n["event"] for n in nodes]
    assert events[:4] == ["test.event_0", "test.event_1", "test.event_2", "station.update"]
    assert "user.login_failed" not in events
    times = [n["at"] for n in nodes]
    assert times == sorted(times, reverse=True)
    audit = next(n for n in nodes if n["event"] == "station.update")
    assert audit["source"] == "AUDIT" and audit["category"] == "ADMIN" and audit["level"] == "INFO"
    assert audit["stationId"] == str(world["station_id"])
    assert audit["ocppIdentity"] == "CP-LOGS"  # looked up for the link
    assert audit["userId"] == str(admin.id)
    assert audit["details"]["fields"] == ["description"]
    first = nodes[0]
    assert first["source"] == "SYSTEM" and first["level"] == "INFO" and first["category"] == "OCPP"
    assert first["details"] == {"n": 0} and first["stationId"] == str(world["station_id"])
    data = await api.ok(QUERY, {"first": 5}, token=admin.token)
    assert data["systemLogs"]["totalCount"] == 12


async def test_filters(api: Api, make_user: Any, sessionmaker: Any) -> None:
    admin = await make_user(Role.ADMIN)
    world = await _world(sessionmaker, admin.id)
    token = admin.token

    async def events(f: dict[str, Any]) -> list[str]:
        return [n["event"] for n in await _all(api, token, f, first=100)]

    assert await events({"category": "SECURITY"}) == [
        "test.event_1",
        "test.event_4",
        "test.event_7",
    ]
    assert await events({"category": "ADMIN"}) == ["station.update", "site.create"]
    assert await events({"level": "ERROR"}) == ["test.event_2", "test.event_5", "test.event_8"]
    # Audit entries are information.
    assert "station.update" in await events({"level": "INFO"})
    station = await events({"stationId": str(world["station_id"])})
    assert station == [
        "test.event_0",
        "test.event_2",
        "station.update",
        "test.event_4",
        "test.event_6",
        "test.event_8",
    ]
    assert await events({"search": "NUMBER 3"}) == ["test.event_3"]
    assert await events({"search": "site."}) == ["site.create"]
    assert await events({"search": "100%_"}) == []
    now = world["now"]
    window = {
        "from": (now - timedelta(minutes=3)).isoformat(),
        "to": (now - timedelta(minutes=1)).isoformat(),
    }
    assert await events(window) == ["test.event_2", "station.update", "test.event_3"]
    combined = {"category": "OCPP", "stationId": str(world["station_id"]), "level": "INFO"}
    assert await events(combined) == ["test.event_0", "test.event_6"]


async def test_clear_errors(api: Api, make_user: Any) -> None:
    admin = await make_user(Role.ADMIN)
    bad_cursor = base64.urlsafe_b64encode(b"nonsense").decode()
    error = await api.error(QUERY, {"after": bad_cursor}, token=admin.token)
    assert error["code"] == "BAD_USER_INPUT" and error["field"] == "after"
    error = await api.error(QUERY, {"first": 500}, token=admin.token)
    assert error["field"] == "first"
    error = await api.error(QUERY, {"f": {"stationId": "nope"}}, token=admin.token)
    assert error["field"] == "stationId"
    now = utcnow()
    backwards = {"from": now.isoformat(), "to": (now - timedelta(days=1)).isoformat()}
    error = await api.error(QUERY, {"f": backwards}, token=admin.token)
    assert error["field"] == "to"
