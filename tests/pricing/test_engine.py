"""The pricing engine, rule by rule: one table row per rule (ids say which)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from backend.pricing import (
    Price,
    SessionProfile,
    Tariff,
    TariffDimension,
    build_profile,
    price_session,
)
from backend.pricing.session_profile import MeterSample
from tests.pricing.builders import (
    WEEKDAYS,
    WEEKEND,
    D,
    DayOfWeek,
    after,
    amounts,
    charging_time,
    element,
    energy,
    flat,
    join,
    local,
    minutes,
    parking,
    quantities,
    tariff,
)


@dataclass(frozen=True)
class Case:
    id: str
    tariff: Tariff
    profile: SessionProfile
    amounts: dict[str, str]
    total_excl_vat: str
    total_incl_vat: str | None = None
    quantities: dict[str, str] = field(default_factory=dict)
    zone: str = "Europe/Paris"


def idle(start: datetime, count: int, current_a: str | int | None = None) -> SessionProfile:
    return minutes(start, [0] * count, current_a=current_a)


MONDAY = "2024-06-03"  # a Monday
SATURDAY = "2024-06-08"

# OCPI 2.2.1 examples (mod_tariffs), reused as they are.
OCPI_COMPLEX = tariff(
    element(flat("2.50", vat="15")),
    element(charging_time("1.00", 900, vat="20"), max_current="32"),
    element(charging_time("2.00", 600, vat="20"), min_current="32", day_of_week=WEEKDAYS),
    element(charging_time("1.25", 600, vat="20"), min_current="32", day_of_week=WEEKEND),
    element(
        parking("5.00", 300, vat="10"), start_time="09:00", end_time="18:00", day_of_week=WEEKDAYS
    ),
    element(
        parking("6.00", 300, vat="10"),
        start_time="10:00",
        end_time="17:00",
        day_of_week=frozenset([DayOfWeek.SATURDAY]),
    ),
)
OCPI_STEP_SWITCH = tariff(
    element(
        charging_time("1.20", 1800), parking("1.00", 900), start_time="00:00", end_time="17:00"
    ),
    element(charging_time("2.40", 900), parking("1.00", 900), start_time="17:00", end_time="20:00"),
    element(charging_time("2.40", 900), start_time="20:00", end_time="23:59"),
)
NIGHT_ENERGY = tariff(
    element(energy("0.10"), start_time="22:00", end_time="06:00"),
    element(energy("0.30")),
)


def _complex_monday() -> SessionProfile:
    charge = minutes(f"{MONDAY} 09:30", [100] * 147, current_a=16)
    return join(charge, idle(after(charge), 42, current_a=0))


def _complex_saturday() -> SessionProfile:
    charge = minutes(f"{SATURDAY} 13:30", [300] * 114, current_a=43)
    return join(charge, idle(after(charge), 71, current_a=0))


def _step_switch(start: str, charging: int, parked: int) -> SessionProfile:
    charge = minutes(f"{MONDAY} {start}", [100] * charging)
    return join(charge, idle(after(charge), parked)) if parked else charge


def _stopped_then_idle_until_available() -> SessionProfile:
    start = local(f"{MONDAY} 10:00")
    samples = [MeterSample(local(f"{MONDAY} 10:{m:02d}"), D(400 * m)) for m in range(1, 50)]
    samples.append(MeterSample(local(f"{MONDAY} 10:50"), D(20000)))
    return build_profile(
        started_at=start,
        samples=samples,
        meter_start_wh=D(0),
        stopped_at=local(f"{MONDAY} 10:50"),
        available_at=local(f"{MONDAY} 11:30"),
    )


def _gap_spread() -> SessionProfile:
    # One reading for a 30-minute gap: 3000 Wh reported at 10:31, spread 100 Wh a minute.
    return build_profile(
        started_at=local(f"{MONDAY} 10:00"),
        samples=[
            MeterSample(local(f"{MONDAY} 10:01"), D(100)),
            MeterSample(local(f"{MONDAY} 10:31"), D(3100)),
        ],
        meter_start_wh=D(0),
        stopped_at=local(f"{MONDAY} 10:31"),
    )


CASES = [
    # --- flat fee
    Case(
        "flat fee only",
        tariff(element(flat("0.50"))),
        minutes(f"{MONDAY} 10:00", [100] * 10),
        {"FLAT#0": "0.50"},
        "0.50",
        "0.60",
    ),
    Case(
        "free of charge tariff (OCPI: FLAT 0.00)",
        tariff(element(flat("0.00"))),
        minutes(f"{MONDAY} 10:00", [100] * 10),
        {"FLAT#0": "0.00"},
        "0.00",
        "0.00",
    ),
    Case(
        "flat + energy, OCPI example 0.25/kWh + start fee, VAT per component",
        tariff(element(flat("0.50", vat="20")), element(energy("0.25", vat="10"))),
        minutes(f"{MONDAY} 10:00", [400] * 50),
        {"FLAT#0": "0.50", "ENERGY#1": "5.00"},
        "5.50",
        "6.10",
    ),
    Case(
        "flat fee charged once even when two elements price FLAT",
        tariff(element(flat("1.00"), start_time="08:00", end_time="20:00"), element(flat("0.50"))),
        minutes(f"{MONDAY} 19:59", [100] * 10),
        {"FLAT#0": "1.00"},
        "1.00",
    ),
    Case(
        "flat fee from the first minute its element is active (07:50 plug-in, 08:00 fee)",
        tariff(element(flat("1.00"), start_time="08:00", end_time="20:00")),
        minutes(f"{MONDAY} 07:50", [100] * 20),
        {"FLAT#0": "1.00"},
        "1.00",
    ),
    Case(
        "no element active for a dimension: that dimension is free",
        tariff(element(flat("1.00"), start_time="08:00", end_time="20:00")),
        minutes(f"{MONDAY} 07:00", [100] * 30),
        {},
        "0.00",
        "0.00",
    ),
    # --- energy, steps
    Case(
        "energy 0.25/kWh, step 1 Wh, 20 kWh",
        tariff(element(energy("0.25")), vat="10"),
        minutes(f"{MONDAY} 10:00", [400] * 50),
        {"ENERGY#0": "5.00"},
        "5.00",
        "5.50",
        {"ENERGY#0": "20000"},
    ),
    Case(
        "energy step 100 Wh: 20.45 kWh billed as 20.5 kWh, 5.125 rounded down",
        tariff(element(energy("0.25", step=100))),
        minutes(f"{MONDAY} 10:00", [409] * 50),
        {"ENERGY#0": "5.12"},
        "5.12",
        quantities={"ENERGY#0": "20500"},
    ),
    Case(
        "energy step 1 Wh: 115.2 Wh billed as 116 Wh (OCPI)",
        tariff(element(energy("0.25"))),
        minutes(f"{MONDAY} 10:00", ["115.2"]),
        {"ENERGY#0": "0.02"},
        "0.02",
        quantities={"ENERGY#0": "116"},
    ),
    Case(
        "energy step 25 Wh: 115.2 Wh billed as 125 Wh (OCPI)",
        tariff(element(energy("0.25", step=25))),
        minutes(f"{MONDAY} 10:00", ["115.2"]),
        {"ENERGY#0": "0.03"},
        "0.03",
        quantities={"ENERGY#0": "125"},
    ),
    Case(
        "energy step 500 Wh: 115.2 Wh billed as 500 Wh (OCPI)",
        tariff(element(energy("0.25", step=500))),
        minutes(f"{MONDAY} 10:00", ["115.2"]),
        {"ENERGY#0": "0.12"},
        "0.12",
        quantities={"ENERGY#0": "500"},
    ),
    # --- time while charging, parking
    Case(
        "time 2.00/h while charging, 2.5 h (OCPI)",
        tariff(element(charging_time("2.00", 60)), vat="10"),
        minutes(f"{MONDAY} 10:00", [100] * 150),
        {"TIME#0": "5.00"},
        "5.00",
        "5.50",
    ),
    Case(
        "time is not billed while idle",
        tariff(element(charging_time("2.00", 60))),
        join(c := minutes(f"{MONDAY} 10:00", [100] * 60), idle(after(c), 30)),
        {"TIME#0": "2.00"},
        "2.00",
    ),
    Case(
        "time 3/h + parking 5/h per 5 min: 150 min + 42 min parked (OCPI)",
        tariff(element(charging_time("3.00", 60, vat="10"), parking("5.00", 300, vat="20"))),
        join(c := minutes(f"{MONDAY} 10:00", [100] * 150), idle(after(c), 42)),
        {"TIME#0": "7.50", "PARKING_TIME#0": "3.75"},
        "11.25",
        "12.75",
        {"TIME#0": "9000", "PARKING_TIME#0": "2700"},
    ),
    Case(
        "parking does not count before the first energy",
        tariff(element(parking("1.00"))),
        join(
            w := idle(local(f"{MONDAY} 10:00"), 10),
            c := minutes(after(w), [100] * 60),
            idle(after(c), 20),
        ),
        {"PARKING_TIME#0": "0.33"},
        "0.33",
        quantities={"PARKING_TIME#0": "1200"},
    ),
    Case(
        "parking counts when charging pauses mid-session",
        tariff(element(parking("6.00"))),
        join(
            a := minutes(f"{MONDAY} 10:00", [100] * 30),
            b := idle(after(a), 10),
            minutes(after(b), [100] * 30),
        ),
        {"PARKING_TIME#0": "1.00"},
        "1.00",
        quantities={"PARKING_TIME#0": "600"},
    ),
    Case(
        "idle after stop until Available is parking (OCPI: 20 kWh + 40 min per 15 min)",
        tariff(
            element(
                flat("0.50", vat="20"), energy("0.25", vat="10"), parking("2.00", 900, vat="20")
            )
        ),
        _stopped_then_idle_until_available(),
        {"FLAT#0": "0.50", "ENERGY#0": "5.00", "PARKING_TIME#0": "1.50"},
        "7.00",
        "7.90",
        {"PARKING_TIME#0": "2700"},
    ),
    # --- time of day
    Case(
        "time of day: session 21:30-22:30 enters a 22:00-06:00 window",
        NIGHT_ENERGY,
        minutes(f"{MONDAY} 21:30", [600] * 60),
        {"ENERGY#1": "5.40", "ENERGY#0": "1.80"},
        "7.20",
    ),
    Case(
        "time of day: session 05:30-06:30 leaves a 22:00-06:00 window",
        NIGHT_ENERGY,
        minutes(f"{MONDAY} 05:30", [600] * 60),
        {"ENERGY#0": "1.80", "ENERGY#1": "5.40"},
        "7.20",
    ),
    Case(
        "time of day: session 23:00-01:00 stays inside a window wrapping midnight",
        NIGHT_ENERGY,
        minutes(f"{MONDAY} 23:00", [600] * 120),
        {"ENERGY#0": "7.20"},
        "7.20",
    ),
    Case(
        "time of day: only start_time means until midnight",
        tariff(element(energy("0.10"), start_time="23:00"), element(energy("0.30"))),
        minutes(f"{MONDAY} 22:30", [1000] * 60),
        {"ENERGY#1": "9.00", "ENERGY#0": "3.00"},
        "12.00",
    ),
    # --- day of week
    Case(
        "day of week: Sunday 23:30 -> Monday 00:30 leaves a weekend price",
        tariff(element(charging_time("1.00"), day_of_week=WEEKEND), element(charging_time("2.00"))),
        minutes("2024-06-09 23:30", [100] * 60),
        {"TIME#0": "0.50", "TIME#1": "1.00"},
        "1.50",
    ),
    Case(
        "day of week and a midnight window: each minute's own day decides (Fri 23-Sat 01)",
        tariff(
            element(
                energy("0.10"),
                start_time="22:00",
                end_time="06:00",
                day_of_week=frozenset([DayOfWeek.FRIDAY]),
            ),
            element(energy("0.30")),
        ),
        minutes("2024-06-07 23:00", [1000] * 120),
        {"ENERGY#0": "6.00", "ENERGY#1": "18.00"},
        "24.00",
    ),
    # --- dates
    Case(
        "dates: promotion ends at end_date (exclusive), session crosses it",
        tariff(
            element(energy("0.10"), start_date="2024-06-01", end_date="2024-07-01"),
            element(energy("0.30")),
        ),
        minutes("2024-06-30 23:30", [1000] * 60),
        {"ENERGY#0": "3.00", "ENERGY#1": "9.00"},
        "12.00",
    ),
    Case(
        "dates: before start_date the element is inactive",
        tariff(element(energy("0.10"), start_date="2024-06-01"), element(energy("0.30"))),
        minutes("2024-05-31 23:50", [1000] * 20),
        {"ENERGY#1": "3.00", "ENERGY#0": "1.00"},
        "4.00",
    ),
    # --- kWh
    Case(
        "max_kwh: first kWh free, then 0.20/kWh (OCPI)",
        tariff(element(energy("0.00"), max_kwh="1"), element(energy("0.20"))),
        minutes(f"{MONDAY} 10:00", [100] * 20),
        {"ENERGY#0": "0.00", "ENERGY#1": "0.20"},
        "0.20",
        quantities={"ENERGY#0": "1000", "ENERGY#1": "1000"},
    ),
    Case(
        "min_kwh: from 10 kWh on, 0.40/kWh",
        tariff(element(energy("0.40"), min_kwh="10"), element(energy("0.20"))),
        minutes(f"{MONDAY} 10:00", [1000] * 15),
        {"ENERGY#1": "2.00", "ENERGY#0": "2.00"},
        "4.00",
    ),
    # --- power, current
    Case(
        "power: <16 kW 0.20, 16-32 kW 0.35, above 0.50 (OCPI max_power example)",
        tariff(
            element(energy("0.20"), max_power="16"),
            element(energy("0.35"), min_power="16", max_power="32"),
            element(energy("0.50")),
        ),
        join(
            a := minutes(f"{MONDAY} 10:00", [100] * 10),
            b := minutes(after(a), [800] * 50),
            minutes(after(b), [50] * 10),
        ),
        {"ENERGY#0": "0.30", "ENERGY#2": "20.00"},
        "20.30",
    ),
    Case(
        "power: max_power is exclusive (exactly 12 kW takes the fallback)",
        tariff(element(energy("0.10"), max_power="12"), element(energy("0.30"))),
        join(a := minutes(f"{MONDAY} 10:00", [200] * 10), minutes(after(a), [199] * 10)),
        {"ENERGY#1": "0.60", "ENERGY#0": "0.19"},
        "0.79",
    ),
    Case(
        "power: min_power is inclusive (exactly 12 kW is enough)",
        tariff(element(energy("0.10"), min_power="12"), element(energy("0.30"))),
        join(a := minutes(f"{MONDAY} 10:00", [200] * 10), minutes(after(a), [199] * 10)),
        {"ENERGY#0": "0.20", "ENERGY#1": "0.59"},
        "0.79",
    ),
    Case(
        "current: OCPI complex tariff, Monday 09:30, 16 A, 147 min + 42 min parked",
        OCPI_COMPLEX,
        _complex_monday(),
        {"FLAT#0": "2.50", "TIME#1": "2.50", "PARKING_TIME#4": "3.75"},
        "8.75",
        "9.99",
        {"TIME#1": "9000", "PARKING_TIME#4": "2700"},
    ),
    Case(
        "current: OCPI complex tariff, Saturday 13:30, 43 A, 114 min + 71 min parked",
        OCPI_COMPLEX,
        _complex_saturday(),
        {"FLAT#0": "2.50", "TIME#3": "2.50", "PARKING_TIME#5": "7.50"},
        "12.50",
        "14.12",
        {"TIME#3": "7200", "PARKING_TIME#5": "4500"},
    ),
    Case(
        "current: unknown current never satisfies a current restriction",
        tariff(element(charging_time("1.00"), max_current="32"), element(charging_time("2.00"))),
        minutes(f"{MONDAY} 10:00", [100] * 60),
        {"TIME#1": "2.00"},
        "2.00",
    ),
    Case(
        "current: max_current exclusive, min_current inclusive",
        tariff(
            element(charging_time("1.00"), max_current="32"),
            element(charging_time("3.00"), min_current="32"),
            element(charging_time("9.00")),
        ),
        join(
            a := minutes(f"{MONDAY} 10:00", [100] * 30, current_a="31.9"),
            minutes(after(a), [100] * 30, current_a=32),
        ),
        {"TIME#0": "0.50", "TIME#1": "1.50"},
        "2.00",
    ),
    # --- duration
    Case(
        "duration: first 30 min free, 0.25 until 60 min, then 0.40 (OCPI supermarket)",
        tariff(
            element(energy("0.00"), max_duration=1800),
            element(energy("0.25"), max_duration=3600),
            element(energy("0.40")),
        ),
        join(
            a := minutes(f"{MONDAY} 10:00", ["166.667"] * 29 + ["166.657"]),
            minutes(after(a), [120] * 10),
        ),
        {"ENERGY#0": "0.00", "ENERGY#1": "0.30"},
        "0.30",
    ),
    Case(
        "duration: min_duration inclusive, from the minute starting at 30:00",
        tariff(element(charging_time("6.00"), min_duration=1800), element(charging_time("0.00"))),
        minutes(f"{MONDAY} 10:00", [100] * 40),
        {"TIME#1": "0.00", "TIME#0": "1.00"},
        "1.00",
        quantities={"TIME#1": "1800", "TIME#0": "600"},
    ),
    # --- steps when switching elements (OCPI step_size examples, tariff_14)
    Case(
        "steps: switching element #1, 16:55 + 10 min charging (OCPI: 0.50)",
        OCPI_STEP_SWITCH,
        _step_switch("16:55", 10, 0),
        {"TIME#0": "0.10", "TIME#1": "0.40"},
        "0.50",
        quantities={"TIME#0": "300", "TIME#1": "600"},
    ),
    Case(
        "steps: switching element #2, 16:35 + 35 min charging (OCPI: 1.30)",
        OCPI_STEP_SWITCH,
        _step_switch("16:35", 35, 0),
        {"TIME#0": "0.50", "TIME#1": "0.80"},
        "1.30",
        quantities={"TIME#0": "1500", "TIME#1": "1200"},
    ),
    Case(
        "steps: switching to a free-of-parking element, 19:55 + 10 min + 2 parked (OCPI: 0.60)",
        OCPI_STEP_SWITCH,
        _step_switch("19:55", 10, 2),
        {"TIME#1": "0.20", "TIME#2": "0.40"},
        "0.60",
    ),
    Case(
        "steps: parking rounded on its own, not absorbed by the time step (see README)",
        OCPI_STEP_SWITCH,
        _step_switch("16:55", 10, 2),
        {"TIME#0": "0.10", "TIME#1": "0.40", "PARKING_TIME#1": "0.25"},
        "0.75",
    ),
    Case(
        "steps: a dimension that becomes free closes its step, re-opened later",
        tariff(
            element(parking("6.00", 900), start_time="09:00", end_time="18:00"),
            element(parking("6.00", 900), start_time="18:10", end_time="20:00"),
        ),
        join(c := minutes(f"{MONDAY} 17:00", [100] * 40), idle(after(c), 40)),
        {"PARKING_TIME#0": "3.00", "PARKING_TIME#1": "1.50"},
        "4.50",
        quantities={"PARKING_TIME#0": "1800", "PARKING_TIME#1": "900"},
    ),
    # --- gaps
    Case(
        "gap: 3000 Wh reported once for 30 min is spread evenly across a price change",
        tariff(element(energy("0.20"), end_time="10:16"), element(energy("0.40"))),
        _gap_spread(),
        {"ENERGY#0": "0.32", "ENERGY#1": "0.60"},
        "0.92",
        quantities={"ENERGY#0": "1600", "ENERGY#1": "1500"},
    ),
    # --- rounding, currencies, VAT
    Case(
        "rounding down per component: 0.505 + 0.333 + 0.1166... -> 0.50 + 0.33 + 0.11",
        tariff(element(flat("0.505"), energy("0.333"), charging_time("1.00"))),
        minutes(f"{MONDAY} 10:00", [143] * 6 + [142]),
        {"FLAT#0": "0.50", "ENERGY#0": "0.33", "TIME#0": "0.11"},
        "0.94",
        "1.12",
    ),
    Case(
        "VAT is rounded down too: 1.25 at 10% -> 0.12",
        tariff(element(energy("0.25")), vat="10"),
        minutes(f"{MONDAY} 10:00", [500] * 10),
        {"ENERGY#0": "1.25"},
        "1.25",
        "1.37",
    ),
    Case(
        "JPY has no minor unit: 351.75 -> 351, VAT 35.1 -> 35",
        tariff(element(energy("33.5")), currency="JPY", vat="10"),
        minutes(f"{MONDAY} 10:00", [1050] * 10),
        {"ENERGY#0": "351"},
        "351",
        "386",
    ),
    Case(
        "KWD has 3 minor digits: 0.76255 -> 0.762",
        tariff(element(energy("0.0755")), currency="KWD", vat="0"),
        minutes(f"{MONDAY} 10:00", [1010] * 10),
        {"ENERGY#0": "0.762"},
        "0.762",
        "0.762",
    ),
    # --- daylight saving time, Europe/Paris
    Case(
        "DST autumn: 02:00-03:00 happens twice on 2024-10-27, both hours priced at night",
        tariff(
            element(charging_time("1.00"), start_time="02:00", end_time="03:00"),
            element(charging_time("3.00")),
        ),
        minutes(datetime(2024, 10, 27, 0, 0, tzinfo=UTC), [100] * 120),
        {"TIME#0": "2.00"},
        "2.00",
        quantities={"TIME#0": "7200"},
    ),
    Case(
        "DST spring: 02:00-03:00 does not exist on 2024-03-31",
        tariff(
            element(charging_time("1.00"), start_time="02:00", end_time="03:00"),
            element(charging_time("3.00")),
        ),
        minutes(datetime(2024, 3, 31, 0, 30, tzinfo=UTC), [100] * 60),
        {"TIME#1": "3.00"},
        "3.00",
    ),
    Case(
        "DST autumn: durations are real time (01:30 -> 03:30 local is 3 hours)",
        tariff(element(charging_time("1.00"), max_duration=7200), element(charging_time("3.00"))),
        minutes(local("2024-10-27 01:30"), [100] * 180),
        {"TIME#0": "2.00", "TIME#1": "3.00"},
        "5.00",
    ),
    Case(
        "time zone: restrictions are read in the site's zone (Tokyo)",
        tariff(
            element(energy("10"), start_time="22:00", end_time="06:00"),
            element(energy("30")),
            currency="JPY",
        ),
        minutes(datetime(2024, 6, 3, 12, 30, tzinfo=UTC), [1000] * 60),  # 21:30 in Tokyo
        {"ENERGY#1": "900", "ENERGY#0": "300"},
        "1200",
        zone="Asia/Tokyo",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_rule(case: Case) -> None:
    price = price_session(case.tariff, case.profile, case.zone)

    assert amounts(price) == case.amounts
    assert price.total_excl_vat == Decimal(case.total_excl_vat)
    assert str(price.total_excl_vat) == case.total_excl_vat  # the currency's minor digits
    if case.total_incl_vat is not None:
        assert price.total_incl_vat == Decimal(case.total_incl_vat)
    for key, quantity in case.quantities.items():
        assert quantities(price)[key] == quantity
    assert price.curve[-1].total_excl_vat == price.total_excl_vat
    assert price.total_incl_vat == price.total_excl_vat + price.total_vat


def test_a_line_explains_itself() -> None:
    price = price_session(
        tariff(
            element(
                flat("0.50", vat="20"), energy("0.25", vat="10"), parking("2.00", 900, vat="20")
            )
        ),
        _stopped_then_idle_until_available(),
        "Europe/Paris",
    )
    flat_line, energy_line, parking_line = price.lines
    assert [line.dimension for line in price.lines] == [
        TariffDimension.FLAT,
        TariffDimension.ENERGY,
        TariffDimension.PARKING_TIME,
    ]
    assert (flat_line.quantity, flat_line.unit, flat_line.unit_price) == (1, "session", D("0.50"))
    assert (energy_line.quantity, energy_line.unit, energy_line.unit_price) == (
        D("20"),
        "kWh",
        D("0.25"),
    )
    assert (energy_line.amount_excl_vat, energy_line.vat_percent, energy_line.vat) == (
        D("5.00"),
        D("10"),
        D("0.50"),
    )
    assert energy_line.amount_incl_vat == D("5.50")
    assert (parking_line.quantity, parking_line.unit, parking_line.step_size) == (
        D("0.75"),
        "h",
        900,
    )
    assert (parking_line.base_quantity, parking_line.base_unit) == (D(2700), "s")
    assert (price.total_excl_vat, price.total_vat, price.total_incl_vat) == (
        D("7.00"),
        D("0.90"),
        D("7.90"),
    )


def test_cost_curve_grows_minute_by_minute_and_each_point_prices_the_session_so_far() -> None:
    profile = join(c := minutes(f"{MONDAY} 17:00", [500] * 30), idle(after(c), 20))
    the_tariff = tariff(element(flat("1.00"), energy("0.30"), parking("6.00", 300)))
    price = price_session(the_tariff, profile, "Europe/Paris")

    assert len(price.curve) == 50
    assert price.curve[0].at == local(f"{MONDAY} 17:01")
    assert price.curve[0].total_excl_vat == D("1.15")  # flat + 500 Wh
    assert price.curve[29].total_excl_vat == D("5.50")  # flat + 15 kWh
    assert price.curve[30].total_excl_vat == D("6.00")  # + 1 parked minute billed as 5
    assert price.curve[-1].total_excl_vat == price.total_excl_vat == D("7.50")
    for count, point in enumerate(price.curve, start=1):
        assert point == price_session(the_tariff, profile.prefix(count), "Europe/Paris").curve[-1]


def test_ocpi_step_switch_is_the_one_way_the_cost_can_go_down() -> None:
    """OCPI's own example: ended at 17:00 the session costs 30 min at 1.20 (step 30 min);
    continued 5 more minutes at 2.40 (step 15 min) it costs 0.50. The engine follows OCPI."""
    price = price_session(OCPI_STEP_SWITCH, _step_switch("16:55", 10, 0), "Europe/Paris")
    assert [point.total_excl_vat for point in price.curve[4:6]] == [D("0.60"), D("0.50")]


def test_empty_profile_costs_nothing() -> None:
    price = price_session(
        tariff(element(flat("1.00"))), SessionProfile(local(f"{MONDAY} 10:00")), "Europe/Paris"
    )
    assert (price.lines, price.curve, price.total_incl_vat) == ((), (), D("0.00"))


def _price(t: Tariff, profile: SessionProfile) -> Price:
    return price_session(t, profile, "Europe/Paris")


def test_a_long_session_prices_quickly() -> None:
    """Two days of minutes, every minute on the cost curve, in well under a second or two."""
    import time

    profile = join(c := minutes(f"{MONDAY} 00:00", [100] * 1440), idle(after(c), 1440))
    begin = time.perf_counter()
    price = _price(OCPI_COMPLEX, profile)
    assert len(price.curve) == 2880
    assert time.perf_counter() - begin < 5
