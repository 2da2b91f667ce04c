"""The data-rights downloads: a person's data as JSON, their sessions as CSV.

- `GET /export/my-data.json` — everything personal held about the viewer
  (`backend.domain.privacy.export`), as an attachment; `?userId=` for admins and the data
  protection officer, about anyone.
- `GET /export/my-sessions.csv` — the viewer's sessions, with the filters of
  `/export/sessions.csv` (`from`, `to` on the start time, `siteId`, `stationId`, `active`,
  `search`, `order`, `direction`) and its columns, exactly as the person sees them; `?userId=`
  for admins and the data protection officer.

Authentication is the session cookie or `Authorization: Bearer <token>`, like GraphQL. Every
download is recorded in the audit log (who exported whose data; never the data).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backend.db.base import utcnow
from backend.db.models import Role, User
from backend.domain import audit
from backend.domain.access import require_self_or_data_rights_officer
from backend.domain.charging import history
from backend.domain.errors import DomainError, NotFound
from backend.domain.privacy.export import export_for
from backend.domain.viewer import Viewer
from backend.graphql.context import Services
from backend.web.exports import csv_response, parse_params

ViewerOf = Callable[[Request], Awaitable[Viewer]]


def _status(error: DomainError) -> int:
    return {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404}.get(
        str(error.extensions.get("code")), 400
    )


def _user_param(request: Request) -> uuid.UUID | None:
    value = request.query_params.get("userId")
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ValueError("userId") from exc


def my_data_endpoint(services: Services, viewer_of: ViewerOf) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        viewer = await viewer_of(request)
        if not viewer.authenticated:
            return JSONResponse({"error": "Log in first."}, status_code=401)
        try:
            user_id = _user_param(request)
        except ValueError as exc:
            return JSONResponse({"error": f"Invalid parameter: {exc.args[0]}"}, status_code=400)
        try:
            async with services.sessionmaker() as session:
                document = await export_for(session, viewer, user_id)
        except DomainError as exc:
            return JSONResponse({"error": exc.message}, status_code=_status(exc))
        stamp = utcnow().strftime("%Y%m%d-%H%M%S")
        return Response(
            json.dumps(document, ensure_ascii=False, indent=2),
            media_type="application/json; charset=utf-8",
            headers={
                "content-disposition": f'attachment; filename="personal-data-{stamp}.json"',
                "cache-control": "no-store",
            },
        )

    return endpoint


def my_sessions_endpoint(
    services: Services, viewer_of: ViewerOf
) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        viewer = await viewer_of(request)
        if not viewer.authenticated:
            return JSONResponse({"error": "Log in first."}, status_code=401)
        try:
            flt, order = parse_params(request)
        except ValueError as exc:
            return JSONResponse({"error": f"Invalid parameter: {exc.args[0]}"}, status_code=400)
        target_id = flt.user_id or viewer.user_id
        assert target_id is not None
        try:
            require_self_or_data_rights_officer(viewer, target_id)
            async with services.sessionmaker() as session:
                user = await session.get(User, target_id)
                if user is None:
                    raise NotFound("No such user.", field="userId")
                audit.record(session, viewer.user_id, "user.sessions_exported", user)
                await session.commit()
            # Exactly what the person sees of their own sessions, whoever downloads them.
            as_person = Viewer(user_id=target_id, role=Role.BASIC)
            base = history.scoped(as_person, replace(flt, user_id=target_id))
        except DomainError as exc:
            return JSONResponse({"error": exc.message}, status_code=_status(exc))
        return csv_response(services, as_person, base, order, filename="my-sessions")

    return endpoint
