"""Price a session profile under a tariff, minute by minute, in the site's time zone.

For every slice and every dimension, the first element of the tariff whose restrictions hold
and that prices that dimension applies (OCPI 2.2.1). What each slice counts for:

- ENERGY: the Wh delivered in the slice;
- TIME: the slice's seconds when energy flowed in it;
- PARKING_TIME: the slice's seconds when the car is connected, no energy flowed in it, and the
  car had drawn energy before (so waiting before the first kWh is free);
- FLAT: once per session, from the first slice where an element prices FLAT.

Steps follow OCPI: a dimension's quantity is rounded up to a whole number of `step_size` of the
element that priced it last, on the session's total for that dimension; rounding happens at the
end of the session, and earlier when the dimension becomes unpriced (no element prices it any
more); a switch between two elements that both price it does not round. The rounded-up extra
is billed at the price of that last element.

Each line's amount is then rounded DOWN to the currency's minor unit, and so is its VAT.
Arithmetic is exact (fractions) until that final rounding; money out is Decimal.

The cost curve has one point per slice: what the session would cost had it ended with that
slice. Its last point is the total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from backend.pricing.currencies import floor_to_minor
from backend.pricing.session_profile import MinuteSlice, SessionProfile
from backend.pricing.tariffs import (
    DayOfWeek,
    PriceComponent,
    Tariff,
    TariffDimension,
    TariffRestrictions,
)

_ORDER = {dimension: index for index, dimension in enumerate(TariffDimension)}
_UNITS: dict[TariffDimension, tuple[str, str, int]] = {
    # dimension: (unit priced, base unit of quantities and steps, base units per unit)
    TariffDimension.FLAT: ("session", "session", 1),
    TariffDimension.ENERGY: ("kWh", "Wh", 1000),
    TariffDimension.TIME: ("h", "s", 3600),
    TariffDimension.PARKING_TIME: ("h", "s", 3600),
}
_METERED = (TariffDimension.ENERGY, TariffDimension.TIME, TariffDimension.PARKING_TIME)
_HOURS = Decimal("0.0001")


@dataclass(frozen=True)
class PriceLine:
    """One priced component: a dimension as priced by one tariff element."""

    dimension: TariffDimension
    element_index: int
    """Index of the tariff element whose component this is."""
    quantity: Decimal
    """Billed quantity in `unit` (kWh exact; hours to 4 decimals, for display)."""
    unit: str
    unit_price: Decimal
    """Price per `unit`, excluding VAT."""
    step_size: int
    base_quantity: Decimal
    """Billed quantity, exact, in `base_unit` (Wh, s, session), steps included."""
    base_unit: str
    amount_excl_vat: Decimal
    vat_percent: Decimal
    vat: Decimal
    amount_incl_vat: Decimal
    unrounded_excl_vat: Fraction
    """The exact amount before rounding down to the minor unit."""


@dataclass(frozen=True)
class CostPoint:
    """The cumulated cost had the session ended at `at`."""

    at: datetime
    total_excl_vat: Decimal
    total_incl_vat: Decimal


@dataclass(frozen=True)
class Price:
    currency: str
    lines: tuple[PriceLine, ...]
    total_excl_vat: Decimal
    total_vat: Decimal
    total_incl_vat: Decimal
    curve: tuple[CostPoint, ...] = ()

    @property
    def unrounded_excl_vat(self) -> Fraction:
        return sum((line.unrounded_excl_vat for line in self.lines), Fraction(0))

    @property
    def unrounded_incl_vat(self) -> Fraction:
        return sum(
            (
                line.unrounded_excl_vat * (1 + Fraction(line.vat_percent) / 100)
                for line in self.lines
            ),
            Fraction(0),
        )


@dataclass(frozen=True)
class _Moment:
    """What restrictions are checked against: the state at the start of a slice."""

    slice: MinuteSlice
    local: datetime
    elapsed: timedelta
    energy_before_wh: Decimal


def _holds(restrictions: TariffRestrictions, moment: _Moment) -> bool:
    r = restrictions
    local = moment.local
    if r.start_time is not None or r.end_time is not None:
        now = local.time().replace(tzinfo=None)
        start, end = r.start_time, r.end_time
        if start is not None and end is not None and end < start:  # wraps midnight
            if not (now >= start or now < end):
                return False
        elif (start is not None and now < start) or (end is not None and now >= end):
            return False
    day = local.date()
    if r.start_date is not None and day < r.start_date:
        return False
    if r.end_date is not None and day >= r.end_date:
        return False
    if r.day_of_week and DayOfWeek.of(day) not in r.day_of_week:
        return False
    energy = moment.energy_before_wh
    if r.min_kwh is not None and energy < r.min_kwh * 1000:
        return False
    if r.max_kwh is not None and energy >= r.max_kwh * 1000:
        return False
    if r.min_duration is not None and moment.elapsed < timedelta(seconds=r.min_duration):
        return False
    if r.max_duration is not None and moment.elapsed >= timedelta(seconds=r.max_duration):
        return False
    power = moment.slice.power_kw
    if r.min_power is not None and power < r.min_power:
        return False
    if r.max_power is not None and power >= r.max_power:
        return False
    if r.min_current is not None or r.max_current is not None:
        current = moment.slice.current_a
        if current is None:
            return False  # unknown current: the restriction cannot be shown to hold
        if r.min_current is not None and current < r.min_current:
            return False
        if r.max_current is not None and current >= r.max_current:
            return False
    return True


def _applicable(tariff: Tariff, dimension: TariffDimension, moment: _Moment) -> int | None:
    for index, element in enumerate(tariff.elements):
        if element.component(dimension) is not None and _holds(element.restrictions, moment):
            return index
    return None


@dataclass
class _Run:
    """A dimension's progress: what has been billed and which element priced it last."""

    billed: Fraction = Fraction(0)
    element: int | None = None


