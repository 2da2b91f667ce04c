"""Properties of the engine over random tariffs and sessions (hypothesis).

- the cost curve never goes down as the session grows, and each point is the price of the
  session so far; its last point is the total;
- no amount is ever negative;
- rounding never charges more than the exact amount, and never less by a minor unit or more
  per line.

OCPI's own step rule can lower the cost when a dimension switches from an element to another
with a different step or price (test_engine: test_ocpi_step_switch_...). So growth is checked
on the tariffs where OCPI cannot do that: either one element per dimension with any steps, or
any elements with steps that minute slices never round (1 Wh, 1 s or 60 s).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

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
    minor_digits,
    price_session,
)

ZONE = "Europe/Paris"
METERED = [TariffDimension.ENERGY, TariffDimension.TIME, TariffDimension.PARKING_TIME]
prices = st.decimals(min_value=0, max_value=10, places=3)
vats = st.sampled_from([Decimal(0), Decimal("5.5"), Decimal(10), Decimal(20)])
currencies = st.sampled_from(["EUR", "JPY", "KWD"])


def _ordered(values: list[Decimal | int]) -> tuple[Decimal | int, Decimal | int]:
    low, high = sorted(values)
    return low, high


@st.composite
def restrictions(draw: st.DrawFn) -> TariffRestrictions:
    fields: dict[str, object] = {}
    if draw(st.booleans()):
        start, end = draw(st.lists(st.integers(0, 23), min_size=2, max_size=2, unique=True))
        fields["start_time"], fields["end_time"] = time(start), time(end)  # may wrap midnight
    if draw(st.booleans()):
        fields["day_of_week"] = frozenset(draw(st.sets(st.sampled_from(list(DayOfWeek)))))
    if draw(st.booleans()):
        first = date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 365)))
        fields["start_date"], fields["end_date"] = first, first + timedelta(days=2)
    for name, limit in (("kwh", 60), ("power", 50), ("current", 64)):
        if draw(st.booleans()):
            low, high = draw(
                st.lists(st.integers(0, limit), min_size=2, max_size=2, unique=True).map(sorted)
            )
            fields[f"min_{name}"] = Decimal(low) if draw(st.booleans()) else None
            fields[f"max_{name}"] = Decimal(high) if draw(st.booleans()) else None
    if draw(st.booleans()):
        low, high = draw(
            st.lists(st.integers(0, 4 * 3600), min_size=2, max_size=2, unique=True).map(sorted)
        )
        fields["min_duration"] = low if draw(st.booleans()) else None
        fields["max_duration"] = high if draw(st.booleans()) else None
    return TariffRestrictions(**fields)  # type: ignore[arg-type]


def component(dimension: TariffDimension, steps: st.SearchStrategy[int]) -> st.SearchStrategy:
    vat = st.none() | vats
    return st.builds(PriceComponent, st.just(dimension), prices, steps, vat)


NEUTRAL_STEPS = {
    TariffDimension.FLAT: st.just(1),
    TariffDimension.ENERGY: st.just(1),
    TariffDimension.TIME: st.sampled_from([1, 60]),
    TariffDimension.PARKING_TIME: st.sampled_from([1, 60]),
}
ANY_STEPS = {dimension: st.integers(1, 3600) for dimension in TariffDimension}


@st.composite
def tariffs(draw: st.DrawFn, *, one_element_per_dimension: bool, neutral_steps: bool) -> Tariff:
    steps = NEUTRAL_STEPS if neutral_steps else ANY_STEPS
    elements = []
    if one_element_per_dimension:
        for dimension in draw(st.permutations(list(TariffDimension))):
            if draw(st.booleans()):
                comp = draw(component(dimension, steps[dimension]))
                elements.append(TariffElement((comp,), draw(restrictions())))
    else:
        for _ in range(draw(st.integers(1, 5))):
            dims = draw(st.sets(st.sampled_from(list(TariffDimension)), min_size=1))
            comps = tuple(draw(component(d, steps[d])) for d in sorted(dims, key=lambda d: d.value))
            elements.append(TariffElement(comps, draw(restrictions())))
    if not elements:
        elements.append(TariffElement((draw(component(TariffDimension.FLAT, st.just(1))),)))
    return Tariff(draw(currencies), draw(vats), tuple(elements))


@st.composite
def profiles(draw: st.DrawFn, *, whole_wh: bool) -> SessionProfile:
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 525_000)))
    energy = (
        st.integers(0, 1500).map(Decimal)
        if whole_wh
        else st.decimals(min_value=0, max_value=1500, places=3)
    )
    minute = st.tuples(st.just(Decimal(0)) | energy, st.none() | st.integers(0, 64).map(Decimal))
    slices = [
        MinuteSlice(start + timedelta(minutes=i), 60, wh, amps)
        for i, (wh, amps) in enumerate(draw(st.lists(minute, max_size=200)))
    ]
    return SessionProfile(start, tuple(slices))


def check_invariants(price: Price) -> None:
    minor = Fraction(1, 10 ** minor_digits(price.currency))
    for line in price.lines:
        assert line.amount_excl_vat >= 0
        assert line.vat >= 0
        assert line.amount_incl_vat >= line.amount_excl_vat
        assert line.base_quantity >= 0
        # Rounding down: never above the exact amount, less than one minor unit below it.
        assert 0 <= line.unrounded_excl_vat - Fraction(line.amount_excl_vat) < minor
    assert Fraction(price.total_excl_vat) <= price.unrounded_excl_vat
    assert Fraction(price.total_incl_vat) <= price.unrounded_incl_vat
    assert price.total_incl_vat == price.total_excl_vat + price.total_vat
    if price.curve:
        assert price.curve[-1].total_excl_vat == price.total_excl_vat
        assert price.curve[-1].total_incl_vat == price.total_incl_vat
    for point in price.curve:
        assert point.total_excl_vat >= 0


def check_growth(price: Price) -> None:
    for before, after in zip(price.curve, price.curve[1:], strict=False):
        assert after.total_excl_vat >= before.total_excl_vat
        assert after.total_incl_vat >= before.total_incl_vat


def check_prefix(the_tariff: Tariff, profile: SessionProfile, price: Price, cut: int) -> None:
    """A curve point is what the session would have cost, had it ended there."""
    if price.curve:
        count = 1 + cut % len(price.curve)
        so_far = price_session(the_tariff, profile.prefix(count), ZONE)
        assert so_far.curve == price.curve[:count]


@settings(max_examples=150, deadline=None)
@given(
    the_tariff=tariffs(one_element_per_dimension=False, neutral_steps=True),
    profile=profiles(whole_wh=True),
    cut=st.integers(0, 1000),
)
def test_many_elements_neutral_steps(the_tariff: Tariff, profile: SessionProfile, cut: int) -> None:
    price = price_session(the_tariff, profile, ZONE)
    check_invariants(price)
    check_growth(price)
    check_prefix(the_tariff, profile, price, cut)


@settings(max_examples=150, deadline=None)
@given(
    the_tariff=tariffs(one_element_per_dimension=True, neutral_steps=False),
    profile=profiles(whole_wh=False),
    cut=st.integers(0, 1000),
)
def test_one_element_per_dimension_any_steps(
    the_tariff: Tariff, profile: SessionProfile, cut: int
) -> None:
    price = price_session(the_tariff, profile, ZONE)
    check_invariants(price)
    check_growth(price)
    check_prefix(the_tariff, profile, price, cut)


@settings(max_examples=150, deadline=None)
@given(
    the_tariff=tariffs(one_element_per_dimension=False, neutral_steps=False),
    profile=profiles(whole_wh=False),
    cut=st.integers(0, 1000),
)
def test_any_tariff(the_tariff: Tariff, profile: SessionProfile, cut: int) -> None:
    """Steps may switch elements here (so growth is not guaranteed); the rest always holds."""
    price = price_session(the_tariff, profile, ZONE)
    check_invariants(price)
    check_prefix(the_tariff, profile, price, cut)


@settings(max_examples=100, deadline=None)
@given(
    the_tariff=tariffs(one_element_per_dimension=False, neutral_steps=False),
    profile=profiles(whole_wh=False),
)
def test_single_dimension_totals_match_a_direct_computation(
    the_tariff: Tariff, profile: SessionProfile
) -> None:
    """With restrictions removed, a dimension's amount is simply its rounded-up total times
    the first element's price: an independent check of the steps and rounding arithmetic."""
    plain = Tariff(
        the_tariff.currency,
        the_tariff.vat_percent,
        tuple(TariffElement(e.price_components) for e in the_tariff.elements),
    )
    price = price_session(plain, profile, ZONE)
    digits = minor_digits(plain.currency)
    energy_before = Decimal(0)
    totals = {d: Fraction(0) for d in METERED}
    for piece in profile.slices:
        totals[TariffDimension.ENERGY] += Fraction(piece.energy_wh)
        if piece.charging:
            totals[TariffDimension.TIME] += piece.seconds
        elif energy_before > 0:
            totals[TariffDimension.PARKING_TIME] += piece.seconds
        energy_before += piece.energy_wh
    expected: dict[TariffDimension, Decimal] = {}
    for dimension, quantity in totals.items():
        first = next(
            (e.component(dimension) for e in plain.elements if e.component(dimension)), None
        )
        if first is None or quantity == 0:
            continue
        billed = -(-quantity // first.step_size) * first.step_size
        per_unit = 1000 if dimension is TariffDimension.ENERGY else 3600
        exact = billed * Fraction(first.price) / per_unit
        expected[dimension] = Decimal(int(exact * 10**digits)).scaleb(-digits)
    got = {line.dimension: line.amount_excl_vat for line in price.lines}
    got.pop(TariffDimension.FLAT, None)
    assert got == expected
