"""Reading charging sessions back: the viewer's scope, filters, keyset order, curves.

One query builder serves the GraphQL `sessions` list and the CSV export, so both always apply
the same permission scope (`access.visible_sessions`) and the same filters.

- Filters: active or completed, site, station, driver, a time window on the start
  (`from` ≤ startedAt < `to`), and a search on the station identity, its description and the
  transaction id (names and badges are searched for administrators only: for anyone else a
  search on a person would tell whose sessions they are).
- Filtering on a driver: one's own sessions, or anyone's for admins and demo users (who see
  the driver of every session anyway); a site manager does not see who charged.
- Order: by start (default, newest first) or energy, then id, so that a keyset cursor (the
  sort value and the id of the last row) pages through without offsets.
"""

from __future__ import annotations

import base64
import enum
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import with_expression

from backend.db.like import contains
from backend.db.models import ChargingSession, ChargingStation, MeterSample, SessionStatus, User
from backend.domain import access
from backend.domain.errors import Forbidden, InvalidInput
from backend.domain.viewer import Viewer

DEFAULT_CURVE_POINTS = 500
MAX_CURVE_POINTS = 5000


class SessionOrderField(enum.Enum):
    STARTED_AT = "started_at"
    ENERGY_WH = "energy_wh"


@dataclass(frozen=True)
class SessionFilter:
    active: bool | None = None
    site_id: uuid.UUID | None = None
    station_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None
    search: str | None = None


@dataclass(frozen=True)
class SessionOrder:
    field: SessionOrderField = SessionOrderField.STARTED_AT
    descending: bool = True


def _station_site() -> Any:
    return (
        select(ChargingStation.site_id)
        .where(ChargingStation.id == ChargingSession.station_id)
        .scalar_subquery()
    )


def session_select() -> Select[ChargingSession]:
    """Sessions with their station's site loaded (`ChargingSession.site_id`), for the rules."""
    return select(ChargingSession).options(
        with_expression(ChargingSession.site_id, _station_site())
    )


def scoped(viewer: Viewer, flt: SessionFilter | None = None) -> Select[ChargingSession]:
    """The sessions the viewer may see, filtered (unordered)."""
    access.require_login(viewer)
    cs = ChargingSession
    stmt = session_select().where(access.visible_sessions(viewer))
    flt = flt or SessionFilter()
    if flt.active is not None:
        stmt = stmt.where(
            cs.status == (SessionStatus.ACTIVE if flt.active else SessionStatus.COMPLETED)
        )
    if flt.station_id is not None:
        stmt = stmt.where(cs.station_id == flt.station_id)
    if flt.site_id is not None:
        stmt = stmt.where(
            cs.station_id.in_(
                select(ChargingStation.id).where(ChargingStation.site_id == flt.site_id)
            )
        )
    if flt.user_id is not None:
        if flt.user_id != viewer.user_id and not viewer.reads_everything:
            raise Forbidden("You may only filter on your own sessions.")
        stmt = stmt.where(cs.user_id == flt.user_id)
    if flt.started_from is not None:
        stmt = stmt.where(cs.started_at >= flt.started_from)
    if flt.started_to is not None:
        stmt = stmt.where(cs.started_at < flt.started_to)
    if flt.search and flt.search.strip():
        pattern = contains(flt.search)
        stations = select(ChargingStation.id).where(
            or_(
                ChargingStation.ocpp_identity.ilike(pattern, escape="\\"),
                ChargingStation.description.ilike(pattern, escape="\\"),
            )
        )
        clauses: list[ColumnElement[bool]] = [
            cs.station_id.in_(stations),
            cs.ocpp_transaction_id.ilike(pattern, escape="\\"),
        ]
        if viewer.is_admin:
            people = select(User.id).where(
                or_(
                    User.email.ilike(pattern, escape="\\"),
                    User.first_name.ilike(pattern, escape="\\"),
                    User.last_name.ilike(pattern, escape="\\"),
                )
            )
            clauses += [cs.id_tag.ilike(pattern, escape="\\"), cs.user_id.in_(people)]
        stmt = stmt.where(or_(*clauses))
    return stmt


