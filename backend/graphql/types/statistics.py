"""Statistics and demand forecasts in the schema: value types built by the domain, whose rules
(scope, people left out, names or pseudonyms of drivers) were applied before they exist."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import NewType

import strawberry

from backend.domain import statistics as stats
from backend.domain.prediction import demand

# GraphQL's Int is 32 bits; a year of a site's energy in Wh is not. Registered in the schema's
# scalar map (backend/graphql/schema.py).
Long = NewType("Long", int)
LONG_SCALAR = strawberry.scalar(
    name="Long",
    serialize=int,
    parse_value=int,
    description="A whole number beyond 32 bits (exact up to 2^53, as a JSON number).",
)

StatisticsGroupBy = strawberry.enum(
    stats.GroupBy,
    name="StatisticsGroupBy",
    description="What each row is about: everything, a site, a site area, a station or a "
    "driver (administrators; demo users see pseudonyms).",
)


@strawberry.enum(
    description="Rows per UTC day, month or year of the sessions' start, or one "
    "row for the whole range."
)
class StatisticsPeriod(enum.Enum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"
    TOTAL = "total"

    def domain(self) -> stats.Period:
        return stats.Period(self.value)


@strawberry.type(description="An amount in one currency, in minor units (cents).")
class CurrencyAmount:
    currency: str
    sessions: int = strawberry.field(description="The sessions priced in this currency.")
    excl_vat_minor: Long
    incl_vat_minor: Long

    @classmethod
    def of(cls, cost: stats.CurrencyCost) -> CurrencyAmount:
        return cls(
            currency=cost.currency,
            sessions=cost.sessions,
            excl_vat_minor=Long(cost.excl_vat_minor),
            incl_vat_minor=Long(cost.incl_vat_minor),
        )


@strawberry.type(description="Figures of the sessions that started in a period, for a group.")
class StatisticsRow:
    period_start: datetime | None = strawberry.field(description="Null for the TOTAL period.")
    period_end: datetime | None
    group_id: strawberry.ID | None = strawberry.field(
        description="The site, site area, station or driver; null when grouping by nothing, "
        "or for sessions without one."
    )
    label: str | None = strawberry.field(
        description="Its name (a driver's as the viewer may see it)."
    )
    sessions: int
    energy_wh: Long
    connected_s: Long = strawberry.field(description="Usage: start to stop, to now if running.")
    charging_s: Long = strawberry.field(description="Connected minus inactivity.")
    inactivity_s: Long = strawberry.field(description="Connected without charging.")
    costs: list[CurrencyAmount] = strawberry.field(
        description="One amount per currency (never added together)."
    )

    @classmethod
    def of(cls, row: stats.StatisticsRow) -> StatisticsRow:
        return cls(
            period_start=row.period_start,
            period_end=row.period_end,
            group_id=strawberry.ID(str(row.group_id)) if row.group_id else None,
            label=row.label,
            sessions=row.sessions,
            energy_wh=Long(row.energy_wh),
            connected_s=Long(row.connected_s),
            charging_s=Long(row.charging_s),
            inactivity_s=Long(row.inactivity_s),
            costs=[CurrencyAmount.of(c) for c in row.costs],
        )


@strawberry.type
class StatisticsTotal:
    sessions: int
    energy_wh: Long
    connected_s: Long
    charging_s: Long
    inactivity_s: Long
    costs: list[CurrencyAmount]

    @classmethod
    def of(cls, total: stats.Figures) -> StatisticsTotal:
        return cls(
            sessions=total.sessions,
            energy_wh=Long(total.energy_wh),
            connected_s=Long(total.connected_s),
            charging_s=Long(total.charging_s),
            inactivity_s=Long(total.inactivity_s),
            costs=[CurrencyAmount.of(c) for c in total.costs],
        )


@strawberry.type(description="Statistics of the sessions in the viewer's scope.")
class Statistics:
    group_by: StatisticsGroupBy  # type: ignore[valid-type]
    period: StatisticsPeriod
    rows: list[StatisticsRow]
    total: StatisticsTotal

    @classmethod
    def of(cls, result: stats.StatisticsResult) -> Statistics:
        return cls(
            group_by=result.query.group_by,
            period=StatisticsPeriod(result.query.period.value),
            rows=[StatisticsRow.of(r) for r in result.rows],
            total=StatisticsTotal.of(result.total),
        )


@strawberry.type(description="One hour: sessions starting in it and their energy.")
class DemandHour:
    at: datetime = strawberry.field(description="The start of the hour (UTC).")
    sessions: float
    energy_wh: Long

    @classmethod
    def of(cls, hour: demand.DemandHour) -> DemandHour:
        return cls(at=hour.at, sessions=hour.sessions, energy_wh=Long(hour.energy_wh))


@strawberry.type(description="Expected demand of a site per hour, learned from its history.")
class DemandForecast:
    site_id: strawberry.ID
    timezone: str = strawberry.field(description="The site's time zone (hours of the week).")
    generated_at: datetime = strawberry.field(description="The first forecast hour.")
    history_from: datetime = strawberry.field(description="The first hour learned from.")
    weeks_with_data: int
    excluded_days: list[str] = strawberry.field(
        description="Local dates left out of learning as exceptional (holidays, outages)."
    )
    hours: list[DemandHour] = strawberry.field(description="The forecast, hour by hour.")
    recent: list[DemandHour] = strawberry.field(description="The last 7 days as they were.")

    @classmethod
    def of(cls, forecast: demand.DemandForecast) -> DemandForecast:
        return cls(
            site_id=strawberry.ID(str(forecast.site_id)),
            timezone=forecast.timezone,
            generated_at=forecast.generated_at,
            history_from=forecast.history_from,
            weeks_with_data=forecast.weeks_with_data,
            excluded_days=forecast.excluded_days,
            hours=[DemandHour.of(h) for h in forecast.hours],
            recent=[DemandHour.of(h) for h in forecast.recent],
        )
