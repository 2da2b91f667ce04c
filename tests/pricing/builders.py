"""Short builders for pricing tests: tariffs, elements, profiles in the site's local time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from backend.pricing import (
    DayOfWeek,
    MinuteSlice,
    Price,
    PriceComponent,
    SessionProfile,
    Tariff,
    TariffDimension,
    TariffElement,
    TariffRestrictions,
)

PARIS = ZoneInfo("Europe/Paris")
D = Decimal
WEEKDAYS = frozenset(
    [DayOfWeek.MONDAY, DayOfWeek.TUESDAY, DayOfWeek.WEDNESDAY, DayOfWeek.THURSDAY, DayOfWeek.FRIDAY]
)
WEEKEND = frozenset([DayOfWeek.SATURDAY, DayOfWeek.SUNDAY])


def local(text: str, zone: ZoneInfo = PARIS) -> datetime:
    """'2024-06-03 10:00' in the site's zone, as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


def hm(text: str) -> time:
    return time.fromisoformat(text)


def flat(price: str, vat: str | None = None) -> PriceComponent:
    return PriceComponent(TariffDimension.FLAT, D(price), vat_percent=_vat(vat))


def energy(price: str, step: int = 1, vat: str | None = None) -> PriceComponent:
    return PriceComponent(TariffDimension.ENERGY, D(price), step, _vat(vat))


def charging_time(price: str, step: int = 1, vat: str | None = None) -> PriceComponent:
    return PriceComponent(TariffDimension.TIME, D(price), step, _vat(vat))


def parking(price: str, step: int = 1, vat: str | None = None) -> PriceComponent:
    return PriceComponent(TariffDimension.PARKING_TIME, D(price), step, _vat(vat))


def _vat(vat: str | None) -> Decimal | None:
    return None if vat is None else D(vat)


def element(*components: PriceComponent, **restrictions: object) -> TariffElement:
    """An element; restrictions as keywords: start_time='22:00', max_kwh='1', day_of_week=..."""
    converted: dict[str, object] = {}
    for name, value in restrictions.items():
        if name in ("start_time", "end_time") and isinstance(value, str):
            value = hm(value)
        elif name in ("start_date", "end_date") and isinstance(value, str):
            value = datetime.fromisoformat(value).date()
        elif name.startswith(("min_", "max_")) and isinstance(value, str):
            value = D(value)
        converted[name] = value
    return TariffElement(tuple(components), TariffRestrictions(**converted))  # type: ignore[arg-type]


def tariff(*elements: TariffElement, currency: str = "EUR", vat: str = "20") -> Tariff:
    return Tariff(currency=currency, vat_percent=D(vat), elements=tuple(elements))


def minutes(
    start: str | datetime,
    energy_wh: Iterable[str | int | Decimal],
    *,
    current_a: str | int | None = None,
    zone: ZoneInfo = PARIS,
) -> SessionProfile:
    """A profile of whole minutes from `start` (local time), one energy value per minute."""
    begin = local(start, zone) if isinstance(start, str) else start
    slices = tuple(
        MinuteSlice(
            start=begin + timedelta(minutes=index),
            seconds=60,
            energy_wh=D(str(value)),
            current_a=None if current_a is None else D(str(current_a)),
        )
        for index, value in enumerate(energy_wh)
    )
    return SessionProfile(begin, slices)


def join(*profiles: SessionProfile) -> SessionProfile:
    """Contiguous profiles, concatenated (e.g. different currents for different periods)."""
    slices: list[MinuteSlice] = []
    for profile in profiles:
        slices.extend(profile.slices)
    return SessionProfile(profiles[0].started_at, tuple(slices))


def after(profile: SessionProfile) -> datetime:
    return profile.ended_at


def amounts(price: Price) -> dict[str, str]:
    """'DIMENSION#element' -> amount excl. VAT, for compact expectations."""
    return {
        f"{line.dimension.value}#{line.element_index}": str(line.amount_excl_vat)
        for line in price.lines
    }


def quantities(price: Price) -> dict[str, str]:
    """'DIMENSION#element' -> billed base quantity (Wh, s, session)."""
    return {
        f"{line.dimension.value}#{line.element_index}": f"{line.base_quantity.normalize():f}"
        for line in price.lines
    }
