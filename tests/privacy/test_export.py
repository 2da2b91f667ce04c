"""Access and portability: the person's data as one JSON file (values checked by hand), their
sessions as CSV with period and site filters, and who may download whose."""

from __future__ import annotations

import base64
import csv
import io
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import AuditEntry, ChargingSession, Role, SessionStatus
from tests.privacy.helpers import CARDS, EMAIL, OLD_NAME, PROFILE, build_everything


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_my_data_holds_everything_about_the_person(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], make_user: Any
) -> None:
    everything = await build_everything(sessionmaker, make_user)
    person = everything.person
    response = await client.get("/export/my-data.json", headers=bearer(person.token))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="personal-data-'
    )
    assert response.headers["cache-control"] == "no-store"
    data = response.json()
    assert (data["format"], data["version"]) == ("vev-iq.personal-data", 1)

    profile = data["profile"]
    assert profile["email"] == EMAIL
    assert (profile["firstName"], profile["lastName"]) == ("Héloïse", "Zyxwarth")
    assert (profile["phone"], profile["mobile"]) == (PROFILE["phone"], PROFILE["mobile"])
    assert profile["address"] == {
        "street": "17 allée des Quokkas",
        "postalCode": "QK-4417",
        "city": "Quokkaville",
        "region": "Zyxshire",
        "country": "France",
    }
    assert (profile["professionalId"], profile["costCenter"]) == ("EMP-ZX-4417", "CC-QUOKKA-9")
    assert (profile["company"], profile["department"]) == ("Quokka Analytics", "Marsupial Research")
    assert (profile["language"], profile["role"], profile["status"]) == ("fr", "basic", "active")
    assert profile["picture"]["contentType"] == "image/png"
    assert base64.b64decode(profile["picture"]["base64"]) == everything.picture
    # The file is readable as it is: accents are written as they are.
    assert "Héloïse" in response.text

    assert data["privacy"] == {
        "excludeFromAnalytics": False,
        "nonessentialNotifications": True,
        "objections": [],
        "erasureRequestedAt": None,
        "erasureWarningSentAt": None,
        "erasedAt": None,
    }
    assert [(c["policyVersion"], c["withdrawnAt"]) for c in data["consents"]] == [("2026-11", None)]
    assert [(m["site"], m["role"]) for m in data["siteMemberships"]] == [
        ("Depot Nord", "member"),
        ("Depot Sud", "member"),
    ]
    assert [(c["uid"], c["description"], c["active"]) for c in data["rfidCards"]] == [
        (CARDS[0][0], CARDS[0][1], True),
        (CARDS[1][0], None, True),
    ]
    assert sorted((v["plate"], v["vin"], v["isDefault"]) for v in data["vehicles"]) == [
        ("QK-417-ZX", "WVWZZZ1KZAW417417", True),
        ("ZX-999-QK", None, False),
    ]
    assert data["paymentMethod"] == {
        "provider": "stripe",
        "brand": "visa",
        "last4": "4242",
        "expMonth": 12,
        "expYear": 2030,
    }

    # Sessions, oldest first, with their curve summary: 4 kWh in 1 h (no samples, no tariff),
    # then 10 kWh in 2 h (samples at 7, 11 and 3 kW: max 11 kW, mean 5 kW; 3.60 EUR).
    older, newer = data["sessions"]
    assert (older["station"], older["site"], older["connector"]) == ("=DEPOT-S-1", "Depot Sud", 1)
    assert older["curve"] == {
        "energyWh": 4_000,
        "durationS": 3_600,
        "inactivityS": 0,
        "maxPowerW": None,
        "avgPowerW": 4_000,
        "samples": 0,
    }
    assert older["cost"] is None and older["billingState"] == "not_billable"
    assert (newer["station"], newer["site"], newer["idTag"]) == (
        "DEPOT-N-1",
        "Depot Nord",
        CARDS[0][0],
    )
    assert newer["curve"] == {
        "energyWh": 10_000,
        "durationS": 7_200,
        "inactivityS": 600,
        "maxPowerW": 11_000,
        "avgPowerW": 5_000,
        "samples": 3,
    }
    assert newer["cost"] == {
        "currency": "EUR",
        "exclVatMinor": 300,
        "vatMinor": 60,
        "inclVatMinor": 360,
    }
    assert newer["invoiceId"] == str(everything.invoice_id)
    assert newer["stoppedAt"] is not None and newer["status"] == "completed"

    [invoice] = data["invoices"]
    assert (invoice["number"], invoice["totalInclVatMinor"], invoice["refundedMinor"]) == (
        "VEV-2026-004417",
        360,
        120,
    )
    assert invoice["buyer"]["name"] == OLD_NAME and invoice["paymentState"] == "paid"
    assert [(line["description"], line["amountInclVatMinor"]) for line in invoice["lines"]] == [
        ("Énergie 10 kWh", 360)
    ]
    assert [(r["amountMinor"], r["state"]) for r in invoice["refunds"]] == [(120, "done")]
    assert data["notifications"] == []
    assert [(e["action"], e["actor"]) for e in data["auditLog"]] == [
        ("legacy.import", "system"),
        ("user.update_profile", "you"),
    ]
    assert data["auditLog"][1]["details"] == {"fields": ["phone"]}


