"""The demand model: a seasonal profile per hour of the week, with a level and trend correction.

Charging demand at a site repeats every week (offices fill at 8:00 on weekdays, shops on
Saturday afternoons), drifts slowly (more electric cars every month), and has exceptional
days (public holidays, an outage). The model says exactly that, in four steps, on an hourly
series (sessions started per hour, or their energy) over the last `weeks` weeks:

1. **Hour of the week.** Each hour falls in one of 168 slots, Monday 00:00 to Sunday 23:00 in
   the *site's* time zone (people arrive at 8:00 local time, summer or winter), and in a week
   of age 0 (the last 7 days), 1, 2, …
2. **Exceptional days left out.** A whole day with fewer than half the sessions of the median
   of the same weekday in the window (say Easter Monday, or a day the site was closed) says
   nothing about an ordinary Monday: its hours are left out of the profile and the levels, for
   the energy too. Only where that median is at least 10 sessions: on quieter days, half is
   within the noise.
3. **Seasonal profile.** The expected value of a slot is the weighted mean of the kept values
   of that slot over the past weeks (12: a quarter), the weight of a week of age `a` being
   `decay ** a` (0.9: last week counts 1, the week before 0.9, then 0.81, …). Averaging
   many weeks removes most of the noise that copying last week keeps; the decay lets recent
   weeks lead.
4. **Level and trend.** A weighted mean lags behind a growing demand. For each past week the
   level is its actual total divided by what the profile expects for the same (kept) hours;
   a straight line fitted to these levels against the week's position is extrapolated to the
   forecast hour (with fewer than three weeks, no trend: the level is their weighted mean).

The forecast for an hour is `profile[slot] x level(time)`, never negative. Every number can be
checked by hand, and `bench/demand_prediction.py` measures it against copying the same hour of
last week on held-out weeks, where the settings were chosen (`--ablation`): the window's length
matters most (12 weeks beat 8 and 4, a decay of 0.9 beats 0.75); the trend and leaving
exceptional days out change little there, and guard against a steeper growth and holidays in
the learning window.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
SLOTS = 7 * 24


@dataclass(frozen=True)
class ModelSettings:
    weeks: int = 12
    decay: float = 0.9
    # A complete day below this share of its weekday's median total is exceptional, when that
    # median is at least `exceptional_min_median` (sessions): below it, a quiet day is noise.
    exceptional_share: float = 0.5
    exceptional_min_median: float = 10.0
    trend: bool = True
    # The level never goes beyond this many times the profile (a runaway trend line).
    max_level: float = 3.0


def slot_of(moment: datetime, tz: tzinfo) -> int:
    """The hour of the week in the site's time zone: 0 = Monday 00:00, 167 = Sunday 23:00."""
    local = moment.astimezone(tz)
    return local.weekday() * 24 + local.hour


@dataclass
class SeasonalModel:
    """A fitted model (see the module's docstring); `predict` gives one hour's expectation."""

    end: datetime  # the first hour after the history
    tz: tzinfo
    profile: list[float]  # per slot
    level_at_end: float = 1.0  # the fitted level line at `end`
    slope_per_week: float = 0.0
    settings: ModelSettings = field(default_factory=ModelSettings)
    excluded_days: list[date] = field(default_factory=list)
    weeks_with_data: int = 0

    def level(self, moment: datetime) -> float:
        weeks_ahead = (moment - self.end) / WEEK
        value = self.level_at_end + self.slope_per_week * weeks_ahead
        return min(max(value, 0.0), self.settings.max_level)

    def predict(self, moment: datetime) -> float:
        return max(0.0, self.profile[slot_of(moment, self.tz)] * self.level(moment))

    def forecast(self, start: datetime, hours: int) -> list[float]:
        return [self.predict(start + i * HOUR) for i in range(hours)]


