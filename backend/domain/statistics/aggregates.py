"""Statistics of charging sessions: one GROUP BY in the database, whatever the history's size.

For each period (UTC day, month, year, or the whole range) and group (site, site area,
station, driver, or everything), the figures are

- `sessions`: how many sessions started in the period,
- `energy_wh`: the energy they delivered (so far, for a session still running),
- `connected_s`: usage, the time from start to stop (to now while running), in whole seconds,
- `inactivity_s`: the part of it connected without charging (as the meter readings showed),
- `charging_s`: connected minus inactivity, per session, never below zero,
- `costs`: one amount per currency, in minor units, excluding and including VAT (the cost so
  far while running). Currencies are never added together; sessions without a tariff have no
  cost and count in no currency.

Who sees what is the `sessions` list's scope (`access.visible_sessions`): drivers their own
sessions, site administrators those at their sites' stations, administrators and demo users
all. Beyond one's own sessions, the sessions of people who restricted processing or objected
to analytics are left out (`privacy.restrictions.analytics_allowed`): a driver's own figures
always count all of their sessions, an administrator's site totals never count an objector's.

Grouping by driver is for administrators (the names) and demo users (pseudonyms): site
administrators see the sessions at their sites but not who charged, like in the sessions list.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import ChargingSession, ChargingStation, Site, SiteArea, User
from backend.domain import access
from backend.domain.access import ALLOW, ANONYMIZE
from backend.domain.anonymize import anonymized_value
from backend.domain.errors import Forbidden, InvalidInput
from backend.domain.privacy.restrictions import analytics_allowed
from backend.domain.statistics.periods import (
    Period,
    at_least_zero,
    bucket,
    instant,
    is_postgres,
    period_end,
    period_start,
    whole_seconds,
)
from backend.domain.viewer import Viewer

# More rows than a table can show means the question was too wide (a row per driver and year
# is fine; a row per station and day over years is not).
MAX_ROWS = 20_000
WORK_MEM = "32MB"


class GroupBy(enum.Enum):
    NONE = "none"
    SITE = "site"
    SITE_AREA = "site_area"
    STATION = "station"
    USER = "user"


@dataclass(frozen=True)
class StatisticsQuery:
    group_by: GroupBy = GroupBy.NONE
    period: Period = Period.TOTAL
    # On the start time: started_from ≤ startedAt < started_to.
    started_from: datetime | None = None
    started_to: datetime | None = None
    site_id: uuid.UUID | None = None


@dataclass(frozen=True)
class CurrencyCost:
    currency: str
    sessions: int  # the sessions priced in this currency
    excl_vat_minor: int
    incl_vat_minor: int


@dataclass
class Figures:
    sessions: int = 0
    energy_wh: int = 0
    connected_s: int = 0
    charging_s: int = 0
    inactivity_s: int = 0
    costs: list[CurrencyCost] = field(default_factory=list)


@dataclass
class StatisticsRow(Figures):
    # None for the TOTAL period.
    period_start: datetime | None = None
    period_end: datetime | None = None
    # The site, site area, station or driver; None when grouping by nothing, or for sessions
    # without one (a station in no site, a badge nobody owns).
    group_id: uuid.UUID | None = None
    label: str | None = None


@dataclass
class StatisticsResult:
    query: StatisticsQuery
    rows: list[StatisticsRow]
    total: Figures


# --- scope ---------------------------------------------------------------------------------------


def counted_sessions(viewer: Viewer) -> ColumnElement[bool]:
    """The sessions the viewer's statistics count: their scope, without the sessions of people
    left out of analytics (except the viewer's own, which are theirs to see)."""
    access.require_login(viewer)
    visible = access.visible_sessions(viewer)
    if not viewer.reads_everything and not viewer.managed_site_ids:
        return visible  # only one's own sessions: nobody else's choice applies
    allowed = analytics_allowed()
    if viewer.user_id is not None:
        allowed = or_(ChargingSession.user_id == viewer.user_id, allowed)
    return and_(visible, allowed)


def check(viewer: Viewer, query: StatisticsQuery) -> None:
    access.require_login(viewer)
    if query.period is Period.HOUR:
        raise InvalidInput("Choose a day, a month, a year or the total.", field="period")
    if (
        query.started_from is not None
        and query.started_to is not None
        and query.started_from >= query.started_to
    ):
        raise InvalidInput("The end of the range must come after its start.", field="to")
    for name, moment in (("from", query.started_from), ("to", query.started_to)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput("Give the time with its UTC offset.", field=name)
    if query.group_by is GroupBy.USER and not viewer.reads_everything:
        # Site administrators see their sites' sessions, not who charged; a driver's rows are
        # all their own anyway.
        raise Forbidden("Only administrators group statistics by person.", field="groupBy")


# --- the aggregate -------------------------------------------------------------------------------


def _group_column(group_by: GroupBy) -> Any:
    return {
        GroupBy.NONE: None,
        GroupBy.SITE: ChargingStation.site_id,
        GroupBy.SITE_AREA: ChargingStation.site_area_id,
        GroupBy.STATION: ChargingSession.station_id,
        GroupBy.USER: ChargingSession.user_id,
    }[group_by]


def aggregate_select(dialect: str, viewer: Viewer, query: StatisticsQuery, now: datetime) -> Any:
    """SELECT period, group, currency, count and sums … GROUP BY period, group, currency."""
    cs = ChargingSession
    end = func.coalesce(cs.stopped_at, instant(now))
    connected = whole_seconds(dialect, cs.started_at, end)
    charging = at_least_zero(dialect, connected - cs.inactivity_s)
    keys: list[Any] = []
    if query.period is not Period.TOTAL:
        keys.append(bucket(dialect, query.period, cs.started_at).label("period"))
    group = _group_column(query.group_by)
    if group is not None:
        keys.append(group.label("group_id"))
    keys.append(cs.cost_currency.label("currency"))
    stmt = select(
        *keys,
        func.count().label("sessions"),
        func.coalesce(func.sum(cs.energy_wh), 0).label("energy_wh"),
        func.coalesce(func.sum(connected), 0).label("connected_s"),
        func.coalesce(func.sum(charging), 0).label("charging_s"),
        func.coalesce(func.sum(cs.inactivity_s), 0).label("inactivity_s"),
        func.coalesce(func.sum(cs.cost_excl_vat_minor), 0).label("excl_vat_minor"),
        func.coalesce(func.sum(cs.cost_incl_vat_minor), 0).label("incl_vat_minor"),
    ).select_from(cs)
    joined = query.group_by in (GroupBy.SITE, GroupBy.SITE_AREA)
    if joined:
        stmt = stmt.join(ChargingStation, ChargingStation.id == cs.station_id)
    stmt = stmt.where(counted_sessions(viewer))
    if query.site_id is not None:
        if joined:
            stmt = stmt.where(ChargingStation.site_id == query.site_id)
        else:
            stmt = stmt.where(
                cs.station_id.in_(
                    select(ChargingStation.id).where(ChargingStation.site_id == query.site_id)
                )
            )
    if query.started_from is not None:
        stmt = stmt.where(cs.started_at >= query.started_from)
    if query.started_to is not None:
        stmt = stmt.where(cs.started_at < query.started_to)
    # Each row may come in several currencies: allow for a few per row before giving up.
    return stmt.group_by(*keys).limit(4 * MAX_ROWS + 1)


async def statistics(
    session: AsyncSession,
    viewer: Viewer,
    query: StatisticsQuery,
    *,
    secret: str,
    now: datetime | None = None,
) -> StatisticsResult:
    """The figures per period and group in the viewer's scope (see the module's docstring).

    `secret` keys the pseudonyms demo users see in place of drivers' names."""
    check(viewer, query)
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    if is_postgres(dialect):
        # Grouping a year of sessions by driver sorts or hashes ~100 MB of rows: in memory
        # rather than spilled to disk (for this transaction only; PostgreSQL's default is 4 MB).
        await session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    result = await session.execute(aggregate_select(dialect, viewer, query, now))
    raw = result.all()
    too_many = InvalidInput(
        "Too many rows: narrow the date range, or choose a longer period or fewer groups.",
        field="period",
    )
    if len(raw) > 4 * MAX_ROWS:
        raise too_many
    sums: dict[tuple[Any, Any], _Sums] = {}
    total = _Sums()
    starts: dict[Any, datetime | None] = {}  # each period's value parsed once
    # Rows are (period?, group?, currency, sessions, energy, connected, charging, inactivity,
    # excl. VAT, incl. VAT): read by position, the figures being the last eight.
    by_period = query.period is not Period.TOTAL
    by_group = query.group_by is not GroupBy.NONE
    for r in raw:
        value = r[0] if by_period else None
        if value not in starts:
            starts[value] = None if value is None else period_start(value, query.period)
        key = (starts[value], r[int(by_period)] if by_group else None)
        acc = sums.get(key)
        if acc is None:
            acc = sums[key] = _Sums()
        figures = r[-8:]
        acc.add(figures)
        total.add(figures)
    if len(sums) > MAX_ROWS:
        raise too_many
    labels = await _labels(session, viewer, query.group_by, {k[1] for k in sums}, secret)
    out = [
        acc.row(
            period_start=start,
            period_end=None if start is None else period_end(start, query.period),
            group_id=group_id,
            label=labels.get(group_id),
        )
        for (start, group_id), acc in sums.items()
    ]
    out.sort(
        key=lambda row: (
            row.period_start.timestamp() if row.period_start else 0.0,
            row.label is None,
            (row.label or "").lower(),
            str(row.group_id or ""),
        )
    )
    return StatisticsResult(query=query, rows=out, total=total.figures())


class _Sums:
    """Running sums of aggregate rows (one per currency) into one row's figures."""

    __slots__ = ("charging_s", "connected_s", "costs", "energy_wh", "inactivity_s", "sessions")

    def __init__(self) -> None:
        self.sessions = self.energy_wh = self.connected_s = 0
        self.charging_s = self.inactivity_s = 0
        self.costs: dict[str, list[int]] = {}

    def add(self, figures: Any) -> None:
        """One aggregate row's (currency, sessions, energy, connected, charging, inactivity,
        excl. VAT, incl. VAT); PostgreSQL's sums of big integers come as Decimal."""
        currency, sessions, energy, connected, charging, inactivity, excl, incl = figures
        self.sessions += sessions
        self.energy_wh += int(energy)
        self.connected_s += int(connected)
        self.charging_s += int(charging)
        self.inactivity_s += int(inactivity)
        if currency is not None:
            cost = self.costs.setdefault(currency, [0, 0, 0])
            cost[0] += sessions
            cost[1] += int(excl)
            cost[2] += int(incl)

    def _costs(self) -> list[CurrencyCost]:
        return [CurrencyCost(c, *self.costs[c]) for c in sorted(self.costs)]

    def figures(self) -> Figures:
        return Figures(
            self.sessions,
            self.energy_wh,
            self.connected_s,
            self.charging_s,
            self.inactivity_s,
            self._costs(),
        )

    def row(self, **where: Any) -> StatisticsRow:
        return StatisticsRow(
            sessions=self.sessions,
            energy_wh=self.energy_wh,
            connected_s=self.connected_s,
            charging_s=self.charging_s,
            inactivity_s=self.inactivity_s,
            costs=self._costs(),
            **where,
        )


# --- labels --------------------------------------------------------------------------------------


async def _labels(
    session: AsyncSession,
    viewer: Viewer,
    group_by: GroupBy,
    ids: set[Any],
    secret: str,
) -> dict[Any, str]:
    ids.discard(None)
    if not ids or group_by is GroupBy.NONE:
        return {}
    if group_by is GroupBy.SITE:
        found = await session.execute(select(Site.id, Site.name).where(Site.id.in_(ids)))
        return {k: v for k, v in found}
    if group_by is GroupBy.SITE_AREA:
        found_areas = await session.execute(
            select(SiteArea.id, Site.name, SiteArea.name)
            .join(Site, Site.id == SiteArea.site_id)
            .where(SiteArea.id.in_(ids))
        )
        return {k: f"{site} · {area}" for k, site, area in found_areas}
    if group_by is GroupBy.STATION:
        found = await session.execute(
            select(ChargingStation.id, ChargingStation.ocpp_identity).where(
                ChargingStation.id.in_(ids)
            )
        )
        return {k: v for k, v in found}
    people = await session.execute(
        select(User.id, User.first_name, User.last_name).where(User.id.in_(ids))
    )
    return {
        user_id: label
        for user_id, first, last in people
        if (label := person_label(viewer, user_id, f"{first} {last}".strip(), secret))
    }


@dataclass(frozen=True)
class _Driver:
    # What the person rules read of a driver's row: whose it is.
    user_id: uuid.UUID


def person_label(viewer: Viewer, user_id: uuid.UUID, name: str, secret: str) -> str | None:
    """A driver's name as the viewer may see it (`access.person_contact`): real, a pseudonym
    (demo users), or none."""
    decision = access.person_contact(viewer, _Driver(user_id))
    if decision is ALLOW:
        return name
    if decision is ANONYMIZE:
        first = anonymized_value(secret, "firstName", user_id)
        last = anonymized_value(secret, "lastName", user_id)
        return f"{first} {last}"
    return None
