"""The OCPI 2.2.1 tariff model, as plain immutable dataclasses.

A `Tariff` has a currency, a VAT rate and a list of `TariffElement`s. Each element has price
components (FLAT, ENERGY, TIME, PARKING_TIME) and optional `TariffRestrictions` saying when the
element is active. Prices are per unit and excluding VAT:

- FLAT: per session;
- ENERGY: per kWh, `step_size` in Wh;
- TIME: per hour while energy flows, `step_size` in seconds;
- PARKING_TIME: per hour while connected and not charging, `step_size` in seconds.

Validation happens on construction, so an invalid tariff cannot exist. OCPI's reservation
restriction, tariff types and min/max price are not part of this model (see README.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal

from backend.pricing.currencies import check_currency


class TariffDimension(enum.Enum):
    """What a price component prices (OCPI TariffDimensionType)."""

    FLAT = "FLAT"
    ENERGY = "ENERGY"
    TIME = "TIME"
    PARKING_TIME = "PARKING_TIME"


class DayOfWeek(enum.Enum):
    """OCPI DayOfWeek; `index` is Python's `date.weekday()`."""

    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"

    @property
    def index(self) -> int:
        return list(DayOfWeek).index(self)

    @classmethod
    def of(cls, day: date) -> DayOfWeek:
        return list(cls)[day.weekday()]


def _decimal(value: Decimal, name: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{name} must be a finite Decimal, got {value!r}")
    return value


@dataclass(frozen=True)
class PriceComponent:
    """A price per unit, excluding VAT, billed in blocks of `step_size` base units."""

    dimension: TariffDimension
    price: Decimal
    step_size: int = 1
    vat_percent: Decimal | None = None
    """Overrides the tariff's VAT rate for this component (OCPI puts VAT here)."""

    def __post_init__(self) -> None:
        if _decimal(self.price, "price") < 0:
            raise ValueError("price must not be negative")
        if isinstance(self.step_size, bool) or not isinstance(self.step_size, int):
            raise TypeError("step_size must be an int")
        if self.step_size < 1:
            raise ValueError("step_size must be at least 1")
        if self.vat_percent is not None and _decimal(self.vat_percent, "vat_percent") < 0:
            raise ValueError("vat_percent must not be negative")


def _check_range(low: object, high: object, low_name: str, high_name: str) -> None:
    if low is not None and high is not None and low >= high:  # type: ignore[operator]
        raise ValueError(f"{low_name} must be before {high_name}")


@dataclass(frozen=True)
class TariffRestrictions:
    """When an element is active. Every given restriction must hold (they are AND-ed).

    Minimums are inclusive and maximums exclusive (OCPI says so for durations and dates; the
    same convention is used for energy, power and current). Times and dates are local to the
    site. A time window whose end is before its start wraps midnight (22:00-06:00).
    """

    start_time: time | None = None
    end_time: time | None = None
    start_date: date | None = None
    end_date: date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    """Amperes, summed over all phases."""
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    """kW."""
    max_power: Decimal | None = None
    min_duration: int | None = None
    """Seconds since the session started."""
    max_duration: int | None = None
    day_of_week: frozenset[DayOfWeek] = field(default_factory=frozenset)
    """Empty means every day."""

    def __post_init__(self) -> None:
        for name in ("start_time", "end_time"):
            value = getattr(self, name)
            if value is not None:
                if not isinstance(value, time) or value.tzinfo is not None:
                    raise TypeError(f"{name} must be a naive time of day")
                if value.second or value.microsecond:
                    raise ValueError(f"{name} must be a whole minute (HH:MM)")
        if self.start_time is not None and self.start_time == self.end_time:
            raise ValueError("start_time and end_time must differ")
        for name in ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power"):
            value = getattr(self, name)
            if value is not None and _decimal(value, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("min_duration", "max_duration"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"{name} must be a non-negative number of seconds")
        for low, high in (
            ("start_date", "end_date"),
            ("min_kwh", "max_kwh"),
            ("min_current", "max_current"),
            ("min_power", "max_power"),
            ("min_duration", "max_duration"),
        ):
            _check_range(getattr(self, low), getattr(self, high), low, high)
        if not isinstance(self.day_of_week, frozenset):
            object.__setattr__(self, "day_of_week", frozenset(self.day_of_week))
        if not all(isinstance(day, DayOfWeek) for day in self.day_of_week):
            raise TypeError("day_of_week must hold DayOfWeek values")


NO_RESTRICTIONS = TariffRestrictions()


@dataclass(frozen=True)
class TariffElement:
    """Price components that apply together while the restrictions hold."""

    price_components: tuple[PriceComponent, ...]
    restrictions: TariffRestrictions = NO_RESTRICTIONS

    def __post_init__(self) -> None:
        if not isinstance(self.price_components, tuple):
            object.__setattr__(self, "price_components", tuple(self.price_components))
        if not self.price_components:
            raise ValueError("a tariff element needs at least one price component")
        dimensions = [component.dimension for component in self.price_components]
        if len(set(dimensions)) != len(dimensions):
            raise ValueError("a tariff element prices each dimension at most once")

    def component(self, dimension: TariffDimension) -> PriceComponent | None:
        for candidate in self.price_components:
            if candidate.dimension is dimension:
                return candidate
        return None


@dataclass(frozen=True)
class Tariff:
    """An OCPI 2.2.1 tariff: currency, VAT rate (percent, e.g. 20) and ordered elements."""

    currency: str
    vat_percent: Decimal
    elements: tuple[TariffElement, ...]
    id: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        check_currency(self.currency)
        if _decimal(self.vat_percent, "vat_percent") < 0:
            raise ValueError("vat_percent must not be negative")
        if not isinstance(self.elements, tuple):
            object.__setattr__(self, "elements", tuple(self.elements))
        if not self.elements:
            raise ValueError("a tariff needs at least one element")

    def vat_for(self, component: PriceComponent) -> Decimal:
        return self.vat_percent if component.vat_percent is None else component.vat_percent