def _column(order: SessionOrder) -> Any:
    return {
        SessionOrderField.STARTED_AT: ChargingSession.started_at,
        SessionOrderField.ENERGY_WH: ChargingSession.energy_wh,
    }[order.field]


def ordered(
    stmt: Select[ChargingSession], order: SessionOrder, after: str | None = None
) -> Select[ChargingSession]:
    """Order by the field then id; start after the keyset cursor when one is given."""
    column = _column(order)
    cs_id = ChargingSession.id
    if after:
        value, last_id = decode_cursor(after, order)
        if order.descending:
            stmt = stmt.where(or_(column < value, and_(column == value, cs_id < last_id)))
        else:
            stmt = stmt.where(or_(column > value, and_(column == value, cs_id > last_id)))
    if order.descending:
        return stmt.order_by(column.desc(), cs_id.desc())
    return stmt.order_by(column.asc(), cs_id.asc())


def encode_cursor(row: ChargingSession, order: SessionOrder) -> str:
    value: Any = getattr(row, order.field.value)
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps(["k", order.field.value, value, str(row.id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, order: SessionOrder) -> tuple[Any, uuid.UUID]:
    try:
        kind, field, value, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if kind != "k" or field != order.field.value:
            raise ValueError(field)
        if order.field is SessionOrderField.STARTED_AT:
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError(value)
        else:
            value = int(value)
        return value, uuid.UUID(row_id)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "This cursor is not valid (or was made for another order).", field="after"
        ) from exc


# --- curves ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    at: datetime
    power_w: int | None
    energy_wh: int | None
    current_a: tuple[float | None, float | None, float | None]
    voltage_v: tuple[float | None, float | None, float | None]
    soc_percent: int | None


def curve_select(session_id: uuid.UUID) -> Any:
    m = MeterSample
    return (
        select(
            m.sampled_at,
            m.power_w,
            m.session_energy_wh,
            m.current_a_l1,
            m.current_a_l2,
            m.current_a_l3,
            m.voltage_v_l1,
            m.voltage_v_l2,
            m.voltage_v_l3,
            m.soc_percent,
        )
        .where(m.session_id == session_id)
        .order_by(m.sampled_at)
    )


def point(row: Sequence[Any]) -> Point:
    return Point(
        at=row[0],
        power_w=row[1],
        energy_wh=row[2],
        current_a=(row[3], row[4], row[5]),
        voltage_v=(row[6], row[7], row[8]),
        soc_percent=row[9],
    )


def _mean(values: Sequence[float | int | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _merge(group: Sequence[Point]) -> Point:
    """A bucket of consecutive points as one: the time, energy and SoC of its last point, the
    mean power, currents and voltages over the bucket (so the area under the curve stays)."""
    last = group[-1]
    power = _mean([p.power_w for p in group])
    return Point(
        at=last.at,
        power_w=None if power is None else round(power),
        energy_wh=last.energy_wh,
        current_a=tuple(_mean([p.current_a[i] for p in group]) for i in range(3)),  # type: ignore[arg-type]
        voltage_v=tuple(_mean([p.voltage_v[i] for p in group]) for i in range(3)),  # type: ignore[arg-type]
        soc_percent=next(
            (p.soc_percent for p in reversed(group) if p.soc_percent is not None), None
        ),
    )


def downsample(points: Sequence[Point], max_points: int) -> list[Point]:
    """At most `max_points`: the first point as it is, then equal buckets merged (`_merge`).

    The first and last points stay exact, so the curve still starts and ends where it did.
    """
    if max_points < 2:
        raise InvalidInput("Ask for at least 2 points.", field="maxPoints")
    if len(points) <= max_points:
        return list(points)
    rest = points[1:]
    buckets = max_points - 1
    out = [points[0]]
    for i in range(buckets):
        group = rest[i * len(rest) // buckets : (i + 1) * len(rest) // buckets]
        if group:
            out.append(_merge(group))
    return out
