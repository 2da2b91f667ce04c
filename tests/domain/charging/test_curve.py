"""Session math, pure: energy through meter resets, inactivity, order independence."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from backend.domain.charging import curve
from backend.domain.charging.curve import Reading

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_energy_and_inactivity() -> None:
    readings = [Reading(at(1), 1100, 6000), Reading(at(2), 1200, 50), Reading(at(4), 1200, 0)]
    state, energies = curve.fold(curve.initial(T0, 1000), readings)
    assert (state.energy_wh, energies) == (200, [100, 200, 200])
    # 50 W and 0 W count as not charging: minute 2 to 4.
    assert state.inactivity_s == 120
    final = curve.stopped(state, at(10), 1200)
    assert (final.energy_wh, final.inactivity_s, final.power_w) == (200, 480, 0)


def test_without_power_the_energy_decides() -> None:
    readings = [Reading(at(1), 1000), Reading(at(2), 1000), Reading(at(3), 1100)]
    state, _ = curve.fold(curve.initial(T0, 1000), readings)
    # No power measured: the energy decides. 0 Wh in minutes 1 and 2, 100 Wh in minute 3.
    assert state.inactivity_s == 120
    assert (state.power_w, state.instant_w) == (None, 6000)


def test_a_meter_reset_continues_from_the_last_total() -> None:
    readings = [Reading(at(1), 9000), Reading(at(2), 50), Reading(at(3), 450)]
    state, energies = curve.fold(curve.initial(T0, 8000), readings)
    assert energies == [1000, 1050, 1450]
    assert state.energy_wh >= 0 and state.register_wh == 450


def test_order_does_not_matter_and_steps_equal_the_fold() -> None:
    readings = [Reading(at(i), 1000 + 37 * i, 7000 if i % 5 else 0) for i in range(1, 40)]
    shuffled = readings[:]
    random.Random(3).shuffle(shuffled)
    folded, _ = curve.fold(curve.initial(T0, 1000), shuffled)
    stepped = curve.initial(T0, 1000)
    for reading in readings:
        stepped = curve.step(stepped, reading)
    assert folded == stepped
    assert folded.energy_wh == 37 * 39


def test_merging_readings_of_one_instant() -> None:
    first = Reading(at(1), energy_wh=100, current_a=(8.0, None, None))
    second = Reading(at(1), power_w=2000, current_a=(None, 7.5, 7.0), soc_percent=55)
    merged = first.merged(second)
    assert merged == Reading(at(1), 100, 2000, (8.0, 7.5, 7.0), (None, None, None), 55)
    assert merged.merged(second) == merged
