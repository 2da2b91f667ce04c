"""Tariffs through GraphQL: writing by scope, field-named validation errors, preview, and a
session's tariff, cost and cost curve for its driver."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.domain.charging import Charging, Reading, StartRequest, StopRequest
from tests.billing.conftest import Place
from tests.billing.test_session_costs import T0
from tests.conftest import Api

CREATE = """mutation($input: TariffInput!) { createTariff(input: $input) {
  id name scope siteId vatPercent elements { priceComponents { type price stepSize }
  restrictions { startTime endTime dayOfWeek } } } }"""


def tariff_input(**kw: Any) -> dict[str, Any]:
    return {
        "name": "Night and day",
        "currency": "EUR",
        "vatPercent": "20",
        "elements": [
            {
                "priceComponents": [{"type": "ENERGY", "price": "0.20"}],
                "restrictions": {"startTime": "22:00", "endTime": "06:00"},
            },
            {
                "priceComponents": [
                    {"type": "ENERGY", "price": "0.30"},
                    {"type": "PARKING_TIME", "price": "6", "stepSize": 900},
                ]
            },
        ],
        **kw,
    }


async def test_site_admin_writes_their_site_and_errors_name_fields(api: Api, place: Place) -> None:
    token = place.site_admin.token
    mine = tariff_input(scope="STATION", targetId=str(place.station_id))
    created = (await api.ok(CREATE, {"input": mine}, token=token))["createTariff"]
    assert created["scope"] == "STATION" and created["siteId"] == str(place.site_id)
    assert created["elements"][0]["restrictions"]["startTime"] == "22:00"
    other = tariff_input(scope="SITE", targetId=str(place.other_site_id))
    assert (await api.error(CREATE, {"input": other}, token=token))["code"] == "FORBIDDEN"
    bad = tariff_input(scope="SITE", targetId=str(place.site_id))
    bad["elements"][1]["priceComponents"][1]["price"] = "-1"
    error = await api.error(CREATE, {"input": bad}, token=token)
    assert error["field"] == "elements[1].priceComponents[1].price"
    bad = tariff_input(scope="SITE", targetId=str(place.site_id))
    bad["elements"][0]["restrictions"]["endTime"] = "22:00"
    error = await api.error(CREATE, {"input": bad}, token=token)
    assert error["field"].startswith("elements[0].restrictions")
    error = await api.error(CREATE, {"input": tariff_input(currency="euro")}, token=token)
    assert error["code"] == "FORBIDDEN"  # the organization's tariff: admins only
    error = await api.error(
        CREATE, {"input": tariff_input(currency="euro")}, token=place.admin.token
    )
    assert error["field"] == "currency"

    # Drivers read the tariffs of their site; a member of another site does not.
    query = "{ tariffs { totalCount edges { node { name } } } }"
    assert (await api.ok(query, token=place.driver.token))["tariffs"]["totalCount"] == 1
    assert (await api.ok(query, token=place.stranger.token))["tariffs"]["totalCount"] == 0

    retired = await api.ok(
        "mutation($id: ID!) { retireTariff(id: $id) { retiredAt validUntil } }",
        {"id": created["id"]},
        token=token,
    )
    assert retired["retireTariff"]["retiredAt"] is not None


async def test_preview(api: Api, place: Place) -> None:
    query = """mutation($t: TariffInput, $id: ID, $p: SessionProfileInput!) {
      previewTariff(tariff: $t, tariffId: $id, profile: $p) {
        currency totalExclVat totalVat totalInclVat lines { dimension quantity unit unitPrice
        amountExclVat vat amountInclVat } } }"""
    # 23:00 in Paris, 1 hour, 10 kWh, then 30 minutes idle: night energy, parking in 2 steps.
    profile = {
        "startedAt": "2026-03-04T22:00:00Z",
        "durationMinutes": 60,
        "energyWh": 10_000,
        "idleMinutesAfter": 20,
        "siteTimeZone": "Europe/Paris",
    }
    price = (await api.ok(query, {"t": tariff_input(), "p": profile}, token=place.driver.token))[
        "previewTariff"
    ]
    lines = {line["dimension"]: line for line in price["lines"]}
    assert lines["ENERGY"]["amountExclVat"] == "2.00" and lines["ENERGY"]["quantity"] == "10"
    assert lines["PARKING_TIME"]["quantity"] == "0.5000"  # 20 min rounded up to 2 x 15 min
    assert lines["PARKING_TIME"]["amountExclVat"] == "3.00"
    assert (price["totalExclVat"], price["totalVat"], price["totalInclVat"]) == (
        "5.00",
        "1.00",
        "6.00",
    )
    error = await api.error(
        query,
        {"t": tariff_input(), "p": {**profile, "siteTimeZone": "Mars/Olympus"}},
        token=place.driver.token,
    )
    assert error["field"] == "profile.siteTimeZone"


async def test_session_cost_for_its_driver(api: Api, place: Place, sessionmaker: Any) -> None:
    await api.ok(CREATE, {"input": tariff_input()}, token=place.admin.token)
    async with sessionmaker() as db:
        charging = Charging(db)
        started = await charging.sessions.start(
            place.station_id,
            StartRequest(
                evse_id=1, connector_number=1, started_at=T0, meter_start_wh=0, id_tag=None
            ),
        )
        await charging.sessions.record_readings(
            place.station_id,
            [Reading(at=T0 + timedelta(minutes=m), energy_wh=m * 1000) for m in range(1, 11)],
            transaction_id=started.transaction_id,
        )
        await charging.sessions.stop(
            place.station_id,
            started.transaction_id,
            StopRequest(stopped_at=T0 + timedelta(minutes=10), meter_stop_wh=10_000),
        )
        from backend.db.models import ChargingSession

        charge = await db.get(ChargingSession, started.session_id)
        assert charge is not None
        charge.user_id = place.driver.id
        await db.commit()
    query = """query($id: ID!) { session(id: $id) { tariff { name elements { priceComponents
      { type price } } } cost { currency totalInclVat final pricedUntil lines { dimension
      quantity amountExclVat } } costCurve(maxPoints: 5) { at totalExclVat totalInclVat } } }"""
    data = await api.ok(query, {"id": str(started.session_id)}, token=place.driver.token)
    session = data["session"]
    assert session["tariff"]["name"] == "Night and day"
    assert session["cost"]["totalInclVat"] == "3.60"  # 10 kWh x 0.30 x 1.2
    assert session["cost"]["final"] is False  # the connector is not free yet
    curve = session["costCurve"]
    assert len(curve) == 5 and curve[-1]["totalInclVat"] == "3.60"
    totals = [float(p["totalInclVat"]) for p in curve]
    assert totals == sorted(totals)
    hidden = await api(query, {"id": str(started.session_id)}, token=place.stranger.token)
    assert hidden["data"]["session"] is None
