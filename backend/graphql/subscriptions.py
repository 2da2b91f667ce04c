"""Root subscriptions (graphql-transport-ws on /graphql), fed by the event bus.

- `stationStatus(siteId)`: station and connector status. Drivers and site admins get the
  stations of their sites (a `siteId` they are not assigned to is NOT_FOUND); administrators
  and demo users every station.
- `sessionCurve(sessionId)`: a session's curve and running cost as meter values arrive; its
  driver, the managers of its site, administrators and demo users; anyone else is FORBIDDEN.
  The stream ends once the session is over: at the stop, or for a priced session whose
  connector is not free yet, when it is (its final cost, a "priced" event).

The policy table decides first (`Subscription.*` in `backend.graphql.policy`), when the
subscription starts; the rows of the viewer's reach are then filtered event by event.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from backend.db.models import ChargingSession
from backend.domain import access
from backend.domain.charging.history import session_select
from backend.domain.errors import Forbidden, NotFound, Unauthenticated
from backend.domain.viewer import Viewer
from backend.graphql.context import Context
from backend.graphql.ids import parse_id, parse_optional_id
from backend.graphql.policy import DENY, decide
from backend.graphql.types.live import SessionCurveEvent, StationStatusEvent

STATION_KINDS = ("station.status", "connector.status")
SESSION_KINDS = ("session.started", "session.updated", "session.stopped", "session.priced")


def _allowed(info: strawberry.Info[Context], field: str) -> Viewer:
    viewer = info.context.viewer
    if decide(viewer, "Subscription", field, None) is DENY:
        if not viewer.authenticated:
            raise Unauthenticated()
        raise Forbidden(f"You may not subscribe to {field}.")
    return viewer


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Station and connector status, live.")
    async def station_status(
        self, info: strawberry.Info[Context], site_id: strawberry.ID | None = None
    ) -> AsyncGenerator[StationStatusEvent, None]:
        viewer = _allowed(info, "stationStatus")
        site = parse_optional_id(site_id, "siteId")
        if site is not None and not (viewer.reads_everything or viewer.member_of(site)):
            raise NotFound("No such site.", field="siteId")
        channel = f"site:{site}" if site else "stations"
        async with info.context.services.bus.subscribe(channel) as events:
            async for event in events:
                if event.get("kind") not in STATION_KINDS:
                    continue
                update = StationStatusEvent.of(event)
                if viewer.reads_everything or viewer.member_of(update.site_id):
                    yield update

    @strawberry.subscription(description="A charging session's curve as it grows.")
    async def session_curve(
        self, info: strawberry.Info[Context], session_id: strawberry.ID
    ) -> AsyncGenerator[SessionCurveEvent, None]:
        viewer = _allowed(info, "sessionCurve")
        sid = parse_id(session_id, "sessionId")
        async with info.context.session() as db:
            charge = await db.scalar(session_select().where(ChargingSession.id == sid))
        if charge is None:
            raise NotFound("No such charging session.", field="sessionId")
        # Following a session live is reading it: the same rule as for its fields.
        if access.session_read(viewer, charge) is not access.ALLOW:
            raise Forbidden("Only the driver, the site's managers and administrators follow this.")
        stopped = final = False
        async with info.context.services.bus.subscribe(f"session:{sid}") as events:
            async for event in events:
                kind = event.get("kind")
                if kind not in SESSION_KINDS:
                    continue
                yield SessionCurveEvent.of(event, charge.user_id, charge.site_id)
                cost = event.get("cost")
                # The two may arrive in either order (a stop and the connector's status travel
                # separately); without a tariff the stop is the end.
                if kind == "session.stopped":
                    stopped = True
                    final = final or not cost or bool(cost.get("final"))
                elif kind == "session.priced":
                    final = True
                if stopped and final:
                    return
