"""Invoices and refunds through GraphQL: the viewer's invoices, everyone's for admins (site
admins: their sites'), filters, the buyer hidden from site admins and pseudonymized for demo
users, a session's billing fields, and refunding a session."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from backend.db.base import utcnow
from backend.db.models import BillingState, Role
from backend.domain.billing.gateway import LocalGateway
from backend.domain.billing.invoicing import Invoicing
from backend.domain.mailer import Mailer
from backend.settings import Settings
from tests.billing.conftest import Place
from tests.billing.helpers import finished_session
from tests.conftest import Api

INVOICE_FIELDS = """
    id number kind issuedAt currency subtotalExclVatMinor vatMinor totalInclVatMinor
    refundedMinor paymentState syncState pdfUrl
    lines { position dimension description quantity unit unitPrice amountExclVatMinor
            vatPercent vatMinor amountInclVatMinor sessionId }
    refunds { amountMinor kind state }
"""


async def invoice_for_driver(sessionmaker: Any, place: Place, settings: Settings) -> uuid.UUID:
    session_id = await finished_session(
        sessionmaker,
        place.station_id,
        place.driver.id,
        stopped_at=utcnow() - timedelta(hours=3),
        flat_cents=100,
    )
    billing = Invoicing(sessionmaker, settings, Mailer(settings), LocalGateway())
    await billing.issue_due()
    await billing.process_due()
    return session_id


async def test_my_invoices_and_one_invoice(
    api: Api, sessionmaker: Any, place: Place, settings: Settings
) -> None:
    session_id = await invoice_for_driver(sessionmaker, place, settings)
    data = await api.ok(
        f"{{ myInvoices {{ totalCount edges {{ node {{ {INVOICE_FIELDS} "
        "buyer { name email address } user { lastName } hostedUrl } } } }",
        token=place.driver.token,
    )
    assert data["myInvoices"]["totalCount"] == 1
    invoice = data["myInvoices"]["edges"][0]["node"]
    assert invoice["number"] == f"VEV-{utcnow().year}-000001"
    assert (invoice["kind"], invoice["paymentState"], invoice["syncState"]) == (
        "SESSION",
        "LOCAL",
        "SYNCED",
    )
    assert (invoice["subtotalExclVatMinor"], invoice["vatMinor"]) == (250, 50)
    assert invoice["totalInclVatMinor"] == 300 and invoice["refundedMinor"] == 0
    assert invoice["pdfUrl"] == f"http://testserver/invoices/{invoice['id']}.pdf"
    assert [line["dimension"] for line in invoice["lines"]] == ["FLAT", "ENERGY"]
    energy = invoice["lines"][1]
    assert energy["quantity"] == "5" and energy["unitPrice"] == "0.30"
    assert energy["sessionId"] == str(session_id)
    assert invoice["buyer"] == {
        "name": "Ada Lovelace",
        "email": place.driver.email,
        "address": [],
    }
    assert invoice["user"] == {"lastName": "Lovelace"}

    # Someone else's: not theirs, not visible.
    none = await api.ok("{ myInvoices { totalCount } }", token=place.stranger.token)
    assert none["myInvoices"]["totalCount"] == 0
    one = f'{{ invoice(id: "{invoice["id"]}") {{ number }} }}'
    assert (await api.ok(one, token=place.stranger.token))["invoice"] is None
    assert (await api.ok(one, token=place.driver.token))["invoice"]["number"] == invoice["number"]
    assert (await api.error(one))["code"] == "UNAUTHENTICATED"


async def test_admins_list_and_filter_invoices(
    api: Api, sessionmaker: Any, place: Place, settings: Settings
) -> None:
    await invoice_for_driver(sessionmaker, place, settings)
    query = "query($f: InvoiceFilter) { invoices(filter: $f) { totalCount } }"

    async def count(token: str, **flt: Any) -> int:
        data = await api.ok(query, {"f": flt or None}, token=token)
        return int(data["invoices"]["totalCount"])

    admin = place.admin.token
    assert await count(admin) == 1
    assert await count(admin, userId=str(place.driver.id)) == 1
    assert await count(admin, userId=str(place.stranger.id)) == 0
    assert await count(admin, paymentState="LOCAL") == 1
    assert await count(admin, paymentState="PAID") == 0
    soon = (utcnow() + timedelta(minutes=5)).isoformat()
    assert await count(admin, **{"from": soon}) == 0
    assert await count(admin, to=soon) == 1
    assert await count(admin, siteId=str(place.site_id)) == 1
    assert await count(admin, siteId=str(place.other_site_id)) == 0

    # The site's administrator: its invoices, not by person; others may not list.
    assert await count(place.site_admin.token) == 1
    refused = await api.error(
        query, {"f": {"userId": str(place.driver.id)}}, token=place.site_admin.token
    )
    assert refused["code"] == "FORBIDDEN"
    for token in (place.driver.token, place.stranger.token):
        assert (await api.error(query, token=token))["code"] == "FORBIDDEN"


async def test_the_buyer_is_hidden_from_site_admins_and_pseudonymized_for_demo(
    api: Api, sessionmaker: Any, place: Place, settings: Settings, make_user: Any
) -> None:
    await invoice_for_driver(sessionmaker, place, settings)
    listing = "{ invoices { edges { node { number buyer { %s } } } } }"

    manager = await api(listing % "name", token=place.site_admin.token)
    assert manager["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    numbers = await api.ok(
        "{ invoices { edges { node { number totalInclVatMinor } } } }",
        token=place.site_admin.token,
    )
    assert numbers["invoices"]["edges"][0]["node"]["totalInclVatMinor"] == 300

    demo = await make_user(Role.DEMO)
    data = await api.ok(
        "{ invoices { edges { node { number hostedUrl buyer { name email address } "
        "user { firstName lastName email } } } } }",
        token=demo.token,
    )
    node = data["invoices"]["edges"][0]["node"]
    assert node["buyer"]["name"] is None and node["buyer"]["address"] is None
    assert node["buyer"]["email"].endswith("@anonymized.invalid")
    assert node["user"]["lastName"] != "Lovelace"
    assert node["user"]["email"] == node["buyer"]["email"]


async def test_session_billing_fields_and_refunds(
    api: Api, sessionmaker: Any, place: Place, settings: Settings
) -> None:
    session_id = await invoice_for_driver(sessionmaker, place, settings)
    fields = (
        f'{{ session(id: "{session_id}") {{ billingState billingNote refundedMinor '
        "invoice { number refundedMinor } refunds { amountMinor kind state reason } } }"
    )
    before = await api.ok(fields, token=place.driver.token)
    assert before["session"]["billingState"] == "INVOICED"
    assert before["session"]["invoice"]["refundedMinor"] == 0
    assert before["session"]["refunds"] == []

    refund = """mutation($id: ID!, $amount: Int!) {
        refundSession(sessionId: $id, amountMinor: $amount, reason: "Cable fault") {
            amountMinor kind state sessionId invoiceId } }"""
    done = await api.ok(
        refund, {"id": str(session_id), "amount": 120}, token=place.site_admin.token
    )
    assert done["refundSession"] == {
        "amountMinor": 120,
        "kind": "CREDIT_NOTE",
        "state": "DONE",
        "sessionId": str(session_id),
        "invoiceId": done["refundSession"]["invoiceId"],
    }
    too_much = await api.error(
        refund, {"id": str(session_id), "amount": 181}, token=place.admin.token
    )
    assert (too_much["code"], too_much["field"], too_much["refundable"]) == (
        "BAD_USER_INPUT",
        "amountMinor",
        180,
    )
    driver = await api.error(
        refund, {"id": str(session_id), "amount": 10}, token=place.driver.token
    )
    assert driver["code"] == "FORBIDDEN"

    after = await api.ok(fields, token=place.driver.token)
    assert after["session"]["refundedMinor"] == 120
    assert after["session"]["invoice"]["refundedMinor"] == 120
    assert after["session"]["refunds"] == [
        {"amountMinor": 120, "kind": "CREDIT_NOTE", "state": "DONE", "reason": "Cable fault"}
    ]
    # A session that is not billed says why.
    free = await finished_session(
        sessionmaker,
        place.station_id,
        place.driver.id,
        stopped_at=utcnow(),
        kwh=0,
        state=BillingState.UNBILLED,
    )
    await Invoicing(sessionmaker, settings, Mailer(settings), LocalGateway()).settle_due()
    data = await api.ok(
        f'{{ session(id: "{free}") {{ billingState billingNote invoice {{ id }} }} }}',
        token=place.driver.token,
    )
    assert data["session"] == {
        "billingState": "NOT_BILLABLE",
        "billingNote": "below_minimum",
        "invoice": None,
    }
