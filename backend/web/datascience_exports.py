"""`GET /export/datascience/sessions.csv` and `.jsonl`: anonymized sessions for data science.

Administrators only (the session cookie or `Authorization: Bearer <token>`). Query parameters:
`from`, `to` (ISO 8601 with offset, on the start time) and `siteId`. The rows, their columns
and what is removed are described in `backend.domain.datascience_export`. Each download is
recorded in the audit log.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from backend.db.base import utcnow
from backend.domain import datascience_export as export
from backend.domain.errors import DomainError
from backend.domain.viewer import Viewer
from backend.graphql.context import Services
from backend.web.exports import _time, _uuid, safe_cell

ViewerOf = Callable[[Request], Awaitable[Viewer]]
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


def _filter(request: Request) -> export.ExportFilter:
    q = request.query_params
    return export.ExportFilter(
        started_from=_time(q.get("from"), "from"),
        started_to=_time(q.get("to"), "to"),
        site_id=_uuid(q.get("siteId"), "siteId"),
    )


def datascience_endpoint(
    services: Services, viewer_of: ViewerOf, fmt: str
) -> Callable[[Request], Awaitable[Response]]:
    if fmt not in MEDIA_TYPES:
        raise ValueError(fmt)

    async def endpoint(request: Request) -> Response:
        viewer = await viewer_of(request)
        if not viewer.authenticated:
            return JSONResponse({"error": "Log in first."}, status_code=401)
        try:
            flt = _filter(request)
        except ValueError as exc:
            return JSONResponse({"error": f"Invalid parameter: {exc.args[0]}"}, status_code=400)
        try:
            export.check(viewer, flt)
        except DomainError as exc:
            status = 403 if exc.extensions.get("code") == "FORBIDDEN" else 400
            return JSONResponse({"error": exc.message}, status_code=status)
        async with services.sessionmaker() as session:
            await export.record_export(session, viewer, flt, fmt)
        rows = export.export_rows(services.sessionmaker, viewer, flt, services.secret_key)

        async def csv_body() -> AsyncIterator[str]:
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(export.COLUMNS)
            count = 0
            async for row in rows:
                writer.writerow([safe_cell(row[c]) for c in export.COLUMNS])
                count += 1
                if count % export.BATCH == 0:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
            yield out.getvalue()

        async def jsonl_body() -> AsyncIterator[str]:
            lines: list[str] = []
            async for row in rows:
                lines.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
                if len(lines) == export.BATCH:
                    yield "\n".join(lines) + "\n"
                    lines = []
            if lines:
                yield "\n".join(lines) + "\n"

        stamp = utcnow().strftime("%Y%m%d-%H%M%S")
        return StreamingResponse(
            csv_body() if fmt == "csv" else jsonl_body(),
            media_type=MEDIA_TYPES[fmt],
            headers={
                "content-disposition": (
                    f'attachment; filename="datascience-sessions-{stamp}.{fmt}"'
                ),
                "cache-control": "no-store",
            },
        )

    return endpoint
