"""The priced input: a session cut into minute slices, built from meter samples.

A slice is one wall-clock minute (UTC minute boundaries, which are local minute boundaries in
every modern time zone) or the part of it the session covers: the first and last slices may
be shorter. Each slice says how much energy was delivered in it, the current the car drew and
whether the car was connected. Whether energy flowed and the average power follow from the
energy, so they cannot contradict it.

House rules applied by `build_profile`:

- energy reported once for a longer gap between two meter readings is spread evenly over the
  time of the gap (to the second, then summed per minute), so every minute of the gap has
  energy flowing at the same average power;
- the session lasts, for pricing, from its start until the connector became Available again
  (the idle time after the stop is part of it: it is parking time once energy has flowed);
- a meter that goes backwards (reset, replaced meter) adds no energy: counting restarts from
  the new reading.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

MINUTE = timedelta(minutes=1)
_MICROSECOND = timedelta(microseconds=1)


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise TypeError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class MeterSample:
    """One meter reading: the cumulative energy register and, when reported, the current."""

    at: datetime
    energy_wh: Decimal
    """Cumulative register (Energy.Active.Import.Register), in Wh."""
    current_a: Decimal | None = None
    """Current drawn, summed over phases, in A."""


@dataclass(frozen=True)
class MinuteSlice:
    """One minute (or less, at the edges) of a session."""

    start: datetime
    seconds: int
    energy_wh: Decimal = Decimal(0)
    """Energy delivered during this slice."""
    current_a: Decimal | None = None
    """Current drawn (sum over phases); None when the station never reported it."""
    connected: bool = True

    def __post_init__(self) -> None:
        _aware(self.start, "start")
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, int):
            raise TypeError("seconds must be an int")
        if not 1 <= self.seconds <= 60:
            raise ValueError("a slice lasts between 1 and 60 seconds")
        if not isinstance(self.energy_wh, Decimal) or not self.energy_wh.is_finite():
            raise TypeError("energy_wh must be a finite Decimal")
        if self.energy_wh < 0:
            raise ValueError("energy_wh must not be negative")

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    @property
    def charging(self) -> bool:
        """Energy flowed in this slice."""
        return self.energy_wh > 0

    @property
    def power_kw(self) -> Fraction:
        """Average power over the slice, exactly, in kW."""
        return Fraction(self.energy_wh) * 3600 / (self.seconds * 1000)

    @property
    def power_w(self) -> Decimal:
        """Average power over the slice in W, to the milliwatt (for display)."""
        return (Decimal(self.energy_wh) * 3600 / self.seconds).quantize(Decimal("0.001"))


@dataclass(frozen=True)
class SessionProfile:
    """A session's contiguous slices, from its start."""

    started_at: datetime
    slices: tuple[MinuteSlice, ...] = ()

    def __post_init__(self) -> None:
        _aware(self.started_at, "started_at")
        if not isinstance(self.slices, tuple):
            object.__setattr__(self, "slices", tuple(self.slices))
        expected = self.started_at
        for index, piece in enumerate(self.slices):
            if piece.start != expected:
                raise ValueError(f"slice {index} starts at {piece.start}, expected {expected}")
            expected = piece.end

    @property
    def ended_at(self) -> datetime:
        return self.slices[-1].end if self.slices else self.started_at

    @property
    def energy_wh(self) -> Decimal:
        return sum((piece.energy_wh for piece in self.slices), Decimal(0))

    def prefix(self, count: int) -> SessionProfile:
        """The same session as it stood after its first `count` slices."""
        return SessionProfile(self.started_at, self.slices[:count])


def _minute_cuts(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    cuts: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end:
        boundary = cursor.replace(second=0, microsecond=0) + MINUTE
        stop = min(boundary, end)
        cuts.append((cursor, stop))
        cursor = stop
    return cuts


def _mwh(value: Decimal) -> int:
    return int((value * 1000).to_integral_value())


def build_profile(
    *,
    started_at: datetime,
    samples: Iterable[MeterSample],
    meter_start_wh: Decimal | None = None,
    stopped_at: datetime | None = None,
    available_at: datetime | None = None,
    now: datetime | None = None,
) -> SessionProfile:
    """Cut a session into minute slices from its meter samples.

    - `meter_start_wh`: the register at the start (StartTransaction meterStart); without it,
      counting starts at the first sample.
    - `stopped_at`: when the transaction stopped (None while it runs: then `now` is required
      and the profile ends at `now`). Samples after the stop are ignored: the stop reading is
      expected as a sample at `stopped_at`.
    - `available_at`: when the connector became Available again after the stop; the idle time
      until then is part of the session. Unknown yet: the session lasts until `now` if given,
      else until the stop.

    Slices are cut at wall-clock minute boundaries, to the second (the start is truncated to
    its second, the end extended to the next whole second).
    """
    start = _aware(started_at, "started_at")
    if stopped_at is None:
        if now is None:
            raise ValueError("a session that has not stopped needs `now`")
        energy_end = end = max(_aware(now, "now"), start)
    else:
        energy_end = max(_aware(stopped_at, "stopped_at"), start)
        if available_at is not None:
            end = max(_aware(available_at, "available_at"), energy_end)
        elif now is not None:
            end = max(_aware(now, "now"), energy_end)
        else:
            end = energy_end

    start = start.replace(microsecond=0)  # priced to the second
    if end.microsecond:
        end = end.replace(microsecond=0) + timedelta(seconds=1)
    cuts = _minute_cuts(start, end)
    if not cuts:
        return SessionProfile(start)
    starts = [cut[0] for cut in cuts]
    energy_mwh = [0] * len(cuts)

    readings = sorted(
        (
            (_aware(sample.at, "sample.at"), sample)
            for sample in samples
            if _aware(started_at, "started_at") <= _aware(sample.at, "sample.at") <= energy_end
        ),
        key=lambda pair: pair[0],
    )
    points: list[tuple[datetime, int]] = []
    if meter_start_wh is not None:
        points.append((start, _mwh(meter_start_wh)))
    points.extend((at, _mwh(sample.energy_wh)) for at, sample in readings)

    def slice_index(at: datetime) -> int:
        return max(0, min(len(cuts) - 1, bisect.bisect_right(starts, at) - 1))

    for (t0, e0), (t1, e1) in itertools.pairwise(points):
        delta = e1 - e0
        if delta <= 0:
            continue  # no energy, or a meter that went backwards: restart from e1
        span = (t1 - t0) // _MICROSECOND
        if span == 0:
            energy_mwh[slice_index(t0)] += delta
            continue
        index = slice_index(t0)
        while index < len(cuts) and cuts[index][0] < t1:
            lo = (max(cuts[index][0], t0) - t0) // _MICROSECOND
            hi = (min(cuts[index][1], t1) - t0) // _MICROSECOND
            energy_mwh[index] += delta * hi // span - delta * lo // span
            index += 1

    current_readings = [(at, s.current_a) for at, s in readings if s.current_a is not None]
    current_times = [at for at, _ in current_readings]
    slices: list[MinuteSlice] = []
    for index, (lo_at, hi_at) in enumerate(cuts):
        current: Decimal | None
        if lo_at >= energy_end and stopped_at is not None:
            current = Decimal(0)  # stopped: nothing flows any more
        else:
            position = bisect.bisect_left(current_times, hi_at)
            current = current_readings[position - 1][1] if position else None
        slices.append(
            MinuteSlice(
                start=lo_at,
                seconds=int((hi_at - lo_at).total_seconds()),
                energy_wh=Decimal(energy_mwh[index]).scaleb(-3),
                current_a=current,
            )
        )
    return SessionProfile(start, tuple(slices))
