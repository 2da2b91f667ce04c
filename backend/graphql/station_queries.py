"""Root queries of station administration (merged into Query in backend/graphql/schema.py)."""

from __future__ import annotations

import strawberry

from backend.db import models
from backend.domain.access import require_login
from backend.domain.charging.authorization import Authorization
from backend.domain.errors import Forbidden
from backend.graphql.context import Context
from backend.graphql.types.commands import UnknownBadge


@strawberry.type
class StationAdminQueries:
    @strawberry.field(
        graphql_type=list[UnknownBadge],
        description="Badges nobody owns, most recently seen first (administrators; demo users "
        "see them without their numbers).",
    )
    async def unknown_badges(
        self, info: strawberry.Info[Context], limit: int = 100
    ) -> list[models.UnknownBadge]:
        viewer = info.context.viewer
        require_login(viewer)
        if not viewer.reads_everything:
            raise Forbidden("Only administrators see unknown badges.")
        async with info.context.session() as session:
            return await Authorization(session).unknown_badges(max(1, min(limit, 500)))