async def test_who_may_export_whom(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], make_user: Any
) -> None:
    person = await make_user()
    other = await make_user()
    admin = await make_user(Role.ADMIN)
    dpo = await make_user(Role.DPO)
    demo = await make_user(Role.DEMO)
    url = f"/export/my-data.json?userId={person.id}"
    assert (await client.get("/export/my-data.json")).status_code == 401
    for stranger in (other, demo):
        response = await client.get(url, headers=bearer(stranger.token))
        assert response.status_code == 403, response.text
    assert (
        await client.get("/export/my-data.json?userId=nope", headers=bearer(admin.token))
    ).status_code == 400
    missing = "/export/my-data.json?userId=00000000-0000-4000-8000-000000000000"
    assert (await client.get(missing, headers=bearer(admin.token))).status_code == 404
    for officer in (admin, dpo):
        response = await client.get(url, headers=bearer(officer.token))
        assert response.status_code == 200
        assert response.json()["profile"]["id"] == str(person.id)

    # The person sees in their own file who exported it (the role, not the name).
    own = (await client.get("/export/my-data.json", headers=bearer(person.token))).json()
    assert [(e["action"], e["actor"]) for e in own["auditLog"]] == [
        ("user.data_exported", "administrator"),
        ("user.data_exported", "data protection officer"),
    ]
    async with sessionmaker() as db:
        actors = list(
            await db.scalars(
                select(AuditEntry.actor_user_id)
                .where(AuditEntry.action == "user.data_exported")
                .order_by(AuditEntry.id)
            )
        )
    assert actors == [admin.id, dpo.id, person.id]


def rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_my_sessions_csv_by_period_and_site(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], make_user: Any
) -> None:
    everything = await build_everything(sessionmaker, make_user)
    person = everything.person
    other = await make_user()
    dpo = await make_user(Role.DPO)
    async with sessionmaker() as db:  # someone else's session at the same station
        db.add(
            ChargingSession(
                station_id=everything.station_id,
                user_id=other.id,
                ocpp_transaction_id="other-1",
                status=SessionStatus.COMPLETED,
                started_at=everything.started[1],
                stopped_at=everything.started[1] + timedelta(hours=1),
                energy_wh=1_000,
            )
        )
        await db.commit()

    response = await client.get("/export/my-sessions.csv", headers=bearer(person.token))
    assert response.headers["content-disposition"].startswith('attachment; filename="my-sessions-')
    got = rows(response)
    assert [(r["transaction_id"], r["energy_wh"], r["site"]) for r in got] == [
        ("9001", "10000", "Depot Nord"),
        ("9002", "4000", "Depot Sud"),
    ]
    # A station name that a spreadsheet would run as a formula is quoted.
    assert got[1]["station"] == "'=DEPOT-S-1"
    assert {(r["user_name"], r["user_email"], r["id_tag"]) for r in got} == {
        ("Héloïse Zyxwarth", EMAIL, CARDS[0][0]),
        ("Héloïse Zyxwarth", EMAIL, CARDS[1][0]),
    }
    assert got[0]["duration_s"] == "7200"

    by_site = rows(
        await client.get(
            "/export/my-sessions.csv",
            params={"siteId": str(everything.other_site_id)},
            headers=bearer(person.token),
        )
    )
    assert [r["transaction_id"] for r in by_site] == ["9002"]
    # The period is on the start time: [from, to).
    recent = everything.started[1]
    by_period = rows(
        await client.get(
            "/export/my-sessions.csv",
            params={
                "from": (recent - timedelta(days=1)).isoformat(),
                "to": (recent + timedelta(seconds=1)).isoformat(),
            },
            headers=bearer(person.token),
        )
    )
    assert [r["transaction_id"] for r in by_period] == ["9001"]
    excluded = rows(
        await client.get(
            "/export/my-sessions.csv",
            params={"from": recent.isoformat(), "to": recent.isoformat()},
            headers=bearer(person.token),
        )
    )
    assert excluded == []

    bad = await client.get(
        "/export/my-sessions.csv", params={"from": "yesterday"}, headers=bearer(person.token)
    )
    assert (bad.status_code, bad.json()) == (400, {"error": "Invalid parameter: from"})
    # Someone else's sessions: admins and the DPO only, exactly as the person sees them.
    mine = {"userId": str(person.id)}
    refused = await client.get("/export/my-sessions.csv", params=mine, headers=bearer(other.token))
    assert refused.status_code == 403
    for_dpo = rows(
        await client.get("/export/my-sessions.csv", params=mine, headers=bearer(dpo.token))
    )
    assert [(r["transaction_id"], r["user_email"]) for r in for_dpo] == [
        ("9001", EMAIL),
        ("9002", EMAIL),
    ]
    assert (await client.get("/export/my-sessions.csv")).status_code == 401


async def test_the_same_document_through_graphql(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], make_user: Any
) -> None:
    everything = await build_everything(sessionmaker, make_user)
    person = everything.person
    admin = await make_user(Role.ADMIN)
    other = await make_user()

    async def graphql(query: str, token: str, **variables: Any) -> dict[str, Any]:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
        )
        return response.json()  # type: ignore[no-any-return]

    mine = await graphql("{ me { privacy { personalData } } }", person.token)
    document = mine["data"]["me"]["privacy"]["personalData"]
    by_file = (await client.get("/export/my-data.json", headers=bearer(person.token))).json()
    strip = {"exportedAt", "auditLog"}  # the time of the export, and the exports themselves
    assert {k: v for k, v in document.items() if k not in strip} == {
        k: v for k, v in by_file.items() if k not in strip
    }
    assert document["profile"]["email"] == EMAIL

    theirs = "query($u: ID!) { userPrivacy(userId: $u) { personalData } }"
    found = await graphql(theirs, admin.token, u=str(person.id))
    assert found["data"]["userPrivacy"]["personalData"]["profile"]["id"] == str(person.id)
    refused = await graphql(theirs, other.token, u=str(person.id))
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with sessionmaker() as db:
        actors = list(
            await db.scalars(
                select(AuditEntry.actor_user_id)
                .where(AuditEntry.action == "user.data_exported")
                .order_by(AuditEntry.id)
            )
        )
    assert actors == [person.id, person.id, admin.id]  # every read is audited
