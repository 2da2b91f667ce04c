"""Root queries of statistics and demand prediction (merged into Query in
backend/graphql/schema.py). The domain applies the rules: `statistics` counts the sessions in
the viewer's scope (drivers their own, site administrators their sites', administrators and
demo users all); `demandForecast` is for administrators, demo users and the site's
administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from backend.domain import statistics as stats
from backend.domain.prediction import demand
from backend.graphql.context import Context
from backend.graphql.ids import parse_id, parse_optional_id
from backend.graphql.types.statistics import (
    DemandForecast,
    Statistics,
    StatisticsGroupBy,
    StatisticsPeriod,
)


@strawberry.type
class StatisticsQueries:
    @strawberry.field(
        description="Energy, sessions, usage, inactivity and cost of the sessions you may see, "
        "per period of their start (UTC) and per group. Sessions of people who objected to "
        "analytics are left out, except your own."
    )
    async def statistics(
        self,
        info: strawberry.Info[Context],
        group_by: StatisticsGroupBy = stats.GroupBy.NONE,  # type: ignore[valid-type]
        period: StatisticsPeriod = StatisticsPeriod.MONTH,
        from_: Annotated[
            datetime | None,
            strawberry.argument(name="from", description="Sessions started at or after this."),
        ] = None,
        to: Annotated[
            datetime | None, strawberry.argument(description="Sessions started before this.")
        ] = None,
        site_id: strawberry.ID | None = None,
    ) -> Statistics:
        query = stats.StatisticsQuery(
            group_by=group_by,
            period=period.domain(),
            started_from=from_,
            started_to=to,
            site_id=parse_optional_id(site_id, "siteId"),
        )
        async with info.context.session() as session:
            result = await stats.statistics(
                session, info.context.viewer, query, secret=info.context.services.secret_key
            )
        return Statistics.of(result)

    @strawberry.field(
        description="Expected sessions and energy per hour at a site for the next days "
        "(administrators and the site's administrators)."
    )
    async def demand_forecast(
        self, info: strawberry.Info[Context], site_id: strawberry.ID, days: int = 7
    ) -> DemandForecast:
        async with info.context.session() as session:
            forecast = await demand.site_forecast(
                session, info.context.viewer, parse_id(site_id, "siteId"), days
            )
        return DemandForecast.of(forecast)