@dataclass
class _Ledger:
    tariff: Tariff
    quantities: dict[tuple[TariffDimension, int], Fraction] = field(default_factory=dict)
    runs: dict[TariffDimension, _Run] = field(default_factory=dict)

    def component(self, dimension: TariffDimension, element: int) -> PriceComponent:
        component = self.tariff.elements[element].component(dimension)
        assert component is not None
        return component

    def _extra(self, dimension: TariffDimension, run: _Run) -> Fraction:
        if run.element is None:
            return Fraction(0)
        step = self.component(dimension, run.element).step_size
        return math.ceil(run.billed / step) * step - run.billed

    def add_flat(self, element: int) -> None:
        """The flat fee: one per session, no steps."""
        self.quantities[(TariffDimension.FLAT, element)] = Fraction(1)

    def add(self, dimension: TariffDimension, element: int | None, quantity: Fraction) -> None:
        run = self.runs.setdefault(dimension, _Run())
        if element is None and run.element is not None:
            # The dimension becomes unpriced: the last element's step closes what was billed.
            extra = self._extra(dimension, run)
            key = (dimension, run.element)
            self.quantities[key] = self.quantities.get(key, Fraction(0)) + extra
            run.billed += extra
        if element is not None:
            key = (dimension, element)
            self.quantities[key] = self.quantities.get(key, Fraction(0)) + quantity
            run.billed += quantity
        run.element = element

    def lines(self) -> list[PriceLine]:
        """The lines as they stand, steps of the running elements rounded up provisionally."""
        quantities = dict(self.quantities)
        for dimension, run in self.runs.items():
            if run.element is not None:
                quantities[(dimension, run.element)] += self._extra(dimension, run)
        result = [self._line(key, quantity) for key, quantity in quantities.items()]
        result.sort(key=lambda line: _ORDER[line.dimension])
        return result

    def _line(self, key: tuple[TariffDimension, int], quantity: Fraction) -> PriceLine:
        dimension, element = key
        component = self.component(dimension, element)
        unit, base_unit, per_unit = _UNITS[dimension]
        currency = self.tariff.currency
        exact = quantity * Fraction(component.price) / per_unit
        amount = floor_to_minor(exact, currency)
        vat_percent = self.tariff.vat_for(component)
        vat = floor_to_minor(Fraction(amount) * Fraction(vat_percent) / 100, currency)
        base_quantity = Decimal(quantity.numerator) / Decimal(quantity.denominator)
        if dimension is TariffDimension.ENERGY:
            shown = base_quantity / per_unit
        elif dimension is TariffDimension.FLAT:
            shown = base_quantity
        else:
            shown = (base_quantity / per_unit).quantize(_HOURS)
        return PriceLine(
            dimension=dimension,
            element_index=element,
            quantity=shown,
            unit=unit,
            unit_price=component.price,
            step_size=component.step_size,
            base_quantity=base_quantity,
            base_unit=base_unit,
            amount_excl_vat=amount,
            vat_percent=vat_percent,
            vat=vat,
            amount_incl_vat=amount + vat,
            unrounded_excl_vat=exact,
        )


