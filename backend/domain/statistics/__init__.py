"""Statistics of energy, sessions, usage, inactivity and cost, aggregated in the database
(`aggregates`), with periods and durations spelled for SQLite and PostgreSQL (`periods`)."""

from backend.domain.statistics.aggregates import (
    CurrencyCost,
    Figures,
    GroupBy,
    StatisticsQuery,
    StatisticsResult,
    StatisticsRow,
    statistics,
)
from backend.domain.statistics.periods import Period

__all__ = [
    "CurrencyCost",
    "Figures",
    "GroupBy",
    "Period",
    "StatisticsQuery",
    "StatisticsResult",
    "StatisticsRow",
    "statistics",
]
