"""Root query of the system logs (merged into Query in backend/graphql/schema.py): for
administrators only, newest first, with the audit log merged in (backend.domain.system_logs)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from backend.db.models import LogCategory, LogLevel
from backend.domain.access import require_admin
from backend.domain.system_logs import LogFilter, SystemLogs
from backend.graphql.context import Context
from backend.graphql.ids import parse_optional_id
from backend.graphql.pagination import Connection, Edge, PageInfo
from backend.graphql.types.system_logs import SystemLogEntry


@strawberry.input
class SystemLogFilter:
    from_: datetime | None = strawberry.field(
        name="from", default=None, description="Entries at or after this time."
    )
    to: datetime | None = strawberry.field(default=None, description="Entries before this time.")
    level: LogLevel | None = None
    category: LogCategory | None = None
    station_id: strawberry.ID | None = None
    search: str | None = strawberry.field(
        default=None, description="Text in the message, the event code or the station identity."
    )


def _domain_filter(given: SystemLogFilter | None) -> LogFilter:
    if given is None:
        return LogFilter()
    search = (given.search or "").strip()[:100] or None
    return LogFilter(
        from_=given.from_,
        to=given.to,
        level=given.level,
        category=given.category,
        station_id=parse_optional_id(given.station_id, "stationId"),
        search=search,
    )


@strawberry.type
class SystemLogQueries:
    @strawberry.field(
        graphql_type=Connection[SystemLogEntry],
        description="System logs (OCPP errors, security events, jobs) and the audit log "
        "(category ADMIN), newest first: administrators only.",
    )
    async def system_logs(
        self,
        info: strawberry.Info[Context],
        filter: SystemLogFilter | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[SystemLogEntry]:
        ctx = info.context
        require_admin(ctx.viewer)
        log_filter = _domain_filter(filter)
        async with ctx.session() as session:
            page = await SystemLogs(session).page(ctx.viewer, log_filter, first, after)
        edges = [
            Edge(cursor=page.cursor_of[item.id], node=SystemLogEntry.of(item))
            for item in page.items
        ]

        async def count() -> int:
            async with ctx.session() as session:
                return await SystemLogs(session).count(ctx.viewer, log_filter)

        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            _count=count,
        )
