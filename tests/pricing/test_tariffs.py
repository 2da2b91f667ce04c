"""The tariff model refuses what cannot be priced unambiguously; currencies' minor units."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from fractions import Fraction

import pytest

from backend.pricing import (
    DayOfWeek,
    PriceComponent,
    Tariff,
    TariffDimension,
    TariffElement,
    TariffRestrictions,
    floor_to_minor,
    minor_digits,
)

D = Decimal
ENERGY = PriceComponent(TariffDimension.ENERGY, D("0.25"))


@pytest.mark.parametrize(
    ("build", "error"),
    [
        pytest.param(
            lambda: PriceComponent(TariffDimension.TIME, D("-1")), ValueError, id="negative price"
        ),
        pytest.param(
            lambda: PriceComponent(TariffDimension.TIME, 0.25),  # type: ignore[arg-type]
            TypeError,
            id="float price",
        ),
        pytest.param(
            lambda: PriceComponent(TariffDimension.TIME, D("1"), 0), ValueError, id="step size 0"
        ),
        pytest.param(
            lambda: PriceComponent(TariffDimension.TIME, D("1"), vat_percent=D(-5)),
            ValueError,
            id="negative VAT",
        ),
        pytest.param(
            lambda: TariffRestrictions(start_time=time(8), end_time=time(8)),
            ValueError,
            id="empty time window",
        ),
        pytest.param(
            lambda: TariffRestrictions(start_time=time(8, 0, 30)),
            ValueError,
            id="time with seconds",
        ),
        pytest.param(
            lambda: TariffRestrictions(min_kwh=D(10), max_kwh=D(5)),
            ValueError,
            id="min kWh above max",
        ),
        pytest.param(
            lambda: TariffRestrictions(min_power=D(5), max_power=D(5)),
            ValueError,
            id="empty power range",
        ),
        pytest.param(
            lambda: TariffRestrictions(min_duration=-1), ValueError, id="negative duration"
        ),
        pytest.param(
            lambda: TariffRestrictions(start_date=date(2024, 2, 1), end_date=date(2024, 1, 1)),
            ValueError,
            id="dates reversed",
        ),
        pytest.param(lambda: TariffElement(()), ValueError, id="element without components"),
        pytest.param(
            lambda: TariffElement((ENERGY, ENERGY)),
            ValueError,
            id="element pricing a dimension twice",
        ),
        pytest.param(lambda: Tariff("EUR", D(20), ()), ValueError, id="tariff without elements"),
        pytest.param(
            lambda: Tariff("euro", D(20), (TariffElement((ENERGY,)),)),
            ValueError,
            id="currency not ISO 4217",
        ),
        pytest.param(
            lambda: Tariff("EUR", D(-1), (TariffElement((ENERGY,)),)),
            ValueError,
            id="negative VAT rate",
        ),
    ],
)
def test_invalid_tariffs_are_refused(build: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        build()  # type: ignore[operator]


def test_restrictions_accept_any_iterable_of_days() -> None:
    restrictions = TariffRestrictions(day_of_week=[DayOfWeek.MONDAY])  # type: ignore[arg-type]
    assert restrictions.day_of_week == frozenset([DayOfWeek.MONDAY])
    assert DayOfWeek.of(date(2024, 6, 9)) is DayOfWeek.SUNDAY


def test_component_vat_overrides_the_tariff_rate() -> None:
    own = PriceComponent(TariffDimension.FLAT, D(1), vat_percent=D("5.5"))
    tariff = Tariff("EUR", D(20), (TariffElement((own, ENERGY)),))
    assert (tariff.vat_for(own), tariff.vat_for(ENERGY)) == (D("5.5"), D(20))


@pytest.mark.parametrize(
    ("currency", "digits", "amount", "floored"),
    [
        pytest.param("EUR", 2, Fraction(1999, 1000), "1.99", id="EUR 2 digits"),
        pytest.param("JPY", 0, Fraction(35175, 100), "351", id="JPY 0 digits"),
        pytest.param("KRW", 0, Fraction(1, 3), "0", id="KRW 0 digits"),
        pytest.param("KWD", 3, Fraction(76255, 100000), "0.762", id="KWD 3 digits"),
        pytest.param("TND", 3, Fraction(1, 3), "0.333", id="TND 3 digits"),
        pytest.param("CLF", 4, Fraction(2, 3), "0.6666", id="CLF 4 digits"),
        pytest.param("CHF", 2, Fraction(0), "0.00", id="zero keeps its digits"),
    ],
)
def test_floor_to_minor_unit(currency: str, digits: int, amount: Fraction, floored: str) -> None:
    assert minor_digits(currency) == digits
    assert str(floor_to_minor(amount, currency)) == floored
