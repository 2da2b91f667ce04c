"""Which tariff applies: the most specific, then the newest, valid one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.pricing import Location, Scope, TariffCandidate, select_tariff


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


HERE = Location(site_id="site-1", site_area_id="area-1", station_id="CS-1")
AT = day("2024-06-15")


def candidate(
    ref: str,
    scope: Scope,
    target: str | None = None,
    created: str = "2024-01-01",
    valid_from: str | None = None,
    valid_until: str | None = None,
) -> TariffCandidate[str]:
    return TariffCandidate(
        ref=ref,
        scope=scope,
        target_id=target,
        created_at=day(created),
        valid_from=None if valid_from is None else day(valid_from),
        valid_until=None if valid_until is None else day(valid_until),
    )


ORG = candidate("org", Scope.ORGANIZATION)
SITE = candidate("site", Scope.SITE, "site-1")
AREA = candidate("area", Scope.SITE_AREA, "area-1")
STATION = candidate("station", Scope.STATION, "CS-1")


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        pytest.param([], None, id="no tariff: none applies"),
        pytest.param([ORG], "org", id="organization tariff applies everywhere"),
        pytest.param([ORG, SITE], "site", id="site beats organization"),
        pytest.param([ORG, SITE, AREA], "area", id="site area beats site"),
        pytest.param([STATION, ORG, SITE, AREA], "station", id="station beats everything"),
        pytest.param(
            [ORG, candidate("other site", Scope.SITE, "site-2")],
            "org",
            id="another site's tariff does not apply",
        ),
        pytest.param(
            [ORG, candidate("other station", Scope.STATION, "CS-2")],
            "org",
            id="another station's tariff does not apply",
        ),
        pytest.param(
            [SITE, candidate("station, expired", Scope.STATION, "CS-1", valid_until="2024-06-01")],
            "site",
            id="an expired specific tariff gives way",
        ),
        pytest.param(
            [SITE, candidate("station, later", Scope.STATION, "CS-1", valid_from="2024-07-01")],
            "site",
            id="a scheduled specific tariff is not valid yet",
        ),
        pytest.param(
            [
                candidate("old", Scope.SITE, "site-1", valid_from="2024-01-01"),
                candidate("summer", Scope.SITE, "site-1", valid_from="2024-06-01"),
            ],
            "summer",
            id="same scope: the validity that started last wins",
        ),
        pytest.param(
            [
                candidate("summer", Scope.SITE, "site-1", "2024-01-01", valid_from="2024-06-01"),
                candidate("newer, undated", Scope.SITE, "site-1", "2024-05-01"),
            ],
            "summer",
            id="same scope: an undated tariff counts as the oldest validity",
        ),
        pytest.param(
            [
                candidate("first", Scope.SITE, "site-1", "2024-01-01"),
                candidate("second", Scope.SITE, "site-1", "2024-02-01"),
            ],
            "second",
            id="same scope and validity: the one created last wins",
        ),
        pytest.param(
            [candidate("ends today", Scope.SITE, "site-1", valid_until="2024-06-15"), ORG],
            "org",
            id="valid_until is exclusive",
        ),
        pytest.param(
            [candidate("starts today", Scope.SITE, "site-1", valid_from="2024-06-15"), ORG],
            "starts today",
            id="valid_from is inclusive",
        ),
    ],
)
def test_select_tariff(candidates: list[TariffCandidate[str]], expected: str | None) -> None:
    chosen = select_tariff(candidates, HERE, AT)
    assert (chosen.ref if chosen else None) == expected


def test_a_station_outside_any_area_ignores_area_tariffs() -> None:
    location = Location(site_id="site-1", site_area_id=None, station_id="CS-9")
    assert select_tariff([AREA, SITE], location, AT) == SITE


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: candidate("x", Scope.SITE), id="site tariff without a site"),
        pytest.param(lambda: candidate("x", Scope.ORGANIZATION, "site-1"), id="org with target"),
        pytest.param(
            lambda: candidate(
                "x", Scope.SITE, "s", valid_from="2024-02-01", valid_until="2024-01-01"
            ),
            id="ends before it starts",
        ),
    ],
)
def test_invalid_candidates_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_naive_instants_are_refused() -> None:
    with pytest.raises(TypeError):
        select_tariff([ORG], HERE, datetime(2024, 6, 15))
