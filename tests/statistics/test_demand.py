"""Demand prediction on histories small enough to check by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.db.models import ChargingSession, Role, SessionStatus, SiteRole
from backend.domain.errors import Forbidden, InvalidInput, NotFound
from backend.domain.prediction import demand
from backend.domain.prediction.model import ModelSettings, fit, same_hour_last_week
from backend.domain.viewer import Viewer
from tests.conftest import Api
from tests.statistics.world import StatsWorld, build_stats_world

UTC_ZONE = ZoneInfo("UTC")
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, 00:00 UTC
HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)


def weeks_with(values_at_monday_8: list[float], weekday_8: float = 0.0) -> list[float]:
    """Hourly values over len(values) weeks from MONDAY: Mondays 08:00 get the given values
    (oldest week first), the other days 08:00 get `weekday_8`, every other hour 0."""
    series = [0.0] * (168 * len(values_at_monday_8))
    for week, value in enumerate(values_at_monday_8):
        series[week * 168 + 8] = value
        for day in range(1, 7):
            series[week * 168 + day * 24 + 8] = weekday_8
    return series


def test_profile_is_a_decayed_mean_of_the_same_hour() -> None:
    # Two weeks: 2 sessions on the first Monday at 8:00, 1 on the second.
    model = fit(weeks_with([2, 1]), MONDAY, UTC_ZONE)
    # Last week weighs 1, the week before 0.9: (1x1 + 0.9x2) / 1.9.
    assert model.profile[8] == pytest.approx(2.8 / 1.9)
    # Two weeks are too few for a trend: the level is the weighted mean of the weekly levels,
    # 1/1.4737 = 0.6786 and 2/1.4737 = 1.3571 → (0.6786 + 0.9x1.3571) / 1.9 = 1.
    assert model.level_at_end == pytest.approx(1.0) and model.slope_per_week == 0
    next_monday = MONDAY + 2 * WEEK
    assert model.predict(next_monday + 8 * HOUR) == pytest.approx(1.473684, abs=1e-6)
    assert model.predict(next_monday + 9 * HOUR) == 0
    assert model.weeks_with_data == 2


def test_a_linear_growth_is_continued() -> None:
    # Mondays at 8:00 over four weeks: 2, 3, 4, 5. The weekly levels lie on a line, which the
    # model continues: 8 hours after the end of the history, 5 + 1 x (0.5 + 8/168) ≈ 5.548
    # (the last week's level is centred half a week before the end).
    model = fit(weeks_with([2, 3, 4, 5]), MONDAY, UTC_ZONE)
    assert model.excluded_days == []  # 2 is not below half the median (3.5)
    monday = MONDAY + 4 * WEEK
    assert model.predict(monday + 8 * HOUR) == pytest.approx(5.5 + 8 / 168)
    # Without the trend, the decayed mean: (5 + 0.9x4 + 0.81x3 + 0.729x2) / 3.439.
    flat = fit(weeks_with([2, 3, 4, 5]), MONDAY, UTC_ZONE, ModelSettings(trend=False))
    assert flat.predict(monday + 8 * HOUR) == pytest.approx(12.488 / 3.439)


def test_an_exceptional_day_is_left_out() -> None:
    # Every day 12 sessions at 8:00 for three weeks, but none on the middle Monday (a
    # holiday): the Mondays' median is 12, and 0 is below half of it.
    series = weeks_with([12, 0, 12], weekday_8=12)
    model = fit(series, MONDAY, UTC_ZONE)
    assert model.excluded_days == [(MONDAY + WEEK).date()]
    assert model.predict(MONDAY + 3 * WEEK + 8 * HOUR) == pytest.approx(12.0)
    # Last week's copy would have been right here, but after the holiday week it says 0.
    assert same_hour_last_week(series[: 2 * 168], 168)[8] == 0
    # The energy series is fitted with the days found on the sessions.
    energy = fit([v * 1000 for v in series], MONDAY, UTC_ZONE, excluded={(MONDAY + WEEK).date()})
    assert energy.predict(MONDAY + 3 * WEEK + 8 * HOUR) == pytest.approx(12_000.0)


def test_a_quiet_day_is_not_exceptional() -> None:
    # With 2 sessions on an ordinary Monday, a Monday without any is within the noise.
    model = fit(weeks_with([2, 0, 2], weekday_8=2), MONDAY, UTC_ZONE)
    assert model.excluded_days == []
    # The decayed mean: (1x2 + 0.9x0 + 0.81x2) / 2.71.
    assert model.profile[8] == pytest.approx(3.62 / 2.71)


def test_hours_of_the_week_follow_the_site_time_zone() -> None:
    # 08:00 in Paris is 07:00 UTC in winter: the slot is Monday 08:00 local.
    paris = ZoneInfo("Europe/Paris")
    series = [0.0] * (2 * 168)
    series[7] = series[168 + 7] = 1
    model = fit(series, MONDAY, paris)
    assert model.profile[8] == pytest.approx(1.0)
    assert model.predict(MONDAY + 2 * WEEK + 7 * HOUR) == pytest.approx(1.0)


def test_no_history_forecasts_nothing() -> None:
    model = fit([], MONDAY, UTC_ZONE)
    assert model.forecast(MONDAY, 24) == [0.0] * 24


# --- the forecast of a site, from the database ----------------------------------------------


@pytest.fixture
async def world(sessionmaker: Any, make_user: Any) -> StatsWorld:
    return await build_stats_world(sessionmaker, make_user)


async def _monday_sessions(sessionmaker: Any, world: StatsWorld) -> None:
    """Dora on two Mondays at 08:30 Paris time (07:30 UTC) at Alpha; Otto (who restricted
    processing) on the second Monday too."""
    rows = [
        (world.dora.id, datetime(2026, 2, 2, 7, 30, tzinfo=UTC), 10_000),
        (world.dora.id, datetime(2026, 2, 9, 7, 30, tzinfo=UTC), 6_000),
        (world.otto.id, datetime(2026, 2, 9, 7, 45, tzinfo=UTC), 50_000),
    ]
    async with sessionmaker() as db:
        for n, (user, start, wh) in enumerate(rows):
            db.add(
                ChargingSession(
                    station_id=world.cs1,
                    user_id=user,
                    ocpp_transaction_id=f"feb-{n}",
                    status=SessionStatus.COMPLETED,
                    started_at=start,
                    stopped_at=start + HOUR,
                    energy_wh=wh,
                )
            )
        await db.commit()


async def test_site_forecast_from_its_history(sessionmaker: Any, world: StatsWorld) -> None:
    await _monday_sessions(sessionmaker, world)
    admin = Viewer(user_id=world.ann.id, role=Role.ADMIN)
    now = datetime(2026, 2, 16, 0, 20, tzinfo=UTC)  # the next Monday, just after midnight
    async with sessionmaker() as db:
        forecast = await demand.site_forecast(db, admin, world.alpha, 2, now=now)
    assert forecast.generated_at == datetime(2026, 2, 16, tzinfo=UTC)
    # The site's first session is the start of what it learns from (not 12 empty weeks).
    assert forecast.history_from == datetime(2026, 2, 2, 7, tzinfo=UTC)
    assert forecast.timezone == "Europe/Paris"
    assert len(forecast.hours) == 48
    expected = {h.at: h for h in forecast.hours if h.sessions or h.energy_wh}
    at = datetime(2026, 2, 16, 7, tzinfo=UTC)
    assert list(expected) == [at]
    # One session each Monday (Otto's is left out); energy (1x6000 + 0.9x10000) / 1.9.
    assert expected[at].sessions == pytest.approx(1.0)
    assert expected[at].energy_wh == round(15_000 / 1.9)
    assert [(h.at, h.sessions, h.energy_wh) for h in forecast.recent if h.sessions] == [
        (datetime(2026, 2, 9, 7, tzinfo=UTC), 1.0, 6_000)
    ]


async def test_who_may_see_a_forecast(sessionmaker: Any, world: StatsWorld) -> None:
    async with sessionmaker() as db:
        for viewer in (
            Viewer(
                user_id=world.sam.id, role=Role.BASIC, site_roles={world.alpha: SiteRole.SITE_ADMIN}
            ),
            Viewer(user_id=world.dee.id, role=Role.DEMO),
        ):
            forecast = await demand.site_forecast(db, viewer, world.alpha, 1)
            assert len(forecast.hours) == 24
        with pytest.raises(Forbidden):
            sam = Viewer(
                user_id=world.sam.id, role=Role.BASIC, site_roles={world.alpha: SiteRole.SITE_ADMIN}
            )
            await demand.site_forecast(db, sam, world.beta, 1)
        with pytest.raises(Forbidden):
            await demand.site_forecast(db, Viewer(user_id=world.dora.id), world.alpha, 1)
        admin = Viewer(user_id=world.ann.id, role=Role.ADMIN)
        with pytest.raises(InvalidInput):
            await demand.site_forecast(db, admin, world.alpha, 15)
        with pytest.raises(NotFound):
            await demand.site_forecast(db, admin, world.dora.id, 1)


async def test_demand_forecast_query(api: Api, world: StatsWorld, sessionmaker: Any) -> None:
    await _monday_sessions(sessionmaker, world)
    query = """query($site: ID!) { demandForecast(siteId: $site, days: 3) {
        siteId timezone weeksWithData excludedDays
        hours { at sessions energyWh } recent { at } } }"""
    data = await api.ok(query, {"site": str(world.alpha)}, token=world.sam.token)
    forecast = data["demandForecast"]
    assert forecast["siteId"] == str(world.alpha)
    assert forecast["timezone"] == "Europe/Paris"
    assert len(forecast["hours"]) == 72
    assert all(h["sessions"] >= 0 and h["energyWh"] >= 0 for h in forecast["hours"])
    error = await api.error(query, {"site": str(world.alpha)}, token=world.dora.token)
    assert error["code"] == "FORBIDDEN"
