"""The payment method on the profile page, in Chromium, with Stripe on: a server whose gateway
talks to our fake Stripe on loopback (localstripe behind `tests/payments/fake_stripe.py`, the
fixtures of tests/payments), through the real Stripe SDK.

The web app cannot load Stripe.js (our content security policy loads no third-party script), so
it sends the user to Stripe Checkout's hosted page in setup mode. The fake only hands out that
page's address; here it also serves the page, as Stripe does: a card form that, submitted,
creates the card, confirms a SetupIntent with it and attaches it to the customer, then sends the
browser to the Checkout Session's `success_url` (or `cancel_url`)."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from playwright.async_api import expect
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from backend.db.models import BillingAccount, Role
from backend.settings import Settings
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_charging_in_browser import log_in_as
from tests.conftest import free_port
from tests.payments.conftest import API_KEY, WEBHOOK_SECRET, localstripe  # noqa: F401
from tests.payments.fake_stripe import FakeStripe, FakeStripeServer

# The Stripe SDK's httpx client posts its form body with `data=`, which httpx deprecates: the
# SDK's business, not ours (as in tests/payments).
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


class HostedCheckoutStripe(FakeStripe):
    """The fake Stripe, plus Checkout's hosted page for the sessions it created (setup mode)."""

    async def handle(self, request: Request) -> Response:
        found = re.fullmatch(r"/checkout/(cs_[0-9a-f]+)", "/" + request.path_params["path"])
        if found is None:
            return await super().handle(request)
        # The browser's page: no API key, the session id in the address is the credential.
        session = self.checkout_sessions.get(found.group(1))
        if session is None or session["status"] != "open":
            return HTMLResponse("<h1>This checkout page has expired.</h1>", status_code=404)
        if request.method == "GET":
            return HTMLResponse(_checkout_page(session))
        form = await request.form()
        if form.get("action") == "cancel":
            return RedirectResponse(session["cancel_url"], status_code=303)
        status, method = await self.upstream_call(
            "POST",
            "/v1/payment_methods",
            {
                "type": "card",
                "card": {
                    "number": str(form.get("number", "")).replace(" ", ""),
                    "exp_month": str(form.get("exp_month", "")),
                    "exp_year": str(form.get("exp_year", "")),
                    "cvc": str(form.get("cvc", "")),
                },
            },
        )
        if status != 200:
            error = method.get("error", {}).get("message", "The card was refused.")
            return HTMLResponse(_checkout_page(session, error), status_code=402)
        customer = session["customer"]
        _, intent = await self.upstream_call(
            "POST",
            "/v1/setup_intents",
            {"customer": customer, "usage": "off_session", "payment_method_types": ["card"]},
        )
        await self.upstream_call(
            "POST", f"/v1/setup_intents/{intent['id']}/confirm", {"payment_method": method["id"]}
        )
        await self.upstream_call(
            "POST", f"/v1/payment_methods/{method['id']}/attach", {"customer": customer}
        )
        session.update(status="complete", setup_intent=intent["id"])
        return RedirectResponse(session["success_url"], status_code=303)


def _checkout_page(session: dict[str, Any], error: str | None = None) -> str:
    problem = f'<p id="checkout-error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Set up a card (fake Stripe Checkout)</title>
<meta name="viewport" content="width=device-width"></head>
<body style="font-family: sans-serif; max-width: 28rem; margin: 2rem auto; padding: 0 1rem">
<h1>Save a card for future payments</h1>
<p>Test page of the fake Stripe: session {html.escape(session["id"])}.</p>{problem}
<form method="post">
  <p><label>Card number <input id="number" name="number" autocomplete="off"></label></p>
  <p><label>Month <input id="exp_month" name="exp_month" size="2"></label>
     <label>Year <input id="exp_year" name="exp_year" size="4"></label>
     <label>CVC <input id="cvc" name="cvc" size="4"></label></p>
  <p><button id="save" name="action" value="save">Save card</button>
     <button id="cancel" name="action" value="cancel">Cancel</button></p>