def _zero(currency: str) -> Decimal:
    return floor_to_minor(Fraction(0), currency)


def _totals(lines: list[PriceLine], currency: str) -> tuple[Decimal, Decimal, Decimal]:
    zero = _zero(currency)
    excl = sum((line.amount_excl_vat for line in lines), zero)
    vat = sum((line.vat for line in lines), zero)
    return excl, vat, excl + vat


def _price_slice(
    tariff: Tariff,
    zone: tzinfo,
    origin: datetime,
    ledger: _Ledger,
    piece: MinuteSlice,
    energy_before: Decimal,
    flat_priced: bool,
) -> tuple[bool, Decimal, list[PriceLine], CostPoint]:
    """Price one slice into the ledger (shared by full and incremental pricing): whether the
    flat fee is now priced, the energy after the slice, the lines and the cost so far."""
    moment = _Moment(
        slice=piece,
        local=piece.start.astimezone(zone),
        elapsed=piece.start - origin,
        energy_before_wh=energy_before,
    )
    if not flat_priced:
        element = _applicable(tariff, TariffDimension.FLAT, moment)
        if element is not None:
            ledger.add_flat(element)
            flat_priced = True
    for dimension in _METERED:
        quantity = _quantity(dimension, piece, energy_before)
        if quantity > 0:
            ledger.add(dimension, _applicable(tariff, dimension, moment), quantity)
    lines = ledger.lines()
    excl, _, incl = _totals(lines, tariff.currency)
    point = CostPoint(at=piece.end, total_excl_vat=excl, total_incl_vat=incl)
    return flat_priced, energy_before + piece.energy_wh, lines, point


def price_session(tariff: Tariff, profile: SessionProfile, time_zone: tzinfo | str) -> Price:
    """Price `profile` under `tariff`; restrictions are read in `time_zone` (the site's)."""
    zone = ZoneInfo(time_zone) if isinstance(time_zone, str) else time_zone
    ledger = _Ledger(tariff)
    flat_priced = False
    energy_before = Decimal(0)
    curve: list[CostPoint] = []
    lines: list[PriceLine] = []
    for piece in profile.slices:
        flat_priced, energy_before, lines, point = _price_slice(
            tariff, zone, profile.started_at, ledger, piece, energy_before, flat_priced
        )
        curve.append(point)
    excl, vat, incl = _totals(lines, tariff.currency)
    return Price(
        currency=tariff.currency,
        lines=tuple(lines),
        total_excl_vat=excl,
        total_vat=vat,
        total_incl_vat=incl,
        curve=tuple(curve),
    )


def _quantity(dimension: TariffDimension, piece: MinuteSlice, energy_before: Decimal) -> Fraction:
    if dimension is TariffDimension.ENERGY:
        return Fraction(piece.energy_wh)
    if dimension is TariffDimension.TIME:
        return Fraction(piece.seconds) if piece.charging else Fraction(0)
    # PARKING_TIME: connected, idle, and only once the car has drawn energy.
    idle = piece.connected and not piece.charging and energy_before > 0
    return Fraction(piece.seconds) if idle else Fraction(0)