def fit(
    values: Sequence[float],
    start: datetime,
    tz: tzinfo,
    settings: ModelSettings | None = None,
    excluded: set[date] | None = None,
) -> SeasonalModel:
    """Fit the model on hourly `values`, the first for the hour starting at `start` (UTC, on
    the hour). Only the last `settings.weeks` weeks are used.

    `excluded`: the exceptional days, when already known (the energy series uses the days
    found on the sessions series); otherwise found on `values`."""
    settings = settings or ModelSettings()
    end = start + len(values) * HOUR
    hours: list[tuple[int, int, date, float]] = []  # (slot, age, local day, value)
    for i, value in enumerate(values):
        moment = start + i * HOUR
        age = int((end - moment - HOUR) / WEEK)
        if age >= settings.weeks:
            continue
        local = moment.astimezone(tz)
        hours.append((local.weekday() * 24 + local.hour, age, local.date(), float(value)))

    if excluded is None:
        excluded = _exceptional_days(hours, settings)
    kept = [h for h in hours if h[2] not in excluded]

    # 3. The seasonal profile: decayed mean per slot.
    num = [0.0] * SLOTS
    den = [0.0] * SLOTS
    for slot, age, _, value in kept:
        weight = settings.decay**age
        num[slot] += weight * value
        den[slot] += weight
    profile = [num[s] / den[s] if den[s] else 0.0 for s in range(SLOTS)]

    # 4. Levels per week, then a line through them.
    actual: dict[int, float] = defaultdict(float)
    expected: dict[int, float] = defaultdict(float)
    for slot, age, _, value in kept:
        actual[age] += value
        expected[age] += profile[slot]
    levels = [(age, actual[age] / expected[age]) for age in sorted(expected) if expected[age] > 0]
    level_at_end, slope = _level_line(levels, settings)
    return SeasonalModel(
        end=end,
        tz=tz,
        profile=profile,
        level_at_end=level_at_end,
        slope_per_week=slope,
        settings=settings,
        excluded_days=sorted(excluded),
        weeks_with_data=sum(1 for age in actual if actual[age] > 0),
    )


def _exceptional_days(
    hours: Sequence[tuple[int, int, date, float]], settings: ModelSettings
) -> set[date]:
    totals: dict[date, float] = defaultdict(float)
    counts: dict[date, int] = defaultdict(int)
    for _, _, day, value in hours:
        totals[day] += value
        counts[day] += 1
    # Only whole days are judged (the window's first and last days are usually partial); a day
    # has 23 or 25 hours when the clocks change.
    complete = [day for day in totals if counts[day] >= 23]
    by_weekday: dict[int, list[float]] = defaultdict(list)
    for day in complete:
        by_weekday[day.weekday()].append(totals[day])
    medians = {wd: statistics.median(v) for wd, v in by_weekday.items()}
    return {
        day
        for day in complete
        if medians[day.weekday()] >= settings.exceptional_min_median
        and totals[day] < settings.exceptional_share * medians[day.weekday()]
    }


def _level_line(
    levels: Sequence[tuple[int, float]], settings: ModelSettings
) -> tuple[float, float]:
    """(level at the end of the history, slope per week) through the weekly levels.

    A week of age `a` is centred `a + 0.5` weeks before the end."""
    if not levels:
        return 1.0, 0.0
    if not settings.trend or len(levels) < 3:
        weights = [settings.decay**age for age, _ in levels]
        return sum(w * lv for w, (_, lv) in zip(weights, levels, strict=True)) / sum(weights), 0.0
    xs = [-(age + 0.5) for age, _ in levels]
    ys = [lv for _, lv in levels]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    return mean_y - slope * mean_x, slope


def same_hour_last_week(values: Sequence[float], hours: int) -> list[float]:
    """The baseline: each forecast hour repeats the same hour one week earlier (for forecasts
    longer than a week, the last week is repeated again)."""
    if len(values) < SLOTS:
        raise ValueError("the baseline needs a whole week of history")
    last_week = list(values[-SLOTS:])
    return [last_week[i % SLOTS] for i in range(hours)]
