"""Pricing a running session minute by minute without repricing it from its start.

`price_session` prices a whole profile; a 10-hour session (600 minute slices) takes ~150 ms,
too much on every meter reading of every station. The engine's state after a slice depends
only on the slices before it, so it can be saved (`Checkpoint`, JSON-serializable) once the
slices before a point can no longer change, and resumed from there with the new slices:
`price_from(tariff, checkpoint, slices, ...)` gives exactly what `price_session` gives on the
whole profile (the tests check it on random chunkings).

The caller decides where a checkpoint is safe: before a minute boundary that every later
reading comes after (new readings only add energy to the gap after the last reading).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from backend.pricing.engine import (
    CostPoint,
    Price,
    _Ledger,
    _price_slice,
    _Run,
    _totals,
)
from backend.pricing.session_profile import MinuteSlice
from backend.pricing.tariffs import Tariff, TariffDimension


def _fraction(text: str) -> Fraction:
    return Fraction(text)


@dataclass(frozen=True)
class Checkpoint:
    """The engine's state once every slice before `at` is priced."""

    at: datetime
    energy_before_wh: Decimal = Decimal(0)
    flat_priced: bool = False
    quantities: tuple[tuple[TariffDimension, int, Fraction], ...] = ()
    runs: tuple[tuple[TariffDimension, Fraction, int | None], ...] = ()
    total_excl_vat: Decimal | None = None
    total_incl_vat: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "energy_before_wh": str(self.energy_before_wh),
            "flat_priced": self.flat_priced,
            "quantities": [[d.value, e, str(q)] for d, e, q in self.quantities],
            "runs": [[d.value, str(b), e] for d, b, e in self.runs],
            "total_excl_vat": None if self.total_excl_vat is None else str(self.total_excl_vat),
            "total_incl_vat": None if self.total_incl_vat is None else str(self.total_incl_vat),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        def dec(value: str | None) -> Decimal | None:
            return None if value is None else Decimal(value)

        return cls(
            at=datetime.fromisoformat(data["at"]),
            energy_before_wh=Decimal(data["energy_before_wh"]),
            flat_priced=bool(data["flat_priced"]),
            quantities=tuple(
                (TariffDimension(d), int(e), _fraction(q)) for d, e, q in data["quantities"]
            ),
            runs=tuple(
                (TariffDimension(d), _fraction(b), None if e is None else int(e))
                for d, b, e in data["runs"]
            ),
            total_excl_vat=dec(data.get("total_excl_vat")),
            total_incl_vat=dec(data.get("total_incl_vat")),
        )


def start(started_at: datetime) -> Checkpoint:
    """Nothing priced yet (the profile starts at the session's start, to the second)."""
    return Checkpoint(at=started_at.replace(microsecond=0))


def _ledger(tariff: Tariff, checkpoint: Checkpoint) -> _Ledger:
    ledger = _Ledger(tariff)
    ledger.quantities = {(d, e): q for d, e, q in checkpoint.quantities}
    ledger.runs = {d: _Run(billed=b, element=e) for d, b, e in checkpoint.runs}
    return ledger


def _save(
    ledger: _Ledger, at: datetime, energy: Decimal, flat: bool, totals: tuple[Decimal, Decimal]
) -> Checkpoint:
    return Checkpoint(
        at=at,
        energy_before_wh=energy,
        flat_priced=flat,
        quantities=tuple((d, e, q) for (d, e), q in ledger.quantities.items()),
        runs=tuple((d, r.billed, r.element) for d, r in ledger.runs.items()),
        total_excl_vat=totals[0],
        total_incl_vat=totals[1],
    )


def price_from(
    tariff: Tariff,
    checkpoint: Checkpoint,
    slices: Sequence[MinuteSlice],
    *,
    session_started_at: datetime,
    time_zone: tzinfo | str,
    keep_until: datetime | None = None,
) -> tuple[Price, Checkpoint]:
    """Resume pricing at `checkpoint` with the session's slices from `checkpoint.at` on.

    Returns the price of the whole session so far (its curve has the new slices only) and the
    checkpoint after the last slice that ends at or before `keep_until` (the same checkpoint
    when none does).
    """
    if slices and slices[0].start != checkpoint.at:
        raise ValueError(f"slices start at {slices[0].start}, expected {checkpoint.at}")
    zone = ZoneInfo(time_zone) if isinstance(time_zone, str) else time_zone
    origin = session_started_at.replace(microsecond=0)
    ledger = _ledger(tariff, checkpoint)
    flat_priced = checkpoint.flat_priced
    energy_before = checkpoint.energy_before_wh
    lines = ledger.lines()
    curve: list[CostPoint] = []
    kept = checkpoint
    for piece in slices:
        flat_priced, energy_before, lines, point = _price_slice(
            tariff, zone, origin, ledger, piece, energy_before, flat_priced
        )
        curve.append(point)
        if keep_until is not None and piece.end <= keep_until:
            totals = (point.total_excl_vat, point.total_incl_vat)
            kept = _save(ledger, piece.end, energy_before, flat_priced, totals)
    excl, vat, incl = _totals(lines, tariff.currency)
    price = Price(
        currency=tariff.currency,
        lines=tuple(lines),
        total_excl_vat=excl,
        total_vat=vat,
        total_incl_vat=incl,
        curve=tuple(curve),
    )
    return price, kept


def cost_at(points: Sequence[CostPoint], at: datetime) -> CostPoint | None:
    """The latest point at or before `at` (points in time order)."""
    index = bisect.bisect_right([p.at for p in points], at)
    return points[index - 1] if index else None
