"""Tariffs chosen and frozen at the start; sessions priced as readings arrive, at the stop and
when the connector is Available again; the same numbers as the pure engine on the samples."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from backend.db.models import ChargingSession, MeterSample, TariffScope
from backend.domain.billing.costs import SessionCosts, from_minor
from backend.domain.billing.tariffs import TariffData, Tariffs, snapshot_tariff
from backend.domain.charging import Charging, Reading, StartRequest, StopRequest
from backend.pricing import MeterSample as PricedSample
from backend.pricing import build_profile, price_session
from tests.billing.conftest import Place

T0 = datetime(2026, 3, 4, 9, 0, 7, tzinfo=UTC)  # a Wednesday, 10:00 in Paris


def energy(price: str, step: int = 1) -> dict[str, Any]:
    return {"type": "ENERGY", "price": price, "step_size": step}


PARKING = {"type": "PARKING_TIME", "price": "6", "step_size": 60}
FLAT = {"type": "FLAT", "price": "1"}


def data(name: str, *components: dict[str, Any], **kw: Any) -> TariffData:
    return TariffData(
        name=name,
        currency="EUR",
        vat_percent="20",
        elements=[{"price_components": list(components)}],
        **kw,
    )


async def start(db: Any, place: Place, at: datetime = T0) -> tuple[Charging, Any]:
    charging = Charging(db)
    result = await charging.sessions.start(
        place.station_id,
        StartRequest(evse_id=1, connector_number=1, started_at=at, meter_start_wh=0, id_tag=None),
    )
    return charging, result


async def load(sessionmaker: Any, session_id: Any) -> tuple[ChargingSession, list[MeterSample]]:
    async with sessionmaker() as db:
        charge = await db.get(ChargingSession, session_id)
        samples = list(
            await db.scalars(
                select(MeterSample)
                .where(MeterSample.session_id == session_id)
                .order_by(MeterSample.sampled_at)
            )
        )
        return charge, samples


def independent_price(charge: ChargingSession, samples: list[MeterSample]) -> Any:
    """`price_session` on the session's samples, from scratch."""
    assert charge.tariff_snapshot is not None
    points = [
        PricedSample(s.sampled_at, Decimal(s.session_energy_wh))
        for s in samples
        if s.session_energy_wh is not None
    ]
    if charge.stopped_at is not None:
        points = [p for p in points if p.at != charge.stopped_at]
        points.append(PricedSample(charge.stopped_at, Decimal(charge.energy_wh)))
    profile = build_profile(
        started_at=charge.started_at,
        samples=points,
        meter_start_wh=Decimal(0),
        stopped_at=charge.stopped_at,
        available_at=charge.available_at,
        now=None if charge.stopped_at else points[-1].at,
    )
    return price_session(
        snapshot_tariff(charge.tariff_snapshot), profile, charge.tariff_snapshot["time_zone"]
    )


