"""Periods and durations in SQL, the same on SQLite and PostgreSQL.

Aggregates run in the database (one GROUP BY over the sessions), so the bucketing of a start
time into its day, month or year, and the seconds between two instants, are SQL expressions.
SQLite and PostgreSQL spell them differently; the dialect of the connection chooses.

Periods are UTC: a site's time zone would make a "day" mean different instants at different
sites, and SQLite cannot convert time zones. A session belongs to the period of its start
(like the `from`/`to` filter of the sessions list): a charge from 23:00 to 02:00 counts whole
on the day it began, so that the periods add up to the total without splitting a session.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, cast, func, literal, literal_column
from sqlalchemy.sql.elements import ColumnElement

from backend.db.base import UTCDateTime


class Period(enum.Enum):
    HOUR = "hour"  # for demand prediction; not offered to statistics (too many rows)
    DAY = "day"
    MONTH = "month"
    YEAR = "year"
    TOTAL = "total"  # the whole range as one period


_SQLITE_FORMATS = {
    Period.HOUR: "%Y-%m-%d %H",
    Period.DAY: "%Y-%m-%d",
    Period.MONTH: "%Y-%m",
    Period.YEAR: "%Y",
}


def is_postgres(dialect: str) -> bool:
    return dialect == "postgresql"


def bucket(dialect: str, period: Period, column: Any) -> ColumnElement[Any]:
    """The period of an instant (`period_start` reads the value back)."""
    if period is Period.TOTAL:
        raise ValueError("the total has no bucket")
    if is_postgres(dialect):
        # timestamptz → UTC wall time, then truncated: independent of the connection's TimeZone.
        # Constants, not bound parameters: the same expression must appear in GROUP BY.
        return func.date_trunc(_constant(period.value), func.timezone(_constant("UTC"), column))
    # SQLite keeps UTC wall times as text ("2026-01-05 23:10:00.000000").
    return func.strftime(_constant(_SQLITE_FORMATS[period]), column)


def _constant(text: str) -> ColumnElement[str]:
    # Only our own fixed strings come here (no quotes inside), never user input.
    assert "'" not in text
    return literal_column(f"'{text}'")


def period_start(value: Any, period: Period) -> datetime:
    """The start of a bucket as read from either database, as an aware UTC datetime."""
    if isinstance(value, datetime):  # PostgreSQL: a naive UTC wall time
        return value.replace(tzinfo=UTC)
    text = str(value)
    if period is Period.HOUR:
        return datetime.strptime(text, "%Y-%m-%d %H").replace(tzinfo=UTC)
    if period is Period.DAY:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    if period is Period.MONTH:
        return datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC)
    if period is Period.YEAR:
        return datetime(int(text), 1, 1, tzinfo=UTC)
    raise ValueError(period)


def period_end(start: datetime, period: Period) -> datetime:
    """The first instant after the period starting at `start`."""
    if period is Period.HOUR:
        return start.replace(minute=0, second=0, microsecond=0) + _HOUR
    if period is Period.DAY:
        return start + _DAY
    if period is Period.MONTH:
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    if period is Period.YEAR:
        return start.replace(year=start.year + 1)
    raise ValueError(period)


def instant(moment: datetime) -> ColumnElement[datetime]:
    """A Python instant as an SQL value, stored like the columns it is compared with."""
    return literal(moment, UTCDateTime())


def whole_seconds(dialect: str, start: Any, end: Any) -> ColumnElement[int]:
    """Whole seconds from `start` to `end` (fractions dropped), never negative.

    SQLite has no interval type: `julianday` gives fractional days, rounded to the millisecond
    before truncating so that floating point never turns 3600 s into 3599.
    """
    if is_postgres(dialect):
        # date_part gives a double (cheaper per row than extract's numeric).
        seconds: ColumnElement[Any] = func.floor(func.date_part("epoch", end - start))
        return cast(func.greatest(seconds, 0), Integer)
    millis = cast(func.round((func.julianday(end) - func.julianday(start)) * 86_400_000), Integer)
    whole = millis // 1000
    return case((whole > 0, whole), else_=0)


def at_least_zero(dialect: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    if is_postgres(dialect):
        return func.greatest(value, 0)
    return case((value > 0, value), else_=0)


_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
