"""Which tariff applies in nested site areas: a tariff on an area reaches the areas inside it,
and the nearest area wins (station, its area, the areas around it nearest first, site,
organization)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.pricing import Location, Scope, TariffCandidate, select_tariff

AT = datetime(2024, 6, 15, tzinfo=UTC)

# A station in "row" (a charging row), inside "garage", inside "campus", on site-1.
HERE = Location(
    site_id="site-1",
    site_area_id="row",
    station_id="CS-1",
    enclosing_area_ids=("garage", "campus"),
)


def candidate(
    ref: str,
    scope: Scope,
    target: str | None = None,
    created: int = 1,
    valid_from: int | None = None,
    valid_until: int | None = None,
) -> TariffCandidate[str]:
    """A candidate; dates are days of June 2024."""

    def day(n: int | None) -> datetime | None:
        return None if n is None else datetime(2024, 6, n, tzinfo=UTC)

    created_at = day(created)
    assert created_at is not None
    return TariffCandidate(
        ref=ref,
        scope=scope,
        target_id=target,
        created_at=created_at,
        valid_from=day(valid_from),
        valid_until=day(valid_until),
    )


ORG = candidate("org", Scope.ORGANIZATION)
SITE = candidate("site", Scope.SITE, "site-1")
ROW = candidate("row", Scope.SITE_AREA, "row")
GARAGE = candidate("garage", Scope.SITE_AREA, "garage")
CAMPUS = candidate("campus", Scope.SITE_AREA, "campus")
STATION = candidate("station", Scope.STATION, "CS-1")


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        pytest.param(
            [ORG, SITE, CAMPUS], "campus", id="the farthest enclosing area beats the site"
        ),
        pytest.param([ORG, SITE, CAMPUS, GARAGE], "garage", id="a nearer enclosing area wins"),
        pytest.param([GARAGE, CAMPUS], "garage", id="nearest first, whatever the order given"),
        pytest.param([CAMPUS, GARAGE, ROW, SITE], "row", id="the station's own area wins"),
        pytest.param([ROW, GARAGE, CAMPUS, STATION, SITE, ORG], "station", id="station first"),
        pytest.param(
            [candidate("campus, newer", Scope.SITE_AREA, "campus", created=10), GARAGE],
            "garage",
            id="nearness beats newness",
        ),
        pytest.param(
            [candidate("campus, starts later", Scope.SITE_AREA, "campus", valid_from=10), GARAGE],
            "garage",
            id="nearness beats a later validity",
        ),
        pytest.param(
            [
                candidate("garage, old", Scope.SITE_AREA, "garage", created=1),
                candidate("garage, new", Scope.SITE_AREA, "garage", created=2),
                CAMPUS,
            ],
            "garage, new",
            id="same area: the newest wins",
        ),
        pytest.param(
            [candidate("garage, ended", Scope.SITE_AREA, "garage", valid_until=10), CAMPUS],
            "campus",
            id="an ended nearer tariff gives way to a farther one",
        ),
        pytest.param(
            [candidate("garage, not yet", Scope.SITE_AREA, "garage", valid_from=20), CAMPUS],
            "campus",
            id="a scheduled nearer tariff gives way to a farther one",
        ),
        pytest.param(
            [candidate("other", Scope.SITE_AREA, "other building"), SITE],
            "site",
            id="an area that does not enclose the station does not apply",
        ),
        pytest.param([], None, id="nothing attached: no tariff"),
    ],
)
def test_nested_area_selection(
    candidates: list[TariffCandidate[str]], expected: str | None
) -> None:
    chosen = select_tariff(candidates, HERE, AT)
    assert (chosen.ref if chosen else None) == expected


@pytest.mark.parametrize(
    ("candidate_", "distance"),
    [
        (ROW, 0),
        (GARAGE, 1),
        (CAMPUS, 2),
        (SITE, 0),
        (STATION, 0),
        (ORG, 0),
        (candidate("elsewhere", Scope.SITE_AREA, "elsewhere"), None),
        (candidate("other site", Scope.SITE, "site-2"), None),
    ],
)
def test_distance_counts_levels_of_nesting(
    candidate_: TariffCandidate[str], distance: int | None
) -> None:
    assert candidate_.distance(HERE) == distance
    assert candidate_.attached_to(HERE) is (distance is not None)


def test_a_station_of_an_outer_area_ignores_tariffs_of_inner_areas() -> None:
    in_garage = Location(
        site_id="site-1", site_area_id="garage", station_id="CS-2", enclosing_area_ids=("campus",)
    )
    assert select_tariff([ROW, CAMPUS, SITE], in_garage, AT) == CAMPUS


def test_enclosing_areas_need_a_site_area() -> None:
    with pytest.raises(ValueError):
        Location(site_id="site-1", site_area_id=None, station_id="CS-3", enclosing_area_ids=("x",))