async def test_most_specific_then_newest_is_frozen(sessionmaker: Any, place: Place) -> None:
    async with sessionmaker() as db:
        tariffs = Tariffs(db)
        await tariffs.create(place.admin_viewer, data("Org", energy("0.40")))
        await tariffs.create(
            place.admin_viewer,
            data("Site", energy("0.35"), scope=TariffScope.SITE, target_id=place.site_id),
        )
        area_old = await tariffs.create(
            place.site_admin_viewer,
            data("Area old", energy("0.30"), scope=TariffScope.SITE_AREA, target_id=place.area_id),
        )
        area_new = await tariffs.create(
            place.site_admin_viewer,
            data("Area new", energy("0.20"), scope=TariffScope.SITE_AREA, target_id=place.area_id),
        )
        # Newer but not valid yet at the start: does not apply.
        await tariffs.create(
            place.admin_viewer,
            data(
                "Area later",
                energy("0.10"),
                scope=TariffScope.SITE_AREA,
                target_id=place.area_id,
                valid_from=T0 + timedelta(hours=1),
            ),
        )
        # A retired station tariff: no longer applies.
        station = await tariffs.create(
            place.admin_viewer,
            data("Station", energy("0.05"), scope=TariffScope.STATION, target_id=place.station_id),
        )
        await tariffs.retire(place.admin_viewer, station.id, at=T0 - timedelta(minutes=1))
        charging, started = await start(db, place)
        area_new_id, area_old_id = area_new.id, area_old.id

    charge, _ = await load(sessionmaker, started.session_id)
    assert charge.tariff_id == area_new_id != area_old_id
    assert charge.tariff_snapshot is not None
    assert charge.tariff_snapshot["name"] == "Area new"
    assert charge.tariff_snapshot["time_zone"] == "Europe/Paris"

    # Edited after the start: the running session keeps the copy it froze.
    async with sessionmaker() as db:
        await Tariffs(db).update(
            place.site_admin_viewer,
            area_new_id,
            data("Area new", energy("9.99"), scope=TariffScope.SITE_AREA, target_id=place.area_id),
        )
        charging = Charging(db)
        await charging.sessions.record_readings(
            place.station_id,
            [Reading(at=T0 + timedelta(minutes=10), energy_wh=10_000)],
            transaction_id=started.transaction_id,
        )
    charge, samples = await load(sessionmaker, started.session_id)
    assert charge.tariff_snapshot is not None
    assert charge.tariff_snapshot["elements"][0]["price_components"][0]["price"] == "0.20"
    assert charge.cost_currency == "EUR"
    assert charge.cost_excl_vat_minor == 200  # 10 kWh x 0.20
    assert charge.cost_incl_vat_minor == 240
    assert samples[-1].cost_incl_vat_minor == 240


async def test_cost_per_sample_final_lines_and_parking_until_available(
    sessionmaker: Any, place: Place
) -> None:
    async with sessionmaker() as db:
        await Tariffs(db).create(place.admin_viewer, data("Org", FLAT, energy("0.25"), PARKING))
        _, started = await start(db, place)
    # One reading a minute (plus one mid-minute), each in its own transaction: incremental.
    for minute in range(1, 11):
        async with sessionmaker() as db:
            readings = [Reading(at=T0 + timedelta(minutes=minute), energy_wh=minute * 1000)]
            if minute == 5:
                readings.append(Reading(at=T0 + timedelta(minutes=4, seconds=30), energy_wh=4500))
            await Charging(db).sessions.record_readings(
                place.station_id, readings, transaction_id=started.transaction_id
            )
        charge, samples = await load(sessionmaker, started.session_id)
        expected = independent_price(charge, samples)
        assert charge.cost_incl_vat_minor == int(expected.total_incl_vat * 100), minute

    costs = [s.cost_incl_vat_minor or 0 for s in samples]
    assert all(s.cost_incl_vat_minor is not None for s in samples)
    assert costs == sorted(costs)  # cumulated
    assert costs[-1] == charge.cost_incl_vat_minor == 420  # (1 + 10 x 0.25) x 1.2

    stopped_at = T0 + timedelta(minutes=12)  # two idle minutes before the stop
    async with sessionmaker() as db:
        await Charging(db).sessions.stop(
            place.station_id,
            started.transaction_id,
            StopRequest(stopped_at=stopped_at, meter_stop_wh=10_000, reason="EVDisconnected"),
        )
    charge, samples = await load(sessionmaker, started.session_id)
    assert charge.available_at is None
    assert from_minor(charge.cost_excl_vat_minor or 0, "EUR") == Decimal("3.70")  # + 2 min

    # The connector is free 10 minutes after the stop: parking until then.
    async with sessionmaker() as db:
        await Charging(db).status.connector_status(
            place.station_id, 1, 1, "Available", None, stopped_at + timedelta(minutes=10)
        )
    charge, samples = await load(sessionmaker, started.session_id)
    assert charge.available_at == stopped_at + timedelta(minutes=10)
    lines = {line["dimension"]: line for line in charge.cost_lines or []}
    assert set(lines) == {"FLAT", "ENERGY", "PARKING_TIME"}
    assert lines["ENERGY"]["quantity"] == "10" and lines["ENERGY"]["amount_excl_vat"] == "2.50"
    assert lines["PARKING_TIME"]["quantity"] == "0.2000"  # 12 minutes
    assert lines["PARKING_TIME"]["amount_excl_vat"] == "1.20"
    assert lines["PARKING_TIME"]["vat"] == "0.24" and lines["PARKING_TIME"]["unit"] == "h"
    assert (charge.cost_excl_vat_minor, charge.cost_vat_minor) == (470, 94)
    assert charge.cost_incl_vat_minor == 564
    expected = independent_price(charge, samples)
    assert charge.cost_incl_vat_minor == int(expected.total_incl_vat * 100)

    # A later Available changes nothing (the session was already released).
    async with sessionmaker() as db:
        await Charging(db).status.connector_status(
            place.station_id, 1, 1, "Available", None, stopped_at + timedelta(hours=5)
        )
    again, _ = await load(sessionmaker, started.session_id)
    assert again.cost_incl_vat_minor == 564