</form></body></html>"""


@pytest.fixture(scope="module")
def hosted_stripe(localstripe: str) -> Iterator[HostedCheckoutStripe]:  # noqa: F811
    server = FakeStripeServer(HostedCheckoutStripe(upstream=localstripe), free_port())
    server.start()
    try:
        yield server.fake  # type: ignore[misc]
    finally:
        server.stop()


@pytest.fixture(scope="module")
def stripe_server(settings: Settings, hosted_stripe: HostedCheckoutStripe) -> Iterator[LiveServer]:
    """A second live server, with Stripe billing on (the suite's shared one keeps it off)."""
    server = LiveServer(
        settings.model_copy(
            update={
                "stripe_api_key": API_KEY,
                "stripe_publishable_key": "pk_test_vev_iq",
                "stripe_webhook_secret": WEBHOOK_SECRET,
                "stripe_api_base": hosted_stripe.base,
            }
        )
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def stripe_page(
    browser: Any, stripe_server: LiveServer, sessionmaker: Any
) -> AsyncIterator[Any]:
    # `sessionmaker` empties the database before each test.
    context = await browser.new_context(base_url=stripe_server.url, viewport=DESKTOP)
    page = await context.new_page()
    yield page
    await context.close()


async def shot(page: Any, name: str) -> None:
    await page.get_by_test_id("payment-method").scroll_into_view_if_needed()
    await screenshot(page, name)
    await page.set_viewport_size(PHONE)
    await asyncio.sleep(0.3)
    await page.get_by_test_id("payment-method").scroll_into_view_if_needed()
    await screenshot(page, f"{name}-390")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.set_viewport_size(DESKTOP)


async def test_a_card_is_added_on_the_hosted_page_and_shown_on_the_profile(
    stripe_page: Any,
    stripe_server: LiveServer,
    hosted_stripe: HostedCheckoutStripe,
    make_user: Any,
    sessionmaker: Any,
) -> None:
    page = stripe_page
    driver = await make_user(Role.BASIC, first_name="Paula", last_name="Payer")
    await log_in_as(page, driver.token, stripe_server)

    # No card yet, and billing needs one to charge.
    await page.goto("/profile")
    section = page.get_by_test_id("payment-method")
    await expect(section).to_have_attribute("data-state", "none")
    await expect(section.get_by_test_id("payment-none")).to_have_text(
        re.compile("No payment method on file")
    )
    await expect(section.get_by_test_id("payment-required")).to_contain_text(
        "Charging needs a payment method"
    )
    await shot(page, "profile-payment-none")

    # The hosted page, then "Cancel": back on the profile, told so, nothing changed.
    await section.get_by_test_id("payment-add").click()
    await page.wait_for_url(re.compile(re.escape(hosted_stripe.base) + r"/checkout/cs_\w+"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Save a card for future payments"
    )
    await page.locator("#cancel").click()
    await page.wait_for_url(f"{stripe_server.url}/profile")
    await expect(section.get_by_test_id("payment-status")).to_contain_text("was cancelled")
    await expect(section).to_have_attribute("data-state", "none")

    # Again, with a test card this time: back on the profile, the card is read and shown.
    await section.get_by_test_id("payment-add").click()
    await page.wait_for_url(re.compile(re.escape(hosted_stripe.base) + r"/checkout/cs_\w+"))
    await page.locator("#number").fill("4242 4242 4242 4242")
    await page.locator("#exp_month").fill("7")
    await page.locator("#exp_year").fill("2031")
    await page.locator("#cvc").fill("123")
    await page.locator("#save").click()
    # The marker of the return is dropped from the address once handled.
    await page.wait_for_url(f"{stripe_server.url}/profile")
    await expect(section).to_have_attribute("data-state", "card")
    card = section.get_by_test_id("payment-card")
    await expect(card.get_by_test_id("payment-card-name")).to_have_text("Visa ending in 4242")
    await expect(card.get_by_test_id("payment-card-expiry")).to_have_text("Expires 07/2031")
    await expect(section.get_by_test_id("payment-status")).to_have_text("Your card is saved.")
    await expect(section.get_by_test_id("payment-required")).to_have_count(0)
    await expect(section.get_by_test_id("payment-add")).to_have_text("Replace the card")
    assert hosted_stripe.executed["POST /v1/checkout/sessions"] == 2
    async with sessionmaker() as db:
        account = await db.get(BillingAccount, driver.id)
    assert account is not None
    assert (account.payment_method_brand, account.payment_method_last4) == ("visa", "4242")
    await shot(page, "profile-payment-card")

    # Read again later (no return marker): the card on file, no message.
    await page.reload()
    await expect(section.get_by_test_id("payment-card-name")).to_have_text("Visa ending in 4242")
    await expect(section.get_by_test_id("payment-status")).to_be_empty()

    # In French, too.
    await page.get_by_test_id("lang-switcher").select_option("FR")
    await expect(section.get_by_test_id("payment-card-name")).to_have_text(
        "Visa se terminant par 4242"
    )
    await page.get_by_test_id("lang-switcher").select_option("EN")


async def test_without_a_payment_provider_the_profile_says_so(
    page: Any, live_server: LiveServer, make_user: Any
) -> None:
    driver = await make_user(Role.BASIC)
    await log_in_as(page, driver.token, live_server)
    await page.goto("/profile")
    section = page.get_by_test_id("payment-method")
    await expect(section.get_by_test_id("payment-disabled")).to_contain_text(
        "Online payment is not switched on"
    )
    await expect(section.get_by_test_id("payment-add")).to_have_count(0)
