"""A fake Stripe on loopback for the tests: our own Starlette app in front of localstripe.

The gateway talks to it through the official SDK exactly as to Stripe (same client, same
requests: only the base address differs). Who answers what:

- localstripe (PyPI, a subprocess; see conftest.py) answers what it implements faithfully for
  the SDK's API version: customers, payment methods (test card numbers, attach/detach, list),
  setup intents, payment intents with their charges (declines by test card), and refunds.
  Those requests are forwarded to it unchanged, except `allowed_payment_method_types` on
  SetupIntents, the newer name of its `payment_method_types`.
- This app answers what localstripe lacks or has in an older shape (also: payment methods are
  listed newest first, and a missing object's error has Stripe's `resource_missing` code):
  - idempotency keys on every POST (replayed answers, 400 on a key reused with other
    parameters, 409 while the first request with a key is still running);
  - invoices in their current shape: drafts, `add_lines` with explicit `tax_amounts`,
    finalize, pay (charged through a localstripe PaymentIntent, so declines are localstripe's),
    void, `payments` (InvoicePayment) expandable and listable;
  - credit notes on open invoices; refunds checked against what is left to refund;
  - Checkout Sessions in setup mode (the hosted page address only);
  - the invoice events Stripe would send (`events`), for tests to sign and deliver;
  - injected failures (`fail_next`) to play network errors, 5xx and rate limits.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

API_VERSION = "2026-10-28.endive"


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`lines[0][tax_amounts][0][amount]=20`) back into a tree."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StripeFail(400, f"Invalid integer: {name}", param=name) from None


def _bool(value: Any) -> bool:
    return str(value).lower() == "true"


class StripeFail(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": {"type": type_, "message": message, **extra}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


@dataclass
class FakeStripe:
    upstream: str  # localstripe's base address
    base: str = ""  # our own, once serving
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoice_payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    credit_notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    checkout_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    # Requests that really ran (not replayed), by "METHOD /path".
    executed: Counter[str] = field(default_factory=Counter)
    idempotency_keys: list[str] = field(default_factory=list)
    _replies: dict[str, tuple[str, int, bytes]] = field(default_factory=dict)
    _in_flight: set[str] = field(default_factory=set)
    _failures: list[tuple[str, int]] = field(default_factory=list)
    # Amount paid and refunded per PaymentIntent that paid one of our invoices.
    _paid: dict[str, int] = field(default_factory=dict)
    _refunded: Counter[str] = field(default_factory=Counter)
    _number: int = 0

    # --- control, for tests -----------------------------------------------------------------

    def fail_next(self, path_prefix: str, status: int, count: int = 1) -> None:
        """The next `count` requests whose path starts with `path_prefix` get `status`
        (0: the connection is dropped without an answer)."""
        self._failures.extend([(path_prefix, status)] * count)

    def reset(self) -> None:
        for store in (self.invoices, self.invoice_payments, self.credit_notes):
            store.clear()
        self.checkout_sessions.clear()
        self.events.clear()
        self.executed.clear()
        self.idempotency_keys.clear()
        self._replies.clear()
        self._failures.clear()
        self._paid.clear()
        self._refunded.clear()

    # --- the app ----------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/{path:path}", self.handle, methods=["GET", "POST", "DELETE"])]
        )

    async def handle(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        if not request.headers.get("authorization", "").startswith("Bearer sk_"):
            return JSONResponse(
                {"error": {"type": "invalid_request_error", "message": "No valid API key."}},
                status_code=401,
            )
        for index, (prefix, status) in enumerate(self._failures):
            if path.startswith(prefix):
                del self._failures[index]
                if status == 0:
                    raise ConnectionAbortedError("injected network failure")
                kind = "rate_limit_error" if status == 429 else "api_error"
                return JSONResponse(
                    {"error": {"type": kind, "message": f"Injected {status}."}}, status_code=status
                )
        body = await request.body()
        key = request.headers.get("idempotency-key")
        if request.method != "POST" or not key:
            return await self._execute(request, path, body)
        self.idempotency_keys.append(key)
        fingerprint = f"{path}?{sorted(parse_qsl(body.decode(), keep_blank_values=True))}"
        if key in self._in_flight:
            return JSONResponse(
                {
                    "error": {
                        "type": "idempotency_error",
                        "message": "There is currently another in-progress request using "
                        "this Idempotent Key.",
                    }
                },
                status_code=409,
            )
        if key in self._replies:
            first, status, content = self._replies[key]
            if first != fingerprint:
                return JSONResponse(
                    {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the "
                            "same parameters they were first used with.",
                        }
                    },
                    status_code=400,
                )
            return Response(
                content,
                status_code=status,
                media_type="application/json",
                headers={"idempotent-replayed": "true"},
            )
        self._in_flight.add(key)
        try:
            response = await self._execute(request, path, body)
        finally:
            self._in_flight.discard(key)
        if response.status_code < 500 and response.status_code not in (409, 429):
            self._replies[key] = (fingerprint, response.status_code, bytes(response.body))
        return response

    async def _execute(self, request: Request, path: str, body: bytes) -> Response:
        params = unflatten(
            parse_qsl(body.decode(), keep_blank_values=True)
            if request.method == "POST"
            else list(request.query_params.multi_items())
        )
        self.executed[f"{request.method} {path}"] += 1
        try:
            handler = self._route(request.method, path)
            if handler is None:
                return await self._forward(request, path, body)
            result = await handler(params, *re.findall(r"/((?:in|cn|cs)_[0-9a-f]+)", path))
        except StripeFail as fail:
            return JSONResponse(fail.body, status_code=fail.status)
        return JSONResponse(result)

    def _route(self, method: str, path: str) -> Any:
        table: list[tuple[str, str, Any]] = [
            ("POST", r"/v1/invoices", self.create_invoice),
            ("GET", r"/v1/invoices", self.list_invoices),
            ("GET", r"/v1/invoices/in_\w+", self.retrieve_invoice),
            ("POST", r"/v1/invoices/in_\w+/add_lines", self.add_lines),
            ("POST", r"/v1/invoices/in_\w+/finalize", self.finalize),
            ("POST", r"/v1/invoices/in_\w+/pay", self.pay),
            ("POST", r"/v1/invoices/in_\w+/void", self.void),
            ("GET", r"/v1/invoice_payments", self.list_invoice_payments),
            ("POST", r"/v1/credit_notes", self.create_credit_note),
            ("GET", r"/v1/credit_notes", self.list_credit_notes),
            ("POST", r"/v1/checkout/sessions", self.create_checkout_session),
            ("POST", r"/v1/refunds", self.create_refund),
            ("POST", r"/v1/setup_intents", self.create_setup_intent),
            ("GET", r"/v1/payment_methods", self.list_payment_methods),
        ]
        for route_method, pattern, handler in table:
            if method == route_method and re.fullmatch(pattern, path):
                return handler
        return None

    # --- localstripe ------------------------------------------------------------------------

    async def upstream_call(
        self, method: str, path: str, data: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        form = _flatten(data or {})
        async with httpx.AsyncClient(base_url=self.upstream) as client:
            response = await client.request(
                method,
                path,
                content=urlencode(form) if method == "POST" else None,
                params=form if method == "GET" else None,
                headers={
                    "authorization": "Bearer sk_test_fake",
                    "content-type": "application/x-www-form-urlencoded",
                },
            )
        return response.status_code, _stripe_shaped(response.status_code, response.json())

    async def _forward(self, request: Request, path: str, body: bytes) -> Response:
        headers = {
            k: v
            for k, v in request.headers.items()
            if k in ("authorization", "content-type", "stripe-version")
        }
        async with httpx.AsyncClient(base_url=self.upstream) as client:
            response = await client.request(
                request.method,
                path,
                params=list(request.query_params.multi_items()),
                content=body,
                headers=headers,
            )
        return JSONResponse(
            _stripe_shaped(response.status_code, response.json()),
            status_code=response.status_code,
        )

    async def _customer(self, customer_id: Any) -> dict[str, Any]:
        if not isinstance(customer_id, str):
            raise StripeFail(400, "Missing required param: customer.", param="customer")
        status, customer = await self.upstream_call("GET", f"/v1/customers/{customer_id}")
        if status == 404 or customer.get("deleted"):
            raise StripeFail(
                404, f"No such customer: '{customer_id}'", code="resource_missing", param="customer"
            )
        return customer

    async def create_setup_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        # localstripe predates the rename of payment_method_types.
        if "allowed_payment_method_types" in params:
            params["payment_method_types"] = params.pop("allowed_payment_method_types")
        status, body = await self.upstream_call("POST", "/v1/setup_intents", params)
        if status != 200:
            raise StripeFail(status, body["error"].get("message", "setup intent refused"))
        return body

    async def list_payment_methods(self, params: dict[str, Any]) -> dict[str, Any]:
        # Stripe lists newest first; localstripe in the order of creation.
        status, body = await self.upstream_call("GET", "/v1/payment_methods", params)
        if status != 200:
            raise StripeFail(status, body["error"].get("message", "list refused"))
        body["data"].reverse()
        return body

    # --- invoices ---------------------------------------------------------------------------

    def _invoice(self, invoice_id: str) -> dict[str, Any]:
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            raise StripeFail(404, f"No such invoice: '{invoice_id}'", code="resource_missing")
        return invoice

    def _event(self, type_: str, obj: dict[str, Any]) -> None:
        self.events.append(
            {
                "id": _new_id("evt"),
                "object": "event",
                "api_version": API_VERSION,
                "created": int(time.time()),
                "type": type_,
                "livemode": False,
                "pending_webhooks": 1,
                "data": {"object": json.loads(json.dumps(obj))},
            }
        )

    def _export(self, invoice: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        out = dict(invoice)
        expand = params.get("expand") or []
        if "payments" in expand:
            data = [p for p in self.invoice_payments.values() if p["invoice"] == invoice["id"]]
            out["payments"] = {
                "object": "list",
                "data": data,
                "has_more": False,
                "url": f"/v1/invoices/{invoice['id']}/payments",
            }
        return out

    async def create_invoice(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = await self._customer(params.get("customer"))
        currency = params.get("currency") or "eur"
        invoice_id = _new_id("in")
        now = int(time.time())
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "customer": customer["id"],
            "customer_email": customer.get("email"),
            "customer_name": customer.get("name"),
            "currency": currency,
            "status": "draft",
            "collection_method": params.get("collection_method", "charge_automatically"),
            "auto_advance": _bool(params.get("auto_advance", "true")),
            "description": params.get("description"),
            "metadata": params.get("metadata") or {},
            "default_payment_method": params.get("default_payment_method"),
            "lines": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "subtotal": 0,
            "subtotal_excluding_tax": 0,
            "total_taxes": [],
            "total_excluding_tax": 0,
            "total": 0,
            "amount_due": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "pre_payment_credit_notes_amount": 0,
            "post_payment_credit_notes_amount": 0,
            "attempt_count": 0,
            "attempted": False,
            "number": None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "created": now,
            "livemode": False,
            "status_transitions": {"finalized_at": None, "paid_at": None, "voided_at": None},
        }
        self.invoices[invoice_id] = invoice
        self._event("invoice.created", invoice)
        return invoice

    async def list_invoices(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = params.get("customer")
        found = [i for i in self.invoices.values() if customer in (None, i["customer"])]
        found.sort(key=lambda i: i["created"], reverse=True)
        limit = _int(params.get("limit", 10), "limit")
        return {
            "object": "list",
            "data": [self._export(i, params) for i in found[:limit]],
            "has_more": len(found) > limit,
            "url": "/v1/invoices",
        }

    async def retrieve_invoice(self, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
        return self._export(self._invoice(invoice_id), params)

    async def add_lines(self, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
        invoice = self._invoice(invoice_id)
        if invoice["status"] != "draft":
            raise StripeFail(400, "You can only add lines to a draft invoice.")
        lines = params.get("lines")
        if not isinstance(lines, list) or not lines:
            raise StripeFail(400, "Missing required param: lines.", param="lines")
        for index, line in enumerate(lines):
            amount = _int(line.get("amount"), f"lines[{index}][amount]")
            taxes = []
            for tax in line.get("tax_amounts") or []:
                rate = tax.get("tax_rate_data") or {}
                if not rate.get("display_name") or "percentage" not in rate:
                    raise StripeFail(400, "tax_rate_data needs display_name and percentage.")
                taxes.append(
                    {
                        "amount": _int(tax.get("amount"), "tax_amounts.amount"),
                        "taxable_amount": _int(tax.get("taxable_amount"), "taxable_amount"),
                        "tax_behavior": "inclusive"
                        if _bool(rate.get("inclusive"))
                        else "exclusive",
                        "type": "tax_rate_details",
                        "tax_rate_details": {
                            "tax_rate": _new_id("txr"),
                            "display_name": rate["display_name"],
                            "percentage": rate["percentage"],
                        },
                    }
                )
            item_id = _new_id("ii")
            invoice["lines"]["data"].append(
                {
                    "id": _new_id("il"),
                    "object": "line_item",
                    "invoice": invoice_id,
                    "amount": amount,
                    "currency": invoice["currency"],
                    "description": line.get("description"),
                    "quantity": 1,
                    "taxes": taxes,
                    "parent": {
                        "type": "invoice_item_details",
                        "invoice_item_details": {"invoice_item": item_id},
                    },
                }
            )
        self._recompute(invoice)
        return self._export(invoice, params)

    def _recompute(self, invoice: dict[str, Any]) -> None:
        lines = invoice["lines"]["data"]
        subtotal = sum(line["amount"] for line in lines)
        taxes = [tax for line in lines for tax in line["taxes"]]
        exclusive = sum(t["amount"] for t in taxes if t["tax_behavior"] == "exclusive")
        invoice["lines"]["total_count"] = len(lines)
        invoice["subtotal"] = invoice["subtotal_excluding_tax"] = subtotal
        invoice["total_excluding_tax"] = subtotal
        invoice["total_taxes"] = [
            {k: t[k] for k in ("amount", "taxable_amount", "tax_behavior", "type")} for t in taxes
        ]
        invoice["total"] = subtotal + exclusive
        invoice["amount_due"] = invoice["amount_remaining"] = invoice["total"]

    async def finalize(self, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
        invoice = self._invoice(invoice_id)
        if invoice["status"] != "draft":
            raise StripeFail(400, "This invoice is already finalized.", code="invoice_not_editable")
        self._number += 1
        invoice["status"] = "open"
        invoice["number"] = f"FAKE-{self._number:04d}"
        invoice["hosted_invoice_url"] = f"{self.base}/hosted/invoices/{invoice_id}"
        invoice["invoice_pdf"] = f"{self.base}/hosted/invoices/{invoice_id}/pdf"
        invoice["status_transitions"]["finalized_at"] = int(time.time())
        if "auto_advance" in params:
            invoice["auto_advance"] = _bool(params["auto_advance"])
        self._event("invoice.finalized", invoice)
        if invoice["amount_remaining"] == 0:
            self._mark_paid(invoice)
        return self._export(invoice, params)

    def _mark_paid(self, invoice: dict[str, Any]) -> None:
        invoice["status"] = "paid"
        invoice["amount_paid"] = invoice["total"] - invoice["pre_payment_credit_notes_amount"]
        invoice["amount_remaining"] = 0
        invoice["status_transitions"]["paid_at"] = int(time.time())
        self._event("invoice.paid", invoice)

    async def pay(self, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
        invoice = self._invoice(invoice_id)
        if invoice["status"] == "paid":
            raise StripeFail(400, "Invoice is already paid.", code="invoice_already_paid")
        if invoice["status"] != "open":
            raise StripeFail(400, f"This invoice is {invoice['status']}: it cannot be paid.")
        method = params.get("payment_method") or invoice.get("default_payment_method")
        if not method:
            customer = await self._customer(invoice["customer"])
            method = (customer.get("invoice_settings") or {}).get("default_payment_method")
        if not method:
            raise StripeFail(
                400,
                "This customer has no attached payment source or default payment method.",
                code="invoice_no_customer_line_items",
            )
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        status, intent = await self.upstream_call(
            "POST",
            "/v1/payment_intents",
            {
                "amount": invoice["amount_remaining"],
                "currency": invoice["currency"],
                "customer": invoice["customer"],
                "payment_method": method,
                "confirm": "true",
                "off_session": "true",
                "metadata": {"invoice": invoice_id},
            },
        )
        payment_id = _new_id("inpay")
        payment = {
            "id": payment_id,
            "object": "invoice_payment",
            "invoice": invoice_id,
            "amount_requested": invoice["amount_remaining"],
            "amount_paid": None,
            "currency": invoice["currency"],
            "is_default": True,
            "status": "open",
            "payment": {"type": "payment_intent", "payment_intent": intent.get("id")},
            "created": int(time.time()),
        }
        if status != 200 or intent.get("status") != "succeeded":
            error = intent.get("error") or {}
            self.invoice_payments[payment_id] = payment
            self._event("invoice.payment_failed", invoice)
            raise StripeFail(
                402,
                error.get("message") or "Your card was declined.",
                type_="card_error",
                code=error.get("code") or "card_declined",
                decline_code="generic_decline",
            )
        payment["status"] = "paid"
        payment["amount_paid"] = payment["amount_requested"]
        self.invoice_payments[payment_id] = payment
        self._paid[intent["id"]] = payment["amount_requested"]
        self._mark_paid(invoice)
        return self._export(invoice, params)

    async def void(self, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
        invoice = self._invoice(invoice_id)
        if invoice["status"] != "open":
            raise StripeFail(400, "You can only void an open invoice.")
        invoice["status"] = "void"
        invoice["status_transitions"]["voided_at"] = int(time.time())
        self._event("invoice.voided", invoice)
        return self._export(invoice, params)

    async def list_invoice_payments(self, params: dict[str, Any]) -> dict[str, Any]:
        data = [
            p
            for p in self.invoice_payments.values()
            if params.get("invoice") in (None, p["invoice"])
        ]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/invoice_payments"}

    # --- credit notes, refunds, checkout ------------------------------------------------------

    async def create_credit_note(self, params: dict[str, Any]) -> dict[str, Any]:
        invoice = self._invoice(str(params.get("invoice")))
        amount = _int(params.get("amount"), "amount")
        if invoice["status"] != "open":
            raise StripeFail(400, "This fake credits open invoices only.")
        if not 0 < amount <= invoice["amount_remaining"]:
            raise StripeFail(
                400,
                f"The credit note amount ({amount}) must be positive and at most the amount "
                f"remaining ({invoice['amount_remaining']}).",
                param="amount",
            )
        note = {
            "id": _new_id("cn"),
            "object": "credit_note",
            "invoice": invoice["id"],
            "customer": invoice["customer"],
            "amount": amount,
            "currency": invoice["currency"],
            "memo": params.get("memo"),
            "metadata": params.get("metadata") or {},
            "status": "issued",
            "type": "pre_payment",
            "created": int(time.time()),
        }
        self.credit_notes[note["id"]] = note
        invoice["pre_payment_credit_notes_amount"] += amount
        invoice["amount_remaining"] -= amount
        invoice["amount_due"] = invoice["amount_remaining"]
        if invoice["amount_remaining"] == 0:
            self._mark_paid(invoice)
        return note

    async def list_credit_notes(self, params: dict[str, Any]) -> dict[str, Any]:
        data = [
            n for n in self.credit_notes.values() if params.get("invoice") in (None, n["invoice"])
        ]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/credit_notes"}

    async def create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        intent = params.get("payment_intent")
        if isinstance(intent, str) and intent in self._paid:
            left = self._paid[intent] - self._refunded[intent]
            amount = _int(params.get("amount", left), "amount")
            if amount > left:
                raise StripeFail(
                    400,
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                    f"({left})",
                    code="amount_too_large",
                    param="amount",
                )
        status, body = await self.upstream_call("POST", "/v1/refunds", params)
        if status != 200:
            raise StripeFail(status, body["error"].get("message", "refund refused"))
        if isinstance(intent, str):
            self._refunded[intent] += body["amount"]
        return body

    async def create_checkout_session(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") != "setup":
            raise StripeFail(400, "This fake offers Checkout in setup mode only.", param="mode")
        customer = await self._customer(params.get("customer"))
        session_id = f"cs_{secrets.token_hex(12)}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "setup",
            "customer": customer["id"],
            "status": "open",
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.base}/checkout/{session_id}",
            "setup_intent": None,
        }
        self.checkout_sessions[session_id] = session
        return session


def _stripe_shaped(status: int, body: Any) -> Any:
    """localstripe's errors in Stripe's shape: a missing object has `resource_missing`."""
    if status == 404 and isinstance(body, dict) and isinstance(body.get("error"), dict):
        body["error"].setdefault("code", "resource_missing")
    return body


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A tree into Stripe's form encoding (for the requests this fake sends to localstripe)."""
    if isinstance(data, dict):
        out: list[tuple[str, str]] = []
        for key, value in data.items():
            out += _flatten(value, f"{prefix}[{key}]" if prefix else key)
        return out
    if isinstance(data, list):
        return [pair for i, v in enumerate(data) for pair in _flatten(v, f"{prefix}[{i}]")]
    return [(prefix, str(data))]


class FakeStripeServer:
    """The fake served by uvicorn on 127.0.0.1 in a thread with its own event loop."""

    def __init__(self, fake: FakeStripe, port: int) -> None:
        self.fake = fake
        self.port = port
        fake.base = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            fake.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=asyncio.run, args=(self.server.serve(),), daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the fake Stripe did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
