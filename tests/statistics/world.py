"""A small, hand-countable history for statistics, exports and forecasts.

Two sites: Alpha (area A1: stations CS-1, CS-2) in Grenoble, Beta (area B1: station CS-3) in
Munich. Dora charges at both; Otto restricted processing (`exclude_from_analytics`); Olga
objected to data-science exports only; Sam administers Alpha; Ann is an administrator; Dee a
demo user. Completed sessions (UTC):

| # | who  | station | start            | stop             | Wh     | idle s | cost            |
| - | ---- | ------- | ---------------- | ---------------- | ------ | ------ | --------------- |
| 1 | Dora | CS-1    | 03-01 10:17:05   | 03-01 12:17:05   | 10 000 | 1 800  | EUR 300 / 360   |
| 2 | Dora | CS-2    | 03-01 23:05:30   | 03-02 02:05:30   | 15 000 | 3 600  | EUR 450 / 540   |
| 3 | Dora | CS-3    | 03-15 08:12:40   | 03-15 09:42:40   |  5 000 |     0  | CHF 200 / 216   |
| 4 | Otto | CS-1    | 03-02 09:21:00   | 03-02 10:21:00   |  7 000 |   600  | EUR 210 / 252   |
| 5 | Otto | CS-3    | 04-01 12:33:00   | 04-01 13:33:00   |  3 000 |     0  | none            |
| 6 | —    | CS-1    | 04-02 07:44:10   | 04-02 08:14:10   |  1 000 |     0  | none            |
| 7 | Olga | CS-3    | 04-03 18:02:03   | 04-03 19:32:03   |  4 000 |   900  | CHF 120 / 130   |

Session 2 spans midnight: statistics count it on March 1st, the day it started.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import (
    ChargingSession,
    ChargingStation,
    RegistrationStatus,
    RfidCard,
    Role,
    SessionStatus,
    Site,
    SiteArea,
    SiteRole,
    Vehicle,
)
from tests.conftest import Person


def t(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


@dataclass
class StatsWorld:
    alpha: uuid.UUID
    beta: uuid.UUID
    area_a1: uuid.UUID
    area_b1: uuid.UUID
    cs1: uuid.UUID
    cs2: uuid.UUID
    cs3: uuid.UUID
    dora: Person
    otto: Person
    olga: Person
    sam: Person
    ann: Person
    dee: Person
    sessions: dict[int, uuid.UUID]
    # What each person is, for searching the exports for them.
    identities: dict[str, dict[str, str]]


PEOPLE: dict[str, dict[str, Any]] = {
    "dora": {"first_name": "Dora", "last_name": "Explorer", "phone": "+33 4 76 00 00 01"},
    "otto": {"first_name": "Otto", "last_name": "Lilienthal", "exclude_from_analytics": True},
    "olga": {
        "first_name": "Olga",
        "last_name": "Ladyzhenskaya",
        "objections": ["data_science_export"],
    },
}
CARDS = {"dora": "DORA-CARD-0001", "otto": "OTTO-CARD-0002", "olga": "OLGA-CARD-0003"}
PLATES = {"dora": ("GR-123-AB", "VF1RFB00X56789012"), "otto": ("M-OT-42", "WVWZZZ1JZXW000001")}

SESSIONS: dict[int, tuple[str | None, str, datetime, datetime, int, int, str | None, int, int]] = {
    1: ("dora", "cs1", t(3, 1, 10, 17, 5), t(3, 1, 12, 17, 5), 10_000, 1_800, "EUR", 300, 360),
    2: ("dora", "cs2", t(3, 1, 23, 5, 30), t(3, 2, 2, 5, 30), 15_000, 3_600, "EUR", 450, 540),
    3: ("dora", "cs3", t(3, 15, 8, 12, 40), t(3, 15, 9, 42, 40), 5_000, 0, "CHF", 200, 216),
    4: ("otto", "cs1", t(3, 2, 9, 21), t(3, 2, 10, 21), 7_000, 600, "EUR", 210, 252),
    5: ("otto", "cs3", t(4, 1, 12, 33), t(4, 1, 13, 33), 3_000, 0, None, 0, 0),
    6: (None, "cs1", t(4, 2, 7, 44, 10), t(4, 2, 8, 14, 10), 1_000, 0, None, 0, 0),
    7: ("olga", "cs3", t(4, 3, 18, 2, 3), t(4, 3, 19, 32, 3), 4_000, 900, "CHF", 120, 130),
}


async def build_stats_world(
    sessionmaker: async_sessionmaker[AsyncSession], make_user: Any
) -> StatsWorld:
    async with sessionmaker() as db:
        alpha = Site(name="Alpha", latitude=45.188529, longitude=5.724524, timezone="Europe/Paris")
        beta = Site(name="Beta", latitude=48.137154, longitude=11.576124, timezone="Europe/Berlin")
        db.add_all([alpha, beta])
        await db.flush()
        a1 = SiteArea(site_id=alpha.id, name="A1", max_power_w=100_000)
        b1 = SiteArea(site_id=beta.id, name="B1", max_power_w=100_000)
        db.add_all([a1, b1])
        await db.flush()
        stations = {}
        for key, identity, area in (
            ("cs1", "CS-1", a1),
            ("cs2", "CS-2", a1),
            ("cs3", "CS-3", b1),
        ):
            station = ChargingStation(
                ocpp_identity=identity,
                site_area_id=area.id,
                site_id=area.site_id,
                registration_status=RegistrationStatus.ACCEPTED,
                serial_number=f"SERIAL-{identity}",
            )
            db.add(station)
            await db.flush()
            stations[key] = station.id
        await db.commit()
        ids = (alpha.id, beta.id, a1.id, b1.id)

    people = {
        name: await make_user(sites={ids[0]: SiteRole.MEMBER}, **fields)
        for name, fields in PEOPLE.items()
    }
    sam = await make_user(sites={ids[0]: SiteRole.SITE_ADMIN}, first_name="Sam")
    ann = await make_user(Role.ADMIN, first_name="Ann")
    dee = await make_user(Role.DEMO, first_name="Dee")
    identities: dict[str, dict[str, str]] = {}
    sessions: dict[int, uuid.UUID] = {}
    async with sessionmaker() as db:
        for name, person in people.items():
            db.add(RfidCard(uid=CARDS[name], user_id=person.id))
            identity = {
                "id": str(person.id),
                "email": person.email,
                "first_name": PEOPLE[name]["first_name"],
                "last_name": PEOPLE[name]["last_name"],
                "card": CARDS[name],
            }
            if name in PLATES:
                plate, vin = PLATES[name]
                db.add(Vehicle(user_id=person.id, plate=plate, vin=vin, is_default=True))
                identity |= {"plate": plate, "vin": vin}
            identities[name] = identity
        for number, (who, station, start, stop, wh, idle, cur, excl, incl) in SESSIONS.items():
            charge = ChargingSession(
                station_id=stations[station],
                user_id=people[who].id if who else None,
                id_tag=CARDS[who] if who else "UNKNOWN-BADGE-9",
                ocpp_transaction_id=str(1000 + number),
                status=SessionStatus.COMPLETED,
                started_at=start,
                stopped_at=stop,
                energy_wh=wh,
                inactivity_s=idle,
                stop_reason="Local",
                cost_currency=cur,
                cost_excl_vat_minor=excl if cur else None,
                cost_vat_minor=incl - excl if cur else None,
                cost_incl_vat_minor=incl if cur else None,
            )
            db.add(charge)
            await db.flush()
            sessions[number] = charge.id
        await db.commit()
    return StatsWorld(
        *ids,
        cs1=stations["cs1"],
        cs2=stations["cs2"],
        cs3=stations["cs3"],
        dora=people["dora"],
        otto=people["otto"],
        olga=people["olga"],
        sam=sam,
        ann=ann,
        dee=dee,
        sessions=sessions,
        identities=identities,
    )
