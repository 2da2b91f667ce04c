"""Invoices, their lines, refunds, and what the payment provider knows of each user.

- `invoices`: one per session, or per user, currency and month (`billing_mode`). Numbered at
  issue from `invoice_counters` (consecutive per year across every process), with the buyer
  copied (an invoice never changes when the profile does). `sync_state` says where mirroring
  it to the payment provider stands; `next_attempt_at` is when the billing worker has work on
  it (push, retry, email), NULL once it has none; `claimed_until` is the lease of the worker
  busy with it, so two processes never push the same invoice.
- `invoice_lines`: one per priced component of each session (a copy of the session's cost
  lines in minor units, with a description in the buyer's language).
- `refunds`: money given back on a session's lines (a provider refund when paid, else a credit
  note), reserved on the invoice (`refunded_minor`) as soon as it is asked for.
- `billing_accounts`, `payment_events`: the provider's customer and payment method of a user,
  and the webhook events already handled (de-duplication), kept by `backend.payments`.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, Timestamps, UUIDPrimaryKey, utcnow
from backend.db.models.enums import str_enum
from backend.domain.billing.gateway import PaymentState


class BillingState(enum.StrEnum):
    """Where a charging session stands in billing."""

    # Running, or stopped with its cost not final yet (connector not Available again).
    UNBILLED = "unbilled"
    # Final, and not billed (`billing_note` says why).
    NOT_BILLABLE = "not_billable"
    # Final and billable: waiting for its invoice.
    PENDING = "pending"
    INVOICED = "invoiced"


class BillingNote(enum.StrEnum):
    """Why a session is not billed."""

    NO_TARIFF = "no_tariff"
    BELOW_MINIMUM = "below_minimum"
    ZERO_COST = "zero_cost"
    NO_USER = "no_user"
    # Completed before billing existed (migration 0006): never invoiced after the fact.
    BEFORE_BILLING = "before_billing"


class InvoiceKind(enum.StrEnum):
    SESSION = "session"
    MONTHLY = "monthly"


class SyncState(enum.StrEnum):
    """Mirroring the invoice to the payment provider."""

    PENDING = "pending"
    SYNCED = "synced"
    # Refused for good (a non-retryable error, or too many attempts): `last_error` says why.
    FAILED = "failed"


class RefundKind(enum.StrEnum):
    REFUND = "refund"  # money back on the payment
    CREDIT_NOTE = "credit_note"  # the invoice was not paid (or is local): its amount is reduced


class RefundState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class InvoiceCounter(Base):
    """The last invoice number handed out each year (incremented under the row's lock)."""

    __tablename__ = "invoice_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class Invoice(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "invoices"

    number: Mapped[str] = mapped_column(String(40), unique=True)
    # The buyer's account; the invoice keeps its own copy of the buyer below.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[InvoiceKind] = mapped_column(str_enum(InvoiceKind))
    # Monthly invoices: the calendar month (UTC) of the sessions' stops, [start, end).
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    currency: Mapped[str] = mapped_column(String(3))
    # Minor units of `currency` (cents): never floats. Sums of the lines.
    subtotal_excl_vat_minor: Mapped[int] = mapped_column(BigInteger)
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    total_incl_vat_minor: Mapped[int] = mapped_column(BigInteger)
    # Refunds and credit notes asked for (pending or done), incl. VAT.
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_state: Mapped[PaymentState] = mapped_column(
        str_enum(PaymentState), default=PaymentState.LOCAL
    )
    provider: Mapped[str] = mapped_column(String(16))  # "local" | "stripe"
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    hosted_url: Mapped[str | None] = mapped_column(String(1000))
    sync_state: Mapped[SyncState] = mapped_column(str_enum(SyncState), default=SyncState.PENDING)
    sync_attempts: Mapped[int] = mapped_column(default=0)
    # When the billing worker should next work on it (push, retry, email); NULL: nothing to do.
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    issued_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]
    # The buyer at issue time.
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_email: Mapped[str | None] = mapped_column(String(254))
    buyer_address: Mapped[str | None] = mapped_column(String(600))  # lines joined by "\n"
    buyer_language: Mapped[str] = mapped_column(String(8), default="en")

    __table_args__ = (
        Index("ix_invoices_user_id_issued_at", "user_id", "issued_at"),
        Index("ix_invoices_issued_at", "issued_at"),
        Index("ix_invoices_payment_state_issued_at", "payment_state", "issued_at"),
        Index("ix_invoices_sync_state", "sync_state"),
    )


class InvoiceLine(UUIDPrimaryKey, Base):
    __tablename__ = "invoice_lines"

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("charging_sessions.id", ondelete="SET NULL"), index=True
    )
    # The session's site when invoiced: site admins see the invoices of their sites.
    site_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL"), index=True
    )
    position: Mapped[int]
    dimension: Mapped[str] = mapped_column(String(16))  # ENERGY, TIME, PARKING_TIME, FLAT
    description: Mapped[str] = mapped_column(String(300))
    # Decimal strings, as the pricing engine gave them.
    quantity: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(16))
    unit_price: Mapped[str] = mapped_column(String(32))
    amount_excl_vat_minor: Mapped[int] = mapped_column(BigInteger)
    vat_percent: Mapped[str] = mapped_column(String(16))
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    amount_incl_vat_minor: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("invoice_id", "position"),)


class Refund(UUIDPrimaryKey, Base):
    __tablename__ = "refunds"

    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("charging_sessions.id", ondelete="SET NULL"), index=True
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # incl. VAT
    reason: Mapped[str] = mapped_column(String(500))
    kind: Mapped[RefundKind] = mapped_column(str_enum(RefundKind))
    external_id: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[RefundState] = mapped_column(str_enum(RefundState), default=RefundState.PENDING)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Sending it to the provider (retried by the billing worker, idempotent on the id).
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    done_at: Mapped[datetime | None]


class BillingAccount(Base):
    """A user as the payment provider knows them: customer and default payment method."""

    __tablename__ = "billing_accounts"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # A hash of what was last sent to the provider (name, email, language): unchanged, no call.
    customer_synced_hash: Mapped[str | None] = mapped_column(String(64))
    payment_method_id: Mapped[str | None] = mapped_column(String(255))
    payment_method_brand: Mapped[str | None] = mapped_column(String(32))
    payment_method_last4: Mapped[str | None] = mapped_column(String(4))
    payment_method_exp_month: Mapped[int | None]
    payment_method_exp_year: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaymentEvent(Base):
    """A provider webhook event already handled (providers deliver at least once)."""

    __tablename__ = "payment_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
