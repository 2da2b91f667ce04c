"""Billing: invoices (numbered per year), their lines, refunds, provider accounts and webhook
events; each session's billing state and invoice

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

import backend.db.base
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = backend.db.base.UTCDateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16)


INVOICE_KIND = _enum("invoicekind", "session", "monthly")
PAYMENT_STATE = _enum("paymentstate", "local", "open", "paid", "failed", "void")
SYNC_STATE = _enum("syncstate", "pending", "synced", "failed")
REFUND_KIND = _enum("refundkind", "refund", "credit_note")
REFUND_STATE = _enum("refundstate", "pending", "done", "failed")
BILLING_STATE = _enum("billingstate", "unbilled", "not_billable", "pending", "invoiced")


def upgrade() -> None:
    op.create_table(
        "invoice_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_invoice_counters")),
    )
    op.create_table(
        "payment_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
    )
    op.create_table(
        "billing_accounts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=True),
        sa.Column("customer_synced_hash", sa.String(length=64), nullable=True),
        sa.Column("payment_method_id", sa.String(length=255), nullable=True),
        sa.Column("payment_method_brand", sa.String(length=32), nullable=True),
        sa.Column("payment_method_last4", sa.String(length=4), nullable=True),
        sa.Column("payment_method_exp_month", sa.Integer(), nullable=True),
        sa.Column("payment_method_exp_year", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_billing_accounts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_billing_accounts")),
    )
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_accounts_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "invoices",
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("kind", INVOICE_KIND, nullable=False),
        sa.Column("period_start", UTC_TIME, nullable=True),
        sa.Column("period_end", UTC_TIME, nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_excl_vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_incl_vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("payment_state", PAYMENT_STATE, nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("hosted_url", sa.String(length=1000), nullable=True),
        sa.Column("sync_state", SYNC_STATE, nullable=False),
        sa.Column("sync_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=True),
        sa.Column("claimed_until", UTC_TIME, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("issued_at", UTC_TIME, nullable=False),
        sa.Column("paid_at", UTC_TIME, nullable=True),
        sa.Column("emailed_at", UTC_TIME, nullable=True),
        sa.Column("buyer_name", sa.String(length=200), nullable=False),
        sa.Column("buyer_email", sa.String(length=254), nullable=True),
        sa.Column("buyer_address", sa.String(length=600), nullable=True),
        sa.Column("buyer_language", sa.String(length=8), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_invoices_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("external_id", name=op.f("uq_invoices_external_id")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index("ix_invoices_issued_at", ["issued_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_invoices_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_invoices_payment_state_issued_at", ["payment_state", "issued_at"], unique=False
        )
        batch_op.create_index("ix_invoices_sync_state", ["sync_state"], unique=False)
        batch_op.create_index(
            "ix_invoices_user_id_issued_at", ["user_id", "issued_at"], unique=False
        )

    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("site_id", sa.Uuid(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("unit_price", sa.String(length=32), nullable=False),
        sa.Column("amount_excl_vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_percent", sa.String(length=16), nullable=False),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("amount_incl_vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["charging_sessions.id"],
            name=op.f("fk_invoice_lines_session_id_charging_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_invoice_lines_site_id_sites"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint(
            "invoice_id", "position", name=op.f("uq_invoice_lines_invoice_id_position")
        ),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_lines_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_invoice_lines_site_id"), ["site_id"], unique=False)

    op.create_table(
        "refunds",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("kind", REFUND_KIND, nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("state", REFUND_STATE, nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=True),
        sa.Column("claimed_until", UTC_TIME, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("done_at", UTC_TIME, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_refunds_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_refunds_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["charging_sessions.id"],
            name=op.f("fk_refunds_session_id_charging_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_refunds_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_refunds_session_id"), ["session_id"], unique=False)

    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("billing_state", BILLING_STATE, server_default="unbilled", nullable=False)
        )
        batch_op.add_column(sa.Column("billing_note", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("invoice_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_charging_sessions_billing_state_stopped_at",
            ["billing_state", "stopped_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_charging_sessions_invoice_id"), ["invoice_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_charging_sessions_invoice_id_invoices"),
            "invoices",
            ["invoice_id"],
            ["id"],
            ondelete="SET NULL",
        )

    # Sessions that ended before billing existed are never invoiced after the fact (an upgrade
    # must not email a bill for every past charge); running ones are billed when they end.
    op.execute(
        "UPDATE charging_sessions SET billing_state = 'not_billable', "
        "billing_note = 'before_billing' WHERE status = 'completed'"
    )


def downgrade() -> None:
    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_charging_sessions_invoice_id_invoices"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_charging_sessions_invoice_id"))
        batch_op.drop_index("ix_charging_sessions_billing_state_stopped_at")
        batch_op.drop_column("invoice_id")
        batch_op.drop_column("billing_note")
        batch_op.drop_column("billing_state")

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_session_id"))
        batch_op.drop_index(batch_op.f("ix_refunds_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_refunds_invoice_id"))

    op.drop_table("refunds")
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_site_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_lines_session_id"))

    op.drop_table("invoice_lines")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_user_id_issued_at")
        batch_op.drop_index("ix_invoices_sync_state")
        batch_op.drop_index("ix_invoices_payment_state_issued_at")
        batch_op.drop_index(batch_op.f("ix_invoices_next_attempt_at"))
        batch_op.drop_index("ix_invoices_issued_at")

    op.drop_table("invoices")
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_accounts_customer_id"))

    op.drop_table("billing_accounts")
    op.drop_table("payment_events")
    op.drop_table("invoice_counters")