async def test_late_readings_reprice_from_the_start(sessionmaker: Any, place: Place) -> None:
    async with sessionmaker() as db:
        await Tariffs(db).create(
            place.admin_viewer,
            TariffData(
                name="Steps",
                currency="EUR",
                vat_percent="20",
                elements=[
                    {
                        "price_components": [energy("0.5", 500), PARKING],
                        "restrictions": {"max_kwh": "3"},
                    },
                    {"price_components": [energy("0.3")]},
                ],
            ),
        )
        _, started = await start(db, place)
    order = [3, 1, 6, 2, 5, 4, 9, 7, 8]
    for minute in order:
        async with sessionmaker() as db:
            await Charging(db).sessions.record_readings(
                place.station_id,
                [Reading(at=T0 + timedelta(minutes=minute), energy_wh=minute * 700)],
                transaction_id=started.transaction_id,
            )
    charge, samples = await load(sessionmaker, started.session_id)
    expected = independent_price(charge, samples)
    assert charge.cost_incl_vat_minor == int(expected.total_incl_vat * 100)
    # The per-sample costs equal a fresh full repricing.
    before = [(s.cost_excl_vat_minor, s.cost_incl_vat_minor) for s in samples]
    async with sessionmaker() as db:
        fresh = await db.get(ChargingSession, started.session_id)
        assert fresh is not None
        await SessionCosts(db).price(fresh, full=True)
        await db.commit()
    _, samples = await load(sessionmaker, started.session_id)
    assert before == [(s.cost_excl_vat_minor, s.cost_incl_vat_minor) for s in samples]


async def test_ten_hour_session_prices_new_minutes_only(sessionmaker: Any, place: Place) -> None:
    async with sessionmaker() as db:
        await Tariffs(db).create(place.admin_viewer, data("Org", FLAT, energy("0.25"), PARKING))
        _, started = await start(db, place)
    # 10 hours of readings every 10 s, written 30 minutes at a time.
    for block in range(20):
        async with sessionmaker() as db:
            await Charging(db).sessions.record_readings(
                place.station_id,
                [
                    Reading(at=T0 + timedelta(seconds=10 * i), energy_wh=i * 20)
                    for i in range(block * 180 + 1, (block + 1) * 180 + 1)
                ],
                transaction_id=started.transaction_id,
            )
    timings = []
    for i in range(3601, 3611):
        async with sessionmaker() as db:
            begun = time.perf_counter()
            await Charging(db).sessions.record_readings(
                place.station_id,
                [Reading(at=T0 + timedelta(seconds=10 * i), energy_wh=i * 20)],
                transaction_id=started.transaction_id,
            )
            timings.append(time.perf_counter() - begun)
    async with sessionmaker() as db:
        charge = await db.get(ChargingSession, started.session_id)
        assert charge is not None
        begun = time.perf_counter()
        await SessionCosts(db).price(charge, full=True)
        full = time.perf_counter() - begun
        await db.rollback()
    charge, samples = await load(sessionmaker, started.session_id)
    expected = independent_price(charge, samples)
    assert charge.cost_incl_vat_minor == int(expected.total_incl_vat * 100)
    median = sorted(timings)[len(timings) // 2]
    print(f"10-hour session: a reading {median * 1000:.1f} ms; full repricing {full * 1000:.1f} ms")
    assert median < full / 3  # only the new minutes are priced
