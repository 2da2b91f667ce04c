"""Session math on meter readings, pure: energy through meter resets, inactivity, instant power.

A session's curve is a fold over its readings in timestamp order. New readings that come after
the last one extend the fold (`step`); a late reading placed before others refolds everything
(`fold`). Both give the same numbers, which the unit tests check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

# Connected but drawing less than this: the car is not charging (inactivity).
INACTIVE_BELOW_W = 100


@dataclass(frozen=True)
class Reading:
    """One instant of meter values, version-independent. Energy is the meter's raw register."""

    at: datetime
    energy_wh: int | None = None
    power_w: int | None = None
    current_a: tuple[float | None, float | None, float | None] = (None, None, None)
    voltage_v: tuple[float | None, float | None, float | None] = (None, None, None)
    soc_percent: int | None = None

    def merged(self, newer: Reading) -> Reading:
        """This instant completed by another message about the same instant."""

        def pick(old: object, new: object) -> object:
            return new if new is not None else old

        return Reading(
            at=self.at,
            energy_wh=newer.energy_wh if newer.energy_wh is not None else self.energy_wh,
            power_w=newer.power_w if newer.power_w is not None else self.power_w,
            current_a=tuple(
                pick(o, n) for o, n in zip(self.current_a, newer.current_a, strict=True)
            ),  # type: ignore[arg-type]
            voltage_v=tuple(
                pick(o, n) for o, n in zip(self.voltage_v, newer.voltage_v, strict=True)
            ),  # type: ignore[arg-type]
            soc_percent=newer.soc_percent if newer.soc_percent is not None else self.soc_percent,
        )


@dataclass(frozen=True)
class CurveState:
    at: datetime  # time of the latest reading (the start before any)
    register_wh: int | None  # the meter's raw register at that time
    power_w: int | None  # power measured at that time, None when the meter gave none
    energy_wh: int = 0  # the session's energy so far
    inactivity_s: int = 0
    instant_w: int = 0  # the power to show: measured, or else derived from the energy


def initial(started_at: datetime, meter_start_wh: int | None) -> CurveState:
    return CurveState(at=started_at, register_wh=meter_start_wh, power_w=None)


def step(state: CurveState, reading: Reading) -> CurveState:
    """The state after one more reading, which must not be older than `state.at`."""
    seconds = max(0, int((reading.at - state.at).total_seconds()))
    delta_wh = 0
    register = state.register_wh
    if reading.energy_wh is not None:
        if register is None:
            delta_wh = 0
        elif reading.energy_wh >= register:
            delta_wh = reading.energy_wh - register
        else:
            # The register went backwards: the meter was reset (or replaced) and counts from 0.
            delta_wh = reading.energy_wh
        register = reading.energy_wh

    if state.power_w is not None:
        idle = state.power_w < INACTIVE_BELOW_W
    else:
        idle = reading.energy_wh is not None and state.register_wh is not None and delta_wh == 0
    instant = reading.power_w
    if instant is None and reading.energy_wh is not None and seconds > 0:
        instant = round(delta_wh * 3600 / seconds)

    return CurveState(
        at=max(state.at, reading.at),
        register_wh=register,
        power_w=reading.power_w,
        energy_wh=state.energy_wh + delta_wh,
        inactivity_s=state.inactivity_s + (seconds if idle else 0),
        instant_w=state.instant_w if instant is None else instant,
    )


def fold(state: CurveState, readings: Iterable[Reading]) -> tuple[CurveState, list[int]]:
    """Fold readings (any order) into the state; also the session energy at each, sorted."""
    energies = []
    for reading in sorted(readings, key=lambda r: r.at):
        state = step(state, reading)
        energies.append(state.energy_wh)
    return state, energies


def stopped(state: CurveState, at: datetime, meter_stop_wh: int | None) -> CurveState:
    """The final state: the stop reading counts, and nothing is drawn afterwards."""
    final = step(state, Reading(at=max(at, state.at), energy_wh=meter_stop_wh))
    return replace(final, power_w=0, instant_w=0)
