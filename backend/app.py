"""The ASGI application: GraphQL API, the web app, pictures and health, on one Starlette app."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from backend.broadcast import BroadcastBus
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import User
from backend.domain import access
from backend.domain.accounts import Accounts
from backend.domain.billing.worker import BillingWorker
from backend.domain.load_management import LoadManager
from backend.domain.mailer import Mailer
from backend.domain.privacy.erasure_job import ErasureJob
from backend.domain.system_logs import RetentionJob
from backend.domain.users import Users
from backend.domain.viewer import Viewer
from backend.graphql.context import Context, Services
from backend.graphql.schema import build_schema
from backend.graphql.session_cookie import session_token
from backend.payments.webhooks import stripe_webhook_endpoint
from backend.settings import Settings, get_settings
from backend.web.datascience_exports import datascience_endpoint
from backend.web.exports import sessions_csv_endpoint
from backend.web.invoices import invoice_pdf_endpoint
from backend.web.privacy_exports import my_data_endpoint, my_sessions_endpoint
from ocpp_server.app import StationSockets, ocpp_context, ocpp_routes, ocpp_running

log = logging.getLogger("vev_iq")

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(self)",
    # Everything is served by us: no CDN, no third party. Monaco (GraphiQL) needs inline styles
    # and blob workers.
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {k.lower() for k, _ in headers}
                for key, value in SECURITY_HEADERS.items():
                    if key.encode() not in present:
                        headers.append((key.encode(), value.encode()))
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def viewer_of(services: Services, conn: HTTPConnection) -> Viewer:
    async with services.sessionmaker() as session:
        return await Accounts(session, services.settings, services.mailer).viewer_for_token(
            session_token(conn)
        )


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, services: Services) -> None:
        super().__init__(
            build_schema(services.settings),
            graphql_ide=None,  # Strawberry's IDE loads from a CDN; ours is built and served here
            multipart_uploads_enabled=True,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        )
        self.services = services

    async def get_context(self, request: Any, response: Any) -> Context:
        viewer = await viewer_of(self.services, request)
        return Context(
            services=self.services,
            viewer=viewer,
            request=request,
            response=response if isinstance(response, Response) else None,
        )

    async def on_ws_connect(self, context: Context) -> None:
        """Websocket clients that cannot send the cookie log in with connection_init's
        `{"authorization": "Bearer <token>"}`; a token that is not valid closes the socket."""
        params = context.connection_params or {}
        header = params.get("authorization") or params.get("Authorization")
        if not header:
            return None
        scheme, _, token = str(header).partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ConnectionRejectionError()
        async with self.services.sessionmaker() as session:
            viewer = await Accounts(
                session, self.services.settings, self.services.mailer
            ).viewer_for_token(token.strip())
        if not viewer.authenticated:
            raise ConnectionRejectionError()
        context.viewer = viewer
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The cookie rides along on a websocket opened by another site's page: such an upgrade
        # is refused (cross-site websocket hijacking), like cross-origin writes below.
        if scope["type"] == "websocket" and not _same_origin_ws(scope, self.services.settings):
            await send({"type": "websocket.close", "code": 4403})
            return
        # Cookies ride along on cross-site requests: refuse writes coming from another origin.
        if scope["type"] == "http":
            request = Request(scope)
            if request.method == "POST" and not _same_origin(request, self.services.settings):
                response = JSONResponse(
                    {"errors": [{"message": "Cross-origin request refused."}]}, status_code=403
                )
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def _same_origin(request: Request, settings: Settings) -> bool:
    origin = request.headers.get("origin")
    if origin is None or "cookie" not in request.headers:
        # Without a cookie the request carries a bearer token, which no other site can forge.
        return True
    allowed = {f"{request.url.scheme}://{request.headers.get('host', '')}"}
    public = urlsplit(settings.public_url)
    allowed.add(f"{public.scheme}://{public.netloc}")
    return origin in allowed


def _same_origin_ws(scope: Scope, settings: Settings) -> bool:
    conn = HTTPConnection(scope)
    origin = conn.headers.get("origin")
    if origin is None or "cookie" not in conn.headers:
        return True
    scheme = "https" if conn.url.scheme == "wss" else "http"
    public = urlsplit(settings.public_url)
    allowed = {f"{scheme}://{conn.headers.get('host', '')}", f"{public.scheme}://{public.netloc}"}
    return origin in allowed


def create_app(settings: Settings | None = None) -> ASGIApp:
    settings = settings or get_settings()
    engine = create_engine(settings.resolved_database_url())
    sessionmaker = create_sessionmaker(engine)
    bus = BroadcastBus(settings.broadcast_url, settings.broadcast_prefix)
    ocpp = ocpp_context(settings, sessionmaker, bus)
    load_manager = LoadManager(
        sessionmaker,
        ocpp.registry,
        bus,
        interval_s=settings.smart_charging_interval_s,
        min_gap_s=settings.smart_charging_min_gap_s,
    )
    mailer = Mailer(settings)
    billing = BillingWorker(sessionmaker, settings, mailer, bus)
    # Right to oblivion: inactive accounts are warned, then erased (safe in every process).
    erasure_job = ErasureJob(sessionmaker, settings, mailer, gateway=billing.gateway)
    # Expired system logs (and audit entries, when they expire) are deleted (every process).
    log_retention = RetentionJob(sessionmaker, settings)
    services = Services(
        settings=settings,
        sessionmaker=sessionmaker,
        mailer=mailer,
        secret_key=settings.resolved_secret_key(),
        bus=bus,
        station_link=ocpp.registry,
        load_manager=load_manager,
    )
    graphql_app = GraphQLApp(services)
    dist = settings.frontend_dist

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The event bus and this process's entry in the station registry live as long as the app.
        async with ocpp_running(ocpp):
            await load_manager.start()
            await billing.start()
            await erasure_job.start()
            await log_retention.start()
            try:
                yield
            finally:
                await log_retention.stop()
                await erasure_job.stop()
                await billing.stop()
                await load_manager.stop()
        await engine.dispose()

    async def health(request: Request) -> Response:
        try:
            async with services.sessionmaker() as session:
                await session.execute(text("SELECT 1"))
        except Exception:  # the check reports any database failure, whatever its kind
            log.exception("health check: database unreachable")
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    async def picture(request: Request) -> Response:
        viewer = await viewer_of(services, request)
        try:
            user_id = uuid.UUID(request.path_params["user_id"])
        except ValueError:
            return Response(status_code=404)
        async with services.sessionmaker() as session:
            user = await session.get(User, user_id)
            if user is None or access.person_personal(viewer, user) is not access.ALLOW:
                return Response(status_code=404)
            stored = await Users(session).picture(user_id)
        if stored is None:
            return Response(status_code=404)
        return Response(
            stored.data,
            media_type=stored.content_type,
            headers={"cache-control": "private, max-age=86400"},
        )

    async def graphiql(request: Request) -> Response:
        viewer = await viewer_of(services, request)
        if not viewer.authenticated:
            return RedirectResponse("/login?next=/graphiql", status_code=303)
        if not viewer.reads_everything:
            return HTMLResponse("<h1>403</h1><p>GraphiQL is for administrators.</p>", 403)
        return _dist_file(dist / "graphiql.html")

    async def spa(request: Request) -> Response:
        return _dist_file(dist / "index.html")

    routes = [
        Route("/health", health),
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),
        *ocpp_routes(ocpp),
        Route("/graphiql", graphiql),
        Route("/media/pictures/{user_id}", picture),
        Route(
            "/export/sessions.csv",
            sessions_csv_endpoint(services, lambda request: viewer_of(services, request)),
        ),
        # Data rights: a person's data (JSON) and sessions (CSV); `?userId=` for admins, DPO.
        Route(
            "/export/my-data.json",
            my_data_endpoint(services, lambda request: viewer_of(services, request)),
        ),
        Route(
            "/export/my-sessions.csv",
            my_sessions_endpoint(services, lambda request: viewer_of(services, request)),
        ),
        # Anonymized sessions for data scientists (administrators only).
        Route(
            "/export/datascience/sessions.csv",
            datascience_endpoint(services, lambda request: viewer_of(services, request), "csv"),
        ),
        Route(
            "/export/datascience/sessions.jsonl",
            datascience_endpoint(services, lambda request: viewer_of(services, request), "jsonl"),
        ),
        # Signed by Stripe, no cookie: outside the cross-origin check of /graphql.
        Route("/webhooks/stripe", stripe_webhook_endpoint(services), methods=["POST"]),
        Mount("/assets", StaticFiles(directory=dist / "assets", check_dir=False), name="assets"),
        Route(
            "/invoices/{invoice_id}.pdf",
            invoice_pdf_endpoint(services, lambda request: viewer_of(services, request)),
        ),
        Route("/{path:path}", spa),
    ]
    web = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(SecurityHeaders)])
    return StationSockets(web, ocpp)


def _dist_file(path: Path) -> Response:
    if not path.exists():
        return HTMLResponse(
            "<h1>The web app is not built</h1><p>Run <code>npm run build</code>.</p>", 503
        )
    return FileResponse(path, headers={"cache-control": "no-cache"})
