"""Building the priced minute slices from meter samples: the house rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.pricing import MeterSample, MinuteSlice, SessionProfile, build_profile

D = Decimal
T0 = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(seconds=round(minutes * 60))


def energies(profile: SessionProfile) -> list[str]:
    return [f"{piece.energy_wh.normalize():f}" for piece in profile.slices]


@pytest.mark.parametrize(
    ("samples", "stop", "expected"),
    [
        pytest.param([(30, 3000)], 30, ["100"] * 30, id="one reading for 30 min: 100 Wh each"),
        pytest.param(
            [(3, 1000)], 3, ["333.333", "333.333", "333.334"], id="uneven split keeps the total"
        ),
        pytest.param(
            [(1, 100), (2, 100), (5, 400)],
            5,
            ["100", "0", "100", "100", "100"],
            id="no energy in a minute, then a gap",
        ),
        pytest.param(
            [(2, 1000), (3, 200), (4, 700)],
            4,
            ["500", "500", "0", "500"],
            id="a meter reset adds nothing, counting restarts from the new reading",
        ),
        pytest.param(
            [(1.5, 300)], 1.5, ["200", "100"], id="half minute at the end gets half the rate"
        ),
    ],
)
def test_energy_is_spread_evenly_over_the_gap(
    samples: list[tuple[float, int]], stop: float, expected: list[str]
) -> None:
    profile = build_profile(
        started_at=T0,
        samples=[MeterSample(at(m), D(wh)) for m, wh in samples],
        meter_start_wh=D(0),
        stopped_at=at(stop),
    )
    assert energies(profile) == expected
    assert profile.slices[-1].end == at(stop)


def test_slices_follow_wall_clock_minutes() -> None:
    start = T0 + timedelta(seconds=30)
    profile = build_profile(
        started_at=start,
        samples=[MeterSample(start + timedelta(minutes=2), D(600))],
        meter_start_wh=D(0),
        stopped_at=start + timedelta(minutes=2),
    )
    assert [(p.start.time().isoformat(), p.seconds) for p in profile.slices] == [
        ("08:00:30", 30),
        ("08:01:00", 60),
        ("08:02:00", 30),
    ]
    assert energies(profile) == ["150", "300", "150"]
    assert [p.power_w for p in profile.slices] == [D("18000.000")] * 3


def test_idle_after_stop_lasts_until_the_connector_is_available() -> None:
    profile = build_profile(
        started_at=T0,
        samples=[MeterSample(at(10), D(1000), current_a=D(16))],
        meter_start_wh=D(0),
        stopped_at=at(10),
        available_at=at(25),
    )
    assert len(profile.slices) == 25
    assert all(p.charging for p in profile.slices[:10])
    assert not any(p.charging for p in profile.slices[10:])
    assert {p.current_a for p in profile.slices[10:]} == {D(0)}
    assert all(p.connected for p in profile.slices)


@pytest.mark.parametrize(
    ("stopped", "available", "now", "length"),
    [
        pytest.param(None, None, 12, 12, id="running: until now"),
        pytest.param(10, None, 12, 12, id="stopped, not yet Available: idle until now"),
        pytest.param(10, None, None, 10, id="stopped, Available unknown, no now: until stop"),
        pytest.param(10, 11, 30, 11, id="stopped and Available: until Available"),
        pytest.param(10, 9, None, 10, id="Available before the stop: until stop"),
    ],
)
def test_where_the_session_ends(
    stopped: int | None, available: int | None, now: int | None, length: int
) -> None:
    profile = build_profile(
        started_at=T0,
        samples=[],
        stopped_at=None if stopped is None else at(stopped),
        available_at=None if available is None else at(available),
        now=None if now is None else at(now),
    )
    assert len(profile.slices) == length


def test_a_running_session_needs_now() -> None:
    with pytest.raises(ValueError, match="now"):
        build_profile(started_at=T0, samples=[])


def test_samples_outside_the_session_are_ignored() -> None:
    profile = build_profile(
        started_at=T0,
        samples=[
            MeterSample(at(-5), D(0)),  # before the start
            MeterSample(at(0), D(100)),
            MeterSample(at(2), D(300)),
            MeterSample(at(4), D(9000)),  # after the stop
        ],
        stopped_at=at(2),
        available_at=at(4),
    )
    assert energies(profile) == ["100", "100", "0", "0"]


def test_without_meter_start_counting_starts_at_the_first_sample() -> None:
    profile = build_profile(
        started_at=T0,
        samples=[MeterSample(at(1), D(5000)), MeterSample(at(2), D(5060))],
        stopped_at=at(2),
    )
    assert energies(profile) == ["0", "60"]


def test_current_holds_the_last_reading() -> None:
    profile = build_profile(
        started_at=T0,
        samples=[
            MeterSample(at(1.5), D(100), current_a=D(16)),
            MeterSample(at(3), D(200)),
            MeterSample(at(4), D(300), current_a=D(32)),
        ],
        meter_start_wh=D(0),
        stopped_at=at(5),
    )
    assert [p.current_a for p in profile.slices] == [None, D(16), D(16), D(16), D(32)]


def test_sub_second_instants_are_priced_to_the_second() -> None:
    start = T0 + timedelta(microseconds=400_000)
    profile = build_profile(
        started_at=start,
        samples=[MeterSample(start + timedelta(seconds=59), D(59))],
        meter_start_wh=D(0),
        stopped_at=start + timedelta(seconds=59),
    )
    assert profile.started_at == T0
    assert sum(p.seconds for p in profile.slices) == 60
    assert profile.energy_wh == D(59)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"seconds": 0}, ValueError, id="empty slice"),
        pytest.param({"seconds": 61}, ValueError, id="more than a minute"),
        pytest.param({"energy_wh": D(-1)}, ValueError, id="negative energy"),
        pytest.param({"energy_wh": 1.5}, TypeError, id="float energy"),
        pytest.param({"start": datetime(2024, 1, 1)}, TypeError, id="naive start"),
    ],
)
def test_a_slice_is_validated(kwargs: dict[str, object], error: type[Exception]) -> None:
    fields: dict[str, object] = {"start": T0, "seconds": 60, "energy_wh": D(0)}
    fields.update(kwargs)
    with pytest.raises(error):
        MinuteSlice(**fields)  # type: ignore[arg-type]


def test_slices_must_be_contiguous() -> None:
    with pytest.raises(ValueError, match="slice 1"):
        SessionProfile(T0, (MinuteSlice(T0, 60), MinuteSlice(at(2), 60)))


@given(
    readings=st.lists(
        st.tuples(st.integers(1, 6 * 3600), st.integers(0, 5_000_000)), min_size=1, max_size=30
    ),
    offset=st.integers(0, 59),
)
def test_energy_is_conserved(readings: list[tuple[int, int]], offset: int) -> None:
    """Whatever the gaps, the slices add up to exactly what the meter counted."""
    start = T0 + timedelta(seconds=offset)
    readings.sort()
    cumulative, samples = 0, []
    for seconds, mwh in readings:
        cumulative += mwh
        samples.append(MeterSample(start + timedelta(seconds=seconds), D(cumulative).scaleb(-3)))
    profile = build_profile(
        started_at=start,
        samples=samples,
        meter_start_wh=D(0),
        stopped_at=samples[-1].at,
        available_at=samples[-1].at + timedelta(minutes=5),
    )
    assert profile.energy_wh == D(cumulative).scaleb(-3)
    assert all(0 < p.seconds <= 60 for p in profile.slices)
    assert all(p.end.second == 0 for p in profile.slices[:-1])
