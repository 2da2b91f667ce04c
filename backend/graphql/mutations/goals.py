"""What a driver asks of a session (smart charging plans towards it)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from backend.db import models
from backend.domain.load_management import goals
from backend.graphql.context import Context
from backend.graphql.ids import parse_id
from backend.graphql.types.charging import ChargingSession


@strawberry.type
class GoalMutations:
    @strawberry.mutation(
        graphql_type=ChargingSession,
        description="Set when the driver leaves and how much energy they want (an argument left "
        "out is kept, null clears it back to the defaults): the driver of the active session, "
        "or an administrator of its site. Its site area is planned again.",
    )
    async def update_session_goal(
        self,
        info: strawberry.Info[Context],
        session_id: strawberry.ID,
        departure_at: datetime | None = strawberry.UNSET,
        energy_wanted_wh: int | None = strawberry.UNSET,
    ) -> models.ChargingSession:
        async with info.context.session() as session:
            return await goals.set_goal(
                session,
                info.context.viewer,
                parse_id(session_id, "sessionId"),
                departure_at=goals.KEEP if departure_at is strawberry.UNSET else departure_at,
                energy_wanted_wh=(
                    goals.KEEP if energy_wanted_wh is strawberry.UNSET else energy_wanted_wh
                ),
                replanner=info.context.services.load_manager,
            )
