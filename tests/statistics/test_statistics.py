"""Statistics against values counted by hand on the history of `tests/statistics/world.py`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backend.db.models import ChargingSession, Role, SessionStatus
from backend.domain import statistics as stats
from backend.domain.anonymize import anonymized_value
from backend.domain.errors import Forbidden, InvalidInput
from backend.domain.viewer import Viewer
from tests.conftest import Api
from tests.statistics.world import StatsWorld, build_stats_world, t

SECRET = "test-secret-key"  # the `settings` fixture's

QUERY = """
query($groupBy: StatisticsGroupBy!, $period: StatisticsPeriod!, $from: DateTime, $to: DateTime,
      $siteId: ID) {
  statistics(groupBy: $groupBy, period: $period, from: $from, to: $to, siteId: $siteId) {
    groupBy period
    rows {
      periodStart periodEnd groupId label sessions energyWh connectedS chargingS inactivityS
      costs { currency sessions exclVatMinor inclVatMinor }
    }
    total {
      sessions energyWh connectedS chargingS inactivityS
      costs { currency sessions exclVatMinor inclVatMinor }
    }
  }
}
"""


@pytest.fixture
async def world(sessionmaker: Any, make_user: Any) -> StatsWorld:
    return await build_stats_world(sessionmaker, make_user)


async def _stats(api: Api, token: str, **variables: Any) -> dict[str, Any]:
    variables.setdefault("period", "TOTAL")
    variables.setdefault("groupBy", "NONE")
    data = await api.ok(QUERY, variables, token=token)
    return data["statistics"]  # type: ignore[no-any-return]


def _figures(row: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return (
        row["sessions"],
        row["energyWh"],
        row["connectedS"],
        row["chargingS"],
        row["inactivityS"],
    )


def _cost(currency: str, sessions: int, excl: int, incl: int) -> dict[str, Any]:
    return {"currency": currency, "sessions": sessions, "exclVatMinor": excl, "inclVatMinor": incl}


async def test_a_driver_sees_their_own_totals(api: Api, world: StatsWorld) -> None:
    result = await _stats(api, world.dora.token)
    # Sessions 1, 2, 3: 2 h + 3 h + 1.5 h connected, 30 + 60 + 0 min idle.
    assert _figures(result["total"]) == (3, 30_000, 23_400, 18_000, 5_400)
    # Euros and francs are never added together.
    assert result["total"]["costs"] == [_cost("CHF", 1, 200, 216), _cost("EUR", 2, 750, 900)]
    assert len(result["rows"]) == 1
    assert result["rows"][0]["periodStart"] is None


async def test_a_session_across_midnight_counts_on_the_day_it_started(
    api: Api, world: StatsWorld
) -> None:
    result = await _stats(
        api,
        world.dora.token,
        period="DAY",
        **{"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"},
    )
    rows = {r["periodStart"]: r for r in result["rows"]}
    assert list(rows) == ["2026-03-01T00:00:00+00:00", "2026-03-15T00:00:00+00:00"]
    first = rows["2026-03-01T00:00:00+00:00"]
    assert first["periodEnd"] == "2026-03-02T00:00:00+00:00"
    # Session 1 (10:17-12:17) and session 2 (23:05-02:05 the next day), whole.
    assert _figures(first) == (2, 25_000, 18_000, 12_600, 5_400)
    assert first["costs"] == [_cost("EUR", 2, 750, 900)]
    assert _figures(rows["2026-03-15T00:00:00+00:00"]) == (1, 5_000, 5_400, 5_400, 0)


async def test_the_range_is_on_the_start_time(api: Api, world: StatsWorld) -> None:
    # Session 2 ends on March 2nd but started on the 1st: not in a range starting the 2nd.
    result = await _stats(
        api, world.dora.token, **{"from": "2026-03-02T00:00:00Z", "to": "2026-03-16T00:00:00Z"}
    )
    assert _figures(result["total"]) == (1, 5_000, 5_400, 5_400, 0)


async def test_an_objector_still_sees_their_own_sessions(api: Api, world: StatsWorld) -> None:
    result = await _stats(api, world.otto.token)
    assert _figures(result["total"]) == (2, 10_000, 7_200, 6_600, 600)
    assert result["total"]["costs"] == [_cost("EUR", 1, 210, 252)]


async def test_an_admin_groups_by_site_and_month_without_objectors(
    api: Api, world: StatsWorld
) -> None:
    result = await _stats(api, world.ann.token, groupBy="SITE", period="MONTH")
    got = [
        (r["periodStart"][:7], r["label"], r["groupId"], _figures(r), r["costs"])
        for r in result["rows"]
    ]
    assert got == [
        ("2026-03", "Alpha", str(world.alpha), (2, 25_000, 18_000, 12_600, 5_400),
         [_cost("EUR", 2, 750, 900)]),
        ("2026-03", "Beta", str(world.beta), (1, 5_000, 5_400, 5_400, 0),
         [_cost("CHF", 1, 200, 216)]),
        # Session 6 (a badge nobody owns) counts; Otto's session 4 and 5 do not.
        ("2026-04", "Alpha", str(world.alpha), (1, 1_000, 1_800, 1_800, 0), []),
        ("2026-04", "Beta", str(world.beta), (1, 4_000, 5_400, 4_500, 900),
         [_cost("CHF", 1, 120, 130)]),
    ]  # fmt: skip
    assert _figures(result["total"]) == (5, 35_000, 30_600, 24_300, 6_300)
    assert result["total"]["costs"] == [_cost("CHF", 2, 320, 346), _cost("EUR", 2, 750, 900)]
    assert result["rows"][0]["periodEnd"] == "2026-04-01T00:00:00+00:00"


async def test_an_admin_groups_by_year_area_and_driver(api: Api, world: StatsWorld) -> None:
    by_year = await _stats(api, world.ann.token, period="YEAR", groupBy="SITE_AREA")
    assert [(r["periodStart"], r["label"], r["sessions"]) for r in by_year["rows"]] == [
        ("2026-01-01T00:00:00+00:00", "Alpha · A1", 3),
        ("2026-01-01T00:00:00+00:00", "Beta · B1", 2),
    ]
    assert by_year["rows"][0]["periodEnd"] == "2027-01-01T00:00:00+00:00"
    by_user = await _stats(api, world.ann.token, groupBy="USER")
    assert [(r["label"], r["groupId"], r["sessions"], r["energyWh"]) for r in by_user["rows"]] == [
        ("Dora Explorer", str(world.dora.id), 3, 30_000),
        ("Olga Ladyzhenskaya", str(world.olga.id), 1, 4_000),
        (None, None, 1, 1_000),  # the badge nobody owns
    ]


async def test_demo_users_see_pseudonyms_of_drivers(api: Api, world: StatsWorld) -> None:
    result = await _stats(api, world.dee.token, groupBy="USER")
    dora = f"Person {anonymized_value(SECRET, 'lastName', world.dora.id)}"
    labels = [r["label"] for r in result["rows"]]
    assert dora in labels
    assert not any("Dora" in (label or "") or "Olga" in (label or "") for label in labels)
    assert _figures(result["total"]) == (5, 35_000, 30_600, 24_300, 6_300)


async def test_a_site_admin_sees_their_sites_stations_but_not_who(
    api: Api, world: StatsWorld
) -> None:
    result = await _stats(api, world.sam.token, groupBy="STATION")
    assert [(r["label"], r["sessions"], r["energyWh"]) for r in result["rows"]] == [
        ("CS-1", 2, 11_000),  # sessions 1 and 6 (Otto's 4 is left out)
        ("CS-2", 1, 15_000),
    ]
    error = await api.error(QUERY, {"groupBy": "USER", "period": "TOTAL"}, token=world.sam.token)
    assert error["code"] == "FORBIDDEN"
    # Another site's figures are simply not in their scope.
    beta = await _stats(api, world.sam.token, siteId=str(world.beta))
    assert beta["total"]["sessions"] == 0 and beta["rows"] == []


async def test_filter_on_a_site(api: Api, world: StatsWorld) -> None:
    for group_by in ("NONE", "SITE", "STATION"):
        result = await _stats(api, world.ann.token, groupBy=group_by, siteId=str(world.beta))
        assert _figures(result["total"]) == (2, 9_000, 10_800, 9_900, 900), group_by


async def test_bad_input_is_explained(api: Api, world: StatsWorld) -> None:
    error = await api.error(
        QUERY,
        {"groupBy": "NONE", "period": "DAY", "from": "2026-04-01T00:00:00Z",
         "to": "2026-03-01T00:00:00Z"},
        token=world.ann.token,
    )  # fmt: skip
    assert error["code"] == "BAD_USER_INPUT" and error["field"] == "to"
    anonymous = await api.error(QUERY, {"groupBy": "NONE", "period": "DAY"})
    assert anonymous["code"] == "UNAUTHENTICATED"


async def test_a_running_session_counts_until_now(sessionmaker: Any, world: StatsWorld) -> None:
    async with sessionmaker() as db:
        db.add(
            ChargingSession(
                station_id=world.cs2,
                user_id=world.dora.id,
                ocpp_transaction_id="live",
                status=SessionStatus.ACTIVE,
                started_at=t(5, 4, 9, 30),
                energy_wh=2_500,
                inactivity_s=120,
                cost_currency="EUR",
                cost_excl_vat_minor=75,
                cost_incl_vat_minor=90,
            )
        )
        await db.commit()
    viewer = Viewer(user_id=world.dora.id, role=Role.BASIC)
    query = stats.StatisticsQuery(period=stats.Period.DAY, started_from=t(5, 1, 0))
    async with sessionmaker() as db:
        result = await stats.statistics(
            db, viewer, query, secret=SECRET, now=t(5, 4, 9, 30) + timedelta(minutes=45)
        )
    assert [(r.period_start, r.sessions, r.connected_s, r.charging_s) for r in result.rows] == [
        (t(5, 4, 0), 1, 2_700, 2_580)
    ]
    assert result.total.costs == [stats.CurrencyCost("EUR", 1, 75, 90)]


async def test_domain_checks(sessionmaker: Any, world: StatsWorld) -> None:
    site_admin = Viewer(user_id=world.sam.id, role=Role.BASIC)
    async with sessionmaker() as db:
        with pytest.raises(Forbidden):
            await stats.statistics(
                db, site_admin, stats.StatisticsQuery(group_by=stats.GroupBy.USER), secret=SECRET
            )
        with pytest.raises(InvalidInput):
            await stats.statistics(
                db,
                site_admin,
                stats.StatisticsQuery(period=stats.Period.HOUR),
                secret=SECRET,
            )
