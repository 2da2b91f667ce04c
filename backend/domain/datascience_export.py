"""Anonymized sessions for data scientists (administrators only): what is kept, what is not.

A data scientist needs to know how much energy was charged where, when and for how long, and
which sessions belong to the same driver or badge (habits, returns); never who the driver is.
Each completed session becomes one row (CSV or JSON lines, `backend/web/datascience_exports.py`):

- `session_ref`: keyed pseudonym of the session. Rows stay distinct and stable across
  exports, without our ids.
- `user_ref`: keyed pseudonym of the driver (empty: a badge nobody owns). Habits of one
  driver, not their identity.
- `card_ref`: keyed pseudonym of the badge presented (`id_tag`). One badge's sessions,
  without its number.
- `site_ref`, `site_area_ref`, `station_ref`: keyed pseudonyms. Places compared, not named.
- `site_lat`, `site_lon`: the site's coordinates rounded to 0.01 degree (about 1 km). The
  region, not the building.
- `site_timezone`: the site's IANA zone, for local hours in the analysis.
- `started_hour`: the start, truncated to the hour (UTC, ISO 8601). An exact time can single
  a person out.
- `duration_min`, `charging_min`, `inactivity_min`: connected time, its charging and idle
  parts, in whole minutes. Usage, without exact times.
- `energy_wh`, `cost_currency`, `cost_excl_vat_minor`, `cost_incl_vat_minor`: as recorded;
  the figures studied.
- `stop_reason`: as the station said it (categorical): why sessions end.

**Removed, and why.** Everything that names or reaches a person: names, email, phone, address,
professional data, the badge number (`id_tag`), plates and VINs (sessions do not record a
vehicle, so no vehicle column exists at all), the user, session, station, site and connector
ids of the database (they would join back to the operational data), the station's OCPP
identity, serial number and description, site names and addresses, the OCPP transaction id,
exact start and stop times (rounded as above; within an hour, rows are ordered by their
pseudonym, so the order does not reveal the minutes either), exact coordinates, the meter
readings and charging curve (their shape and timestamps fingerprint a car and its driver), the
tariff (it can name a company), invoices and refunds. Running sessions are not exported: their
figures are not final and they would point at someone charging right now.

**Left out.** The sessions of people who restricted processing or objected to data-science
exports, or withdrew their consent (`privacy.restrictions.sessions_allowed`), in SQL, so
nothing of them is even read. Erased people's sessions stay (accounting keeps them) and appear
as any other: their pseudonym is all that remains of them anyway.

**The pseudonyms.** `HMAC-SHA256(export key, kind + ":" + id)`, 16 hex digits, prefixed by the
kind (`u_`, `c_`, `s_`, `st_`, `si_`, `sa_`). The export key is derived from the deployment's
secret (`SECRET_KEY`) as `HMAC-SHA256(secret, "vev-iq/data-science-export/v1")`: without the
secret nobody can compute or reverse them; the same person has the same pseudonym in every
export (the analysis of several exports joins), and a different derivation than the demo
pseudonyms (`backend.domain.anonymize`), so an export cannot be joined with what demo users see.
Rotating `SECRET_KEY` changes every pseudonym.

**What remains possible** is the usual residual risk of pseudonymized data: someone who knows
when a person charges at a small site could look for that pattern. The export is therefore for
administrators only, each download is recorded in the audit log (who, when, which filters), and
its recipients are bound not to re-identify anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import ChargingSession, ChargingStation, Purpose, SessionStatus, Site
from backend.domain import access, audit
from backend.domain.errors import Forbidden, InvalidInput
from backend.domain.privacy.restrictions import sessions_allowed
from backend.domain.viewer import Viewer

COLUMNS = (
    "session_ref",
    "user_ref",
    "card_ref",
    "site_ref",
    "site_area_ref",
    "station_ref",
    "site_lat",
    "site_lon",
    "site_timezone",
    "started_hour",
    "duration_min",
    "charging_min",
    "inactivity_min",
    "energy_wh",
    "cost_currency",
    "cost_excl_vat_minor",
    "cost_incl_vat_minor",
    "stop_reason",
)
BATCH = 1000
KEY_CONTEXT = b"vev-iq/data-science-export/v1"
COORDINATE_DECIMALS = 2  # 0.01° of latitude is 1.1 km
_PREFIXES = {
    "session": "s",
    "user": "u",
    "card": "c",
    "site": "si",
    "site_area": "sa",
    "station": "st",
}


def export_key(secret: str) -> bytes:
    """The key of the export's pseudonyms, derived from the deployment's secret (a different
    derivation than the demo pseudonyms: the two cannot be joined)."""
    return hmac.new(secret.encode(), KEY_CONTEXT, hashlib.sha256).digest()


class Pseudonyms:
    def __init__(self, secret: str) -> None:
        self._key = export_key(secret)

    def __call__(self, kind: str, value: Any) -> str | None:
        if value is None or value == "":
            return None
        digest = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"{_PREFIXES[kind]}_{digest[:16]}"


@dataclass(frozen=True)
class ExportFilter:
    # On the start time: started_from ≤ start < started_to.
    started_from: datetime | None = None
    started_to: datetime | None = None
    site_id: uuid.UUID | None = None


def check(viewer: Viewer, flt: ExportFilter) -> None:
    access.require_login(viewer)
    if not viewer.is_admin:
        raise Forbidden("Only administrators export sessions for data science.")
    if flt.started_from and flt.started_to and flt.started_from >= flt.started_to:
        raise InvalidInput("The end of the range must come after its start.", field="to")


def _minutes(seconds: float) -> int:
    return int(seconds // 60 + (1 if seconds % 60 >= 30 else 0))


def _coordinate(value: float | None) -> float | None:
    return None if value is None else round(value, COORDINATE_DECIMALS)


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def row_of(r: Any, pseudonym: Callable[[str, Any], str | None]) -> dict[str, Any]:
    """One session (a row of `_select`) as an export row."""
    connected = max(0.0, (r.stopped_at - r.started_at).total_seconds())
    inactivity = min(float(r.inactivity_s or 0), connected)
    return {
        "session_ref": pseudonym("session", r.id),
        "user_ref": pseudonym("user", r.user_id),
        "card_ref": pseudonym("card", r.id_tag),
        "site_ref": pseudonym("site", r.site_id),
        "site_area_ref": pseudonym("site_area", r.site_area_id),
        "station_ref": pseudonym("station", r.station_id),
        "site_lat": _coordinate(r.latitude),
        "site_lon": _coordinate(r.longitude),
        "site_timezone": r.timezone,
        "started_hour": _hour(r.started_at).isoformat(),
        "duration_min": _minutes(connected),
        "charging_min": _minutes(connected - inactivity),
        "inactivity_min": _minutes(inactivity),
        "energy_wh": r.energy_wh,
        "cost_currency": r.cost_currency,
        "cost_excl_vat_minor": r.cost_excl_vat_minor,
        "cost_incl_vat_minor": r.cost_incl_vat_minor,
        "stop_reason": r.stop_reason,
    }


def _select(flt: ExportFilter) -> Any:
    cs, st = ChargingSession, ChargingStation
    stmt: Any = (
        select(
            cs.id,
            cs.user_id,
            cs.id_tag,
            cs.station_id,
            cs.started_at,
            cs.stopped_at,
            cs.energy_wh,
            cs.inactivity_s,
            cs.stop_reason,
            cs.cost_currency,
            cs.cost_excl_vat_minor,
            cs.cost_incl_vat_minor,
            st.site_id,
            st.site_area_id,
            Site.latitude,
            Site.longitude,
            Site.timezone,
        )
        .join(st, st.id == cs.station_id)
        .outerjoin(Site, Site.id == st.site_id)
        .where(
            cs.status == SessionStatus.COMPLETED,
            cs.stopped_at.is_not(None),
            sessions_allowed(Purpose.DATA_SCIENCE_EXPORT),
        )
    )
    if flt.started_from is not None:
        stmt = stmt.where(cs.started_at >= flt.started_from)
    if flt.started_to is not None:
        stmt = stmt.where(cs.started_at < flt.started_to)
    if flt.site_id is not None:
        stmt = stmt.where(st.site_id == flt.site_id)
    return stmt


async def record_export(session: AsyncSession, viewer: Viewer, flt: ExportFilter, fmt: str) -> None:
    """Who exported what, in the audit log (the filters, never the data)."""
    audit.record(
        session,
        viewer.user_id,
        "datascience.export",
        format=fmt,
        started_from=flt.started_from.isoformat() if flt.started_from else None,
        started_to=flt.started_to.isoformat() if flt.started_to else None,
        site_id=str(flt.site_id) if flt.site_id else None,
    )
    await session.commit()


async def export_rows(
    sessionmaker: async_sessionmaker[AsyncSession],
    viewer: Viewer,
    flt: ExportFilter,
    secret: str,
) -> AsyncIterator[dict[str, Any]]:
    """The export's rows, oldest hour first, read in batches (each in its own short database
    session, so a long download holds no transaction open)."""
    check(viewer, flt)
    pseudonym = Pseudonyms(secret)
    base = _select(flt)
    cs = ChargingSession
    after: tuple[datetime, uuid.UUID] | None = None
    pending: list[dict[str, Any]] = []  # rows of the hour not yet complete
    pending_hour: datetime | None = None
    while True:
        stmt = base
        if after is not None:
            stmt = stmt.where(
                or_(cs.started_at > after[0], and_(cs.started_at == after[0], cs.id > after[1]))
            )
        async with sessionmaker() as session:
            page = (await session.execute(stmt.order_by(cs.started_at, cs.id).limit(BATCH))).all()
        if not page:
            break
        after = (page[-1].started_at, page[-1].id)
        for r in page:
            hour = _hour(r.started_at)
            if pending_hour is not None and hour != pending_hour:
                # Within an hour, the order of the pseudonyms, not of the exact start times.
                pending.sort(key=lambda row: row["session_ref"])
                for row in pending:
                    yield row
                pending = []
            pending_hour = hour
            pending.append(row_of(r, pseudonym))
    pending.sort(key=lambda row: row["session_ref"])
    for row in pending:
        yield row
