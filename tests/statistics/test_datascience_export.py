"""The anonymized data-science export: nothing that names anyone, stable pseudonyms, objectors
left out, and values checked by hand against `tests/statistics/world.py`."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from backend.db.models import AuditEntry, BillingState, ChargingSession, Site
from backend.domain.anonymize import anonymized_value, pseudonym
from backend.domain.datascience_export import COLUMNS, Pseudonyms
from backend.domain.mailer import Mailer
from backend.domain.privacy.erasure import Erasure
from backend.settings import Settings
from tests.statistics.world import SESSIONS, StatsWorld, build_stats_world

SECRET = "test-secret-key"  # the `settings` fixture's
CSV_URL = "/export/datascience/sessions.csv"
JSONL_URL = "/export/datascience/sessions.jsonl"


@pytest.fixture
async def world(sessionmaker: Any, make_user: Any) -> StatsWorld:
    return await build_stats_world(sessionmaker, make_user)


async def _get(client: httpx.AsyncClient, url: str, token: str | None, **params: str) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await client.get(url, params=params, headers=headers)


async def _csv_rows(client: httpx.AsyncClient, token: str, **params: str) -> list[dict[str, str]]:
    response = await _get(client, CSV_URL, token, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def _forbidden_strings(world: StatsWorld) -> list[str]:
    """Everything that names a person, a session, a place or an exact time in the world."""
    needles = [v for identity in world.identities.values() for v in identity.values()]
    needles += ["Alpha", "Beta", "CS-1", "CS-2", "CS-3", "SERIAL-", "UNKNOWN-BADGE-9"]
    needles += [str(i) for i in world.sessions.values()]
    needles += [str(i) for i in (world.alpha, world.beta, world.cs1, world.cs2, world.cs3)]
    needles += [str(world.area_a1), str(world.area_b1)]
    needles += ["45.188529", "5.724524", "48.137154", "11.576124"]
    for _, _, start, stop, *_ in SESSIONS.values():
        for moment in (start, stop):
            needles += [moment.isoformat(), moment.strftime("%H:%M:%S"), moment.strftime("%H:%M")]
    # The badge numbers and ids the demo pseudonyms would give: the export must not match them.
    for person in (world.dora, world.otto, world.olga):
        needles += [
            pseudonym(SECRET, "person", person.id),
            anonymized_value(SECRET, "uid", person.id),
        ]
    return needles


async def test_no_direct_identifier_in_either_format(
    client: httpx.AsyncClient, world: StatsWorld
) -> None:
    for url in (CSV_URL, JSONL_URL):
        response = await _get(client, url, world.ann.token)
        assert response.status_code == 200
        text = response.text.lower()
        found = [n for n in _forbidden_strings(world) if n.lower() in text]
        assert found == [], url


async def test_rows_checked_by_hand(client: httpx.AsyncClient, world: StatsWorld) -> None:
    rows = await _csv_rows(client, world.ann.token)
    assert list(rows[0]) == list(COLUMNS)
    # Otto restricted processing, Olga objected to exports: sessions 1, 2, 3 and 6 remain.
    ps = Pseudonyms(SECRET)
    refs = {ps("session", world.sessions[n]): n for n in (1, 2, 3, 6)}
    assert {r["session_ref"] for r in rows} == set(refs)
    by_number = {refs[r["session_ref"]]: r for r in rows}
    dora = ps("user", world.dora.id)
    assert by_number[2] == {
        "session_ref": ps("session", world.sessions[2]),
        "user_ref": dora,
        "card_ref": ps("card", "DORA-CARD-0001"),
        "site_ref": ps("site", world.alpha),
        "site_area_ref": ps("site_area", world.area_a1),
        "station_ref": ps("station", world.cs2),
        "site_lat": "45.19",
        "site_lon": "5.72",
        "site_timezone": "Europe/Paris",
        # 23:05:30 → 02:05:30 with an hour idle: 180 min connected, 120 charging.
        "started_hour": "2026-03-01T23:00:00+00:00",
        "duration_min": "180",
        "charging_min": "120",
        "inactivity_min": "60",
        "energy_wh": "15000",
        "cost_currency": "EUR",
        "cost_excl_vat_minor": "450",
        "cost_incl_vat_minor": "540",
        "stop_reason": "Local",
    }
    assert (by_number[3]["site_lat"], by_number[3]["site_lon"]) == ("48.14", "11.58")
    assert by_number[3]["started_hour"] == "2026-03-15T08:00:00+00:00"
    assert by_number[3]["duration_min"] == "90"
    # A badge nobody owns: no driver, the badge's pseudonym; no tariff: no cost.
    assert by_number[6]["user_ref"] == ""
    assert by_number[6]["card_ref"] == ps("card", "UNKNOWN-BADGE-9")
    assert by_number[6]["cost_currency"] == "" and by_number[6]["duration_min"] == "30"
    # One driver, one pseudonym; oldest hour first.
    assert [by_number[n]["user_ref"] for n in (1, 2, 3)] == [dora] * 3
    assert [refs[r["session_ref"]] for r in rows] == [1, 2, 3, 6]


async def test_jsonl_has_the_same_rows_typed(client: httpx.AsyncClient, world: StatsWorld) -> None:
    response = await _get(client, JSONL_URL, world.ann.token)
    assert response.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert len(rows) == 4
    second = next(r for r in rows if r["energy_wh"] == 15_000)
    assert (second["duration_min"], second["site_lat"], second["cost_incl_vat_minor"]) == (
        180,
        45.19,
        540,
    )
    unknown = next(r for r in rows if r["energy_wh"] == 1_000)
    assert unknown["user_ref"] is None and unknown["cost_currency"] is None
    csv_rows = await _csv_rows(client, world.ann.token)
    assert [r["session_ref"] for r in rows] == [r["session_ref"] for r in csv_rows]


async def test_pseudonyms_are_stable_across_exports_and_filters(
    client: httpx.AsyncClient, world: StatsWorld
) -> None:
    first = (await _get(client, CSV_URL, world.ann.token)).text
    second = (await _get(client, CSV_URL, world.ann.token)).text
    assert first == second
    march_at_beta = await _csv_rows(
        client,
        world.ann.token,
        **{"from": "2026-03-02T00:00:00Z", "to": "2026-04-01T00:00:00Z"},
        siteId=str(world.beta),
    )
    assert [r["energy_wh"] for r in march_at_beta] == ["5000"]
    assert march_at_beta[0]["user_ref"] == Pseudonyms(SECRET)("user", world.dora.id)


async def test_a_new_objection_removes_the_rows(
    client: httpx.AsyncClient, world: StatsWorld, sessionmaker: Any
) -> None:
    from backend.db.models import User

    async with sessionmaker() as db:
        await db.execute(
            update(User).where(User.id == world.dora.id).values(objections=["data_science_export"])
        )
        await db.commit()
    rows = await _csv_rows(client, world.ann.token)
    assert [r["energy_wh"] for r in rows] == ["1000"]


async def test_erased_drivers_keep_only_their_pseudonym(
    client: httpx.AsyncClient, world: StatsWorld, sessionmaker: Any, settings: Settings
) -> None:
    before = await _csv_rows(client, world.ann.token)
    async with sessionmaker() as db:
        await db.execute(
            update(ChargingSession)
            .where(ChargingSession.user_id == world.dora.id)
            .values(billing_state=BillingState.NOT_BILLABLE)
        )
        await db.commit()
    result = await Erasure(sessionmaker, settings, Mailer(settings)).erase(
        world.dora.id, actor_id=world.ann.id, reason="request"
    )
    assert result is not None and result.sessions == 3
    after = await _csv_rows(client, world.ann.token)
    assert len(after) == len(before) == 4
    dora = Pseudonyms(SECRET)("user", world.dora.id)
    assert sum(1 for r in after if r["user_ref"] == dora) == 3
    # Still nothing about her, not even the erased account's own pseudonym.
    text = (await _get(client, CSV_URL, world.ann.token)).text
    assert result.pseudonym.lower() not in text.lower()
    assert "dora" not in text.lower()


async def test_only_administrators_export(client: httpx.AsyncClient, world: StatsWorld) -> None:
    assert (await _get(client, CSV_URL, None)).status_code == 401
    for person in (world.dora, world.sam, world.dee):
        for url in (CSV_URL, JSONL_URL):
            assert (await _get(client, url, person.token)).status_code == 403
    bad = await _get(client, CSV_URL, world.ann.token, **{"from": "yesterday"})
    assert bad.status_code == 400 and "from" in bad.json()["error"]
    backwards = await _get(
        client,
        CSV_URL,
        world.ann.token,
        **{"from": "2026-04-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
    )
    assert backwards.status_code == 400


async def test_each_download_is_audited(
    client: httpx.AsyncClient, world: StatsWorld, sessionmaker: Any
) -> None:
    await _get(client, JSONL_URL, world.ann.token, siteId=str(world.alpha))
    async with sessionmaker() as db:
        entries = list(
            await db.scalars(select(AuditEntry).where(AuditEntry.action == "datascience.export"))
        )
        site = await db.get(Site, world.alpha)
    assert len(entries) == 1
    assert entries[0].actor_user_id == world.ann.id
    assert entries[0].details["format"] == "jsonl"
    assert entries[0].details["site_id"] == str(world.alpha)
    assert site is not None and site.name not in json.dumps(entries[0].details)
