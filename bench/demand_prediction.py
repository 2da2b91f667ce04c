"""Demand prediction: the seasonal model against "same hour last week" on held-out weeks.

    .venv/bin/python -m bench.demand_prediction [--weeks 30] [--holdout 8] [--seed 11]
        [--no-db-check] [--ablation]

A synthetic but realistic history (seeded; no real data) of three sites in Europe/Paris:

- an office car park: weekday arrivals around 8-9 h and a smaller wave after lunch, almost
  nothing at weekends, and almost nothing on public holidays;
- a shopping centre: late mornings to evenings, busiest on Saturdays, all but closed on Sundays and
  holidays;
- a residential street: evening arrivals every day, a little more at weekends and on holidays.

Sessions arrive hour by hour as a Poisson process around each site's hourly pattern, scaled by
a growth trend (+1 % a week: more electric cars), a slow seasonal swing, day-to-day weather
noise (±15 %), and the French public holidays of 2026. Each session's energy is drawn from a
log-normal distribution (about 17 kWh on average).

Evaluation: rolling origins over the last `--holdout` weeks. At each origin (a Monday 00:00
UTC), both methods see only the history before it and forecast the next 7 x 24 hours:

- **model**: `backend.domain.prediction.model` (12 weeks, decay 0.9, exceptional days left out,
  level and trend), exactly as the `demandForecast` query runs it;
- **baseline**: each hour repeats the same hour one week earlier.

Printed per site and overall: the mean absolute error (MAE) and root mean square error (RMSE)
of the hourly sessions and energy, and the baseline's error divided by the model's (above 1:
the model is better). Unless `--no-db-check`, one site's history is also written to a
temporary SQLite database and forecast through `demand.site_forecast` (SQL aggregation and
all), which must give the same numbers as the in-memory path. `--ablation` also runs the
model without each of its parts.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from backend.domain.prediction.model import (
    HOUR,
    SLOTS,
    WEEK,
    ModelSettings,
    fit,
    same_hour_last_week,
)

PARIS = ZoneInfo("Europe/Paris")
END = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday: the end of the history
HOLIDAYS = {
    date(2026, 1, 1),
    date(2026, 4, 6),
    date(2026, 5, 1),
    date(2026, 5, 8),
    date(2026, 5, 14),
    date(2026, 5, 25),
    date(2026, 7, 14),
    date(2026, 8, 15),
    date(2026, 11, 1),
    date(2026, 11, 11),
    date(2026, 12, 25),
}


@dataclass(frozen=True)
class SitePattern:
    name: str
    per_day: float  # sessions on an ordinary weekday at the start of the history
    hours: list[float]  # relative arrivals per local hour (weekday)
    weekday_factor: list[float]  # Monday … Sunday
    holiday_factor: float


def _bump(center: float, width: float, height: float) -> list[float]:
    return [height * math.exp(-0.5 * ((h - center) / width) ** 2) for h in range(24)]


def _add(*curves: list[float]) -> list[float]:
    return [sum(values) + 0.02 for values in zip(*curves, strict=True)]


SITES = [
    SitePattern(
        "office",
        per_day=40,
        hours=_add(_bump(8.5, 1.0, 1.0), _bump(13.5, 0.8, 0.35)),
        weekday_factor=[1.0, 1.05, 1.05, 1.0, 0.85, 0.08, 0.05],
        holiday_factor=0.08,
    ),
    SitePattern(
        "shopping centre",
        per_day=30,
        hours=_add(_bump(11.5, 1.5, 0.7), _bump(16.5, 2.0, 1.0)),
        weekday_factor=[0.7, 0.75, 0.85, 0.8, 1.0, 1.6, 0.05],
        holiday_factor=0.1,
    ),
    SitePattern(
        "residential street",
        per_day=18,
        hours=_add(_bump(18.5, 1.8, 1.0), _bump(21.0, 1.2, 0.4)),
        weekday_factor=[1.0, 1.0, 1.0, 1.0, 1.05, 1.2, 1.25],
        holiday_factor=1.2,
    ),
]


@dataclass
class History:
    start: datetime
    sessions: list[float]
    energy_wh: list[float]
    # Each session (start, Wh), for the database check.
    events: list[tuple[datetime, int]]


def generate(site: SitePattern, weeks: int, rng: np.random.Generator) -> History:
    start = END - weeks * WEEK
    hours = weeks * SLOTS
    weight = [h / sum(site.hours) for h in site.hours]
    sessions: list[float] = []
    energy: list[float] = []
    events: list[tuple[datetime, int]] = []
    weather: dict[date, float] = {}
    for i in range(hours):
        moment = start + i * HOUR
        local = moment.astimezone(PARIS)
        day = local.date()
        if day not in weather:
            weather[day] = float(np.clip(rng.normal(1.0, 0.15), 0.5, 1.5))
        weeks_in = i / SLOTS
        trend = 1.01**weeks_in * (1 + 0.08 * math.sin(2 * math.pi * weeks_in / 26))
        factor = site.holiday_factor if day in HOLIDAYS else site.weekday_factor[local.weekday()]
        rate = site.per_day * weight[local.hour] * factor * trend * weather[day]
        count = int(rng.poisson(rate))
        watt_hours = [int(rng.lognormal(math.log(15_000), 0.55)) for _ in range(count)]
        sessions.append(float(count))
        energy.append(float(sum(watt_hours)))
        for wh in watt_hours:
            events.append((moment + timedelta(seconds=int(rng.integers(0, 3600))), wh))
    return History(start=start, sessions=sessions, energy_wh=energy, events=events)


@dataclass
class Errors:
    abs_model: float = 0.0
    sq_model: float = 0.0
    abs_base: float = 0.0
    sq_base: float = 0.0
    n: int = 0

    def add(self, model: list[float], base: list[float], actual: list[float]) -> None:
        for m, b, a in zip(model, base, actual, strict=True):
            self.abs_model += abs(m - a)
            self.sq_model += (m - a) ** 2
            self.abs_base += abs(b - a)
            self.sq_base += (b - a) ** 2
            self.n += 1

    def merge(self, other: Errors) -> None:
        self.abs_model += other.abs_model
        self.sq_model += other.sq_model
        self.abs_base += other.abs_base
        self.sq_base += other.sq_base
        self.n += other.n

    def figures(self) -> tuple[float, float, float, float]:
        n = max(1, self.n)
        return (
            self.abs_model / n,
            self.abs_base / n,
            math.sqrt(self.sq_model / n),
            math.sqrt(self.sq_base / n),
        )


def evaluate(
    history: History, holdout: int, settings: ModelSettings
) -> tuple[Errors, Errors, float]:
    """Errors on sessions and on energy over `holdout` rolling weeks, and the seconds spent
    fitting and forecasting."""
    by_sessions, by_energy = Errors(), Errors()
    total = len(history.sessions)
    spent = 0.0
    for k in range(holdout, 0, -1):
        origin = total - k * SLOTS
        origin_at = history.start + origin * HOUR
        excluded: set[date] | None = None  # found on the sessions, used for the energy
        for series, errors in ((history.sessions, by_sessions), (history.energy_wh, by_energy)):
            past = series[:origin]
            actual = series[origin : origin + SLOTS]
            t0 = time.perf_counter()
            # The service gives the model the last `weeks` weeks (or less for a new site).
            window = past[-settings.weeks * SLOTS :]
            model = fit(window, origin_at - len(window) * HOUR, PARIS, settings, excluded)
            excluded = set(model.excluded_days)
            predicted = model.forecast(origin_at, SLOTS)
            spent += time.perf_counter() - t0
            errors.add(predicted, same_hour_last_week(past, SLOTS), actual)
    return by_sessions, by_energy, spent


async def db_check(history: History, settings: ModelSettings) -> bool:
    """The same forecast through the database and `demand.site_forecast`."""
    from backend.db import migrations
    from backend.db.engine import create_engine, create_sessionmaker
    from backend.db.models import (
        ChargingSession,
        ChargingStation,
        Role,
        SessionStatus,
        Site,
        SiteArea,
    )
    from backend.domain.prediction import demand
    from backend.domain.viewer import Viewer

    folder = Path(tempfile.mkdtemp(prefix="vev-iq-bench-demand-"))
    url = f"sqlite+aiosqlite:///{folder / 'demand.sqlite3'}"
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        engine = create_engine(url)
        maker = create_sessionmaker(engine)
        async with maker() as db:
            site = Site(id=uuid.uuid4(), name="Check", timezone="Europe/Paris")
            area = SiteArea(id=uuid.uuid4(), site_id=site.id, name="A", max_power_w=1)
            station = ChargingStation(
                id=uuid.uuid4(), ocpp_identity="CHECK", site_id=site.id, site_area_id=area.id
            )
            db.add_all([site, area, station])
            await db.flush()
            for n, (started, wh) in enumerate(history.events):
                db.add(
                    ChargingSession(
                        station_id=station.id,
                        ocpp_transaction_id=str(n),
                        status=SessionStatus.COMPLETED,
                        started_at=started,
                        stopped_at=started + HOUR,
                        energy_wh=wh,
                    )
                )
            await db.commit()
        async with maker() as db:
            viewer = Viewer(user_id=uuid.uuid4(), role=Role.ADMIN)
            through_db = await demand.site_forecast(
                db, viewer, site.id, 7, now=END + timedelta(minutes=5), settings=settings
            )
        await engine.dispose()
        window = settings.weeks * SLOTS
        in_memory = demand.HourlyHistory(
            start=END - window * HOUR,
            sessions=history.sessions[-window:],
            energy_wh=history.energy_wh[-window:],
        )
        _, _, expected = demand.forecast_from(in_memory, PARIS, 7, settings)
        return [(h.at, h.sessions, h.energy_wh) for h in through_db.hours] == [
            (h.at, h.sessions, h.energy_wh) for h in expected
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--weeks", type=int, default=30, help="history length")
    parser.add_argument("--holdout", type=int, default=8, help="held-out weeks (rolling)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-db-check", action="store_true")
    parser.add_argument("--ablation", action="store_true", help="also try the model's variants")
    args = parser.parse_args()
    if args.holdout + 1 >= args.weeks:
        parser.error("keep at least two weeks of history before the held-out weeks")
    rng = np.random.default_rng(args.seed)
    settings = ModelSettings()
    print(
        f"{args.weeks} weeks of synthetic history per site, last {args.holdout} weeks held out "
        f"(rolling origin, 7-day forecasts, hourly), seed {args.seed}\n"
    )
    header = (
        f"{'site':<20} {'quantity':<9} {'MAE model':>10} {'MAE base':>10} {'ratio':>6} "
        f"{'RMSE model':>11} {'RMSE base':>10} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    overall = {"sessions": Errors(), "energy kWh": Errors()}
    histories = []
    spent = 0.0
    for site in SITES:
        history = generate(site, args.weeks, rng)
        histories.append(history)
        by_sessions, by_energy, seconds = evaluate(history, args.holdout, settings)
        spent += seconds
        for label, errors, scale in (
            ("sessions", by_sessions, 1.0),
            ("energy kWh", by_energy, 1000.0),
        ):
            overall[label].merge(errors)
            _print_row(site.name, label, errors, scale)
    for label, errors in overall.items():
        _print_row("all sites", label, errors, 1000.0 if label.startswith("energy") else 1.0)
    forecasts = len(SITES) * args.holdout * 2
    print(
        f"\nratio = baseline error / model error (above 1: the model is better). "
        f"{forecasts} fits + 7-day forecasts in {spent:.2f} s "
        f"({spent / forecasts * 1000:.1f} ms each)."
    )
    if args.ablation:
        print("\nablation (all sites, sessions): what each part of the model brings")
        variants = {
            "the model": settings,
            "without the trend": ModelSettings(trend=False),
            "without leaving exceptional days out": ModelSettings(exceptional_share=0.0),
            "without decay (plain mean of 12 weeks)": ModelSettings(decay=1.0),
            "decay 0.75 instead of 0.9": ModelSettings(decay=0.75),
            "4 weeks instead of 12": ModelSettings(weeks=4),
            "8 weeks instead of 12": ModelSettings(weeks=8),
        }
        for name, variant in variants.items():
            errors = Errors()
            for history in histories:
                errors.merge(evaluate(history, args.holdout, variant)[0])
            mae_m, mae_b, rmse_m, rmse_b = errors.figures()
            print(
                f"  {name:<40} MAE {mae_m:.3f} ({mae_b / mae_m:.2f}x)  "
                f"RMSE {rmse_m:.3f} ({rmse_b / rmse_m:.2f}x)"
            )
    if not args.no_db_check:
        same = asyncio.run(db_check(histories[0], settings))
        print(f"through the database (demand.site_forecast on SQLite) = in memory: {same}")


def _print_row(site: str, label: str, errors: Errors, scale: float) -> None:
    mae_m, mae_b, rmse_m, rmse_b = (v / scale for v in errors.figures())
    print(
        f"{site:<20} {label:<9} {mae_m:>10.3f} {mae_b:>10.3f} {mae_b / mae_m:>5.2f}x "
        f"{rmse_m:>11.3f} {rmse_b:>10.3f} {rmse_b / rmse_m:>5.2f}x"
    )


if __name__ == "__main__":
    main()
