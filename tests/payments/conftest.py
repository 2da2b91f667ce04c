"""Stripe on loopback: localstripe (a subprocess) behind our own fake (`fake_stripe.py`, which
says which of the two answers what), and settings that point the real gateway at them.

Every test here runs the production code path: `StripeGateway` and its `stripe.StripeClient`,
with only `STRIPE_API_BASE` changed. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from backend.payments.stripe_gateway import StripeGateway
from backend.settings import Settings
from tests.conftest import free_port
from tests.payments.fake_stripe import FakeStripe, FakeStripeServer

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "whsec_test_vev_iq"
API_KEY = "sk_test_vev_iq"


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("localstripe did not start")


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.payments.localstripe_server", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def fake_stripe_server(localstripe: str) -> Iterator[FakeStripeServer]:
    server = FakeStripeServer(FakeStripe(upstream=localstripe), free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_stripe(fake_stripe_server: FakeStripeServer) -> FakeStripe:
    fake_stripe_server.fake.reset()
    return fake_stripe_server.fake


@pytest.fixture(scope="session")
def settings(settings: Settings, fake_stripe_server: FakeStripeServer) -> Settings:
    """The suite's settings with Stripe on, pointed at the fake (for the app and the gateway)."""
    return settings.model_copy(
        update={
            "stripe_api_key": API_KEY,
            "stripe_publishable_key": "pk_test_vev_iq",
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": fake_stripe_server.fake.base,
        }
    )


@pytest.fixture
def gateway(settings: Settings, fake_stripe: FakeStripe) -> StripeGateway:
    # No SDK retries: each test sees every answer of the fake as it is.
    return StripeGateway(settings, max_network_retries=0)


@pytest.fixture
def stripe_client(fake_stripe_server: FakeStripeServer) -> stripe.StripeClient:
    """What Stripe.js or the mobile SDK does on the user's side (card entry, confirmation),
    played with the same SDK against the fake."""
    return stripe.StripeClient(
        API_KEY, base_addresses={"api": fake_stripe_server.fake.base}, max_network_retries=0
    )


async def attach_card(
    client: stripe.StripeClient,
    customer_id: str,
    setup_intent_id: str,
    number: str = "4242424242424242",
    *,
    exp_month: int = 12,
    exp_year: int = 2031,
) -> str:
    """The user enters a test card and confirms the SetupIntent; Stripe attaches the card to
    the customer. Its payment method id."""
    method = await client.v1.payment_methods.create_async(
        {
            "type": "card",
            "card": {
                "number": number,
                "exp_month": exp_month,
                "exp_year": exp_year,
                "cvc": "123",
            },
        }
    )
    intent = await client.v1.setup_intents.confirm_async(
        setup_intent_id, {"payment_method": method.id}
    )
    assert intent.status == "succeeded"
    await client.v1.payment_methods.attach_async(method.id, {"customer": customer_id})
    return method.id


# --- webhooks, signed as Stripe signs them -------------------------------------------------------


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header: t=<unix time>,v1=<HMAC-SHA256 of "t.payload">."""
    at = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def event(type_: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "type": type_,
        "livemode": False,
        "pending_webhooks": 1,
        "data": {"object": obj},
    }


async def deliver(
    client: httpx.AsyncClient,
    body: dict[str, Any] | bytes,
    *,
    signature: str | None = None,
    timestamp: int | None = None,
) -> httpx.Response:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    header = signature if signature is not None else sign(payload, timestamp=timestamp)
    return await client.post(
        "/webhooks/stripe",
        content=payload,
        headers={"stripe-signature": header, "content-type": "application/json"},
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The SDK's httpx client posts its form body with `data=`, which httpx deprecates: the SDK's
    # business, not ours.
    for item in items:
        if "tests/payments/" in str(item.path):
            item.add_marker(
                pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
            )
