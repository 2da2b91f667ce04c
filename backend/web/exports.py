"""`GET /export/sessions.csv`: the sessions list as CSV, streamed, in the viewer's scope.

Query parameters are the `sessions` query's filter: `active` (true/false), `siteId`,
`stationId`, `userId`, `from`, `to` (ISO 8601 with offset), `search`, plus `order`
(`started_at` or `energy_wh`) and `direction` (`desc`, the default, or `asc`). Authentication is
the session cookie or `Authorization: Bearer <token>`, like GraphQL.

Columns (UTF-8, comma separated, one header row):

| column | meaning |
| --- | --- |
| session_id | the session's id (as in GraphQL) |
| station | the station's OCPP identity |
| site | the station's site name |
| connector | the connector number (OCPP 1.6 connectorId / 2.0.1 EVSE id) |
| transaction_id | the OCPP transaction id |
| status | active or completed |
| started_at, stopped_at | ISO 8601, UTC |
| duration_s | seconds from start to stop (to the export while active) |
| energy_wh | energy delivered |
| inactivity_s | seconds connected without charging |
| instant_power_w | power now (0 once stopped) |
| stop_reason | as the station said it, or Reboot / Superseded when we closed it |
| user_id, user_name, user_email, id_tag | who charged: the driver and admins see it, demo |
|  | users see pseudonyms, site managers nothing (the same rules as GraphQL) |

Cells are CSV-injection safe: a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
return is prefixed with a single quote, so spreadsheets never read it as a formula.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from backend.db.base import utcnow
from backend.db.models import ChargingSession, ChargingStation, Connector, Site, User
from backend.domain.access import ALLOW, ANONYMIZE
from backend.domain.anonymize import anonymized_value
from backend.domain.charging import history
from backend.domain.errors import DomainError
from backend.domain.viewer import Viewer
from backend.graphql.context import Services
from backend.graphql.policy import decide

COLUMNS = (
    "session_id",
    "station",
    "site",
    "connector",
    "transaction_id",
    "status",
    "started_at",
    "stopped_at",
    "duration_s",
    "energy_wh",
    "inactivity_s",
    "instant_power_w",
    "stop_reason",
    "user_id",
    "user_name",
    "user_email",
    "id_tag",
)
BATCH = 500
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _bool(value: str | None, name: str) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise ValueError(name)


def _uuid(value: str | None, name: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ValueError(name) from exc


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(name) from exc
    if moment.tzinfo is None:
        raise ValueError(name)
    return moment


def parse_params(request: Request) -> tuple[history.SessionFilter, history.SessionOrder]:
    q = request.query_params
    flt = history.SessionFilter(
        active=_bool(q.get("active"), "active"),
        site_id=_uuid(q.get("siteId"), "siteId"),
        station_id=_uuid(q.get("stationId"), "stationId"),
        user_id=_uuid(q.get("userId"), "userId"),
        started_from=_time(q.get("from"), "from"),
        started_to=_time(q.get("to"), "to"),
        search=q.get("search") or None,
    )
    try:
        field = history.SessionOrderField(q.get("order", "started_at"))
    except ValueError as exc:
        raise ValueError("order") from exc
    direction = q.get("direction", "desc").lower()
    if direction not in ("asc", "desc"):
        raise ValueError("direction")
    return flt, history.SessionOrder(field=field, descending=direction == "desc")


class _Rows:
    """Turns sessions into CSV rows with the GraphQL field rules for who charged."""

    def __init__(self, services: Services, viewer: Viewer) -> None:
        self.secret = services.secret_key
        self.viewer = viewer

    def person(self, row: ChargingSession, user: User | None) -> list[Any]:
        if decide(self.viewer, "ChargingSession", "user", row) is not ALLOW or user is None:
            who: list[Any] = ["", "", ""]
        else:
            values: list[Any] = []
            for field in ("firstName", "lastName", "email"):
                decision = decide(self.viewer, "User", field, user)
                if decision is ALLOW:
                    values.append(
                        {"firstName": user.first_name, "lastName": user.last_name}.get(
                            field, user.email
                        )
                    )
                elif decision is ANONYMIZE:
                    values.append(anonymized_value(self.secret, field, user.id))
                else:
                    values.append(None)
            name = " ".join(v for v in values[:2] if v)
            who = [str(user.id), name, values[2]]
        tag = decide(self.viewer, "ChargingSession", "idTag", row)
        if tag is ALLOW:
            who.append(row.id_tag)
        elif tag is ANONYMIZE:
            who.append(anonymized_value(self.secret, "idTag", row.user_id))
        else:
            who.append("")
        return who

    def __call__(
        self,
        row: ChargingSession,
        station: ChargingStation | None,
        site: str | None,
        connector: int | None,
        user: User | None,
        now: datetime,
    ) -> list[Any]:
        end = row.stopped_at or now
        return [
            str(row.id),
            station.ocpp_identity if station else "",
            site,
            connector,
            row.ocpp_transaction_id,
            row.status.value,
            row.started_at,
            row.stopped_at,
            max(0, int((end - row.started_at).total_seconds())),
            row.energy_wh,
            row.inactivity_s,
            row.instant_power_w,
            row.stop_reason,
            *self.person(row, user),
        ]


def csv_response(
    services: Services,
    viewer: Viewer,
    base: Any,
    order: history.SessionOrder,
    filename: str = "sessions",
) -> StreamingResponse:
    """Stream the sessions of `base` (a `history.scoped` query) as CSV, with the field rules
    of `viewer` for who charged. Also used by `backend.web.privacy_exports`."""
    rows = _Rows(services, viewer)
    now = utcnow()

    async def body() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        yield out.getvalue()
        after: str | None = None
        while True:
            async with services.sessionmaker() as session:
                page = list(await session.scalars(history.ordered(base, order, after).limit(BATCH)))
                if not page:
                    return
                stations = {
                    s.id: s
                    for s in await session.scalars(
                        select(ChargingStation).where(
                            ChargingStation.id.in_({r.station_id for r in page})
                        )
                    )
                }
                site_ids = {s.site_id for s in stations.values() if s.site_id}
                sites: dict[Any, str] = {
                    k: v
                    for k, v in await session.execute(
                        select(Site.id, Site.name).where(Site.id.in_(site_ids))
                    )
                }
                connector_ids = {r.connector_id for r in page if r.connector_id}
                connectors: dict[Any, int] = {
                    k: v
                    for k, v in await session.execute(
                        select(Connector.id, Connector.evse_id).where(
                            Connector.id.in_(connector_ids)
                        )
                    )
                }
                user_ids = {r.user_id for r in page if r.user_id}
                users = {
                    u.id: u
                    for u in await session.scalars(select(User).where(User.id.in_(user_ids)))
                }
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            for r in page:
                station = stations.get(r.station_id)
                values = rows(
                    r,
                    station,
                    sites.get(station.site_id) if station and station.site_id else None,
                    connectors.get(r.connector_id) if r.connector_id else None,
                    users.get(r.user_id) if r.user_id else None,
                    now,
                )
                writer.writerow([safe_cell(v) for v in values])
            yield out.getvalue()
            if len(page) < BATCH:
                return
            after = history.encode_cursor(page[-1], order)

    stamp = now.strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{filename}-{stamp}.csv"',
            "cache-control": "no-store",
        },
    )


def sessions_csv_endpoint(
    services: Services, viewer_of: Callable[[Request], Awaitable[Viewer]]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        viewer = await viewer_of(request)
        if not viewer.authenticated:
            return JSONResponse({"error": "Log in first."}, status_code=401)
        try:
            flt, order = parse_params(request)
        except ValueError as exc:
            return JSONResponse({"error": f"Invalid parameter: {exc.args[0]}"}, status_code=400)
        try:
            base = history.scoped(viewer, flt)
        except DomainError as exc:
            return JSONResponse({"error": exc.message}, status_code=403)
        return csv_response(services, viewer, base, order)

    return endpoint
