"""Tariffs; the tariff frozen into each session; session costs and cost per meter sample

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

import backend.db.base
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = backend.db.base.UTCDateTime(timezone=True)
SCOPE = sa.Enum(
    "organization",
    "site",
    "site_area",
    "station",
    name="tariffscope",
    native_enum=False,
    length=16,
)


def upgrade() -> None:
    op.create_table(
        "tariffs",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("vat_percent", sa.String(length=16), nullable=False),
        sa.Column("elements", sa.JSON(), nullable=False),
        sa.Column("scope", SCOPE, nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=True),
        sa.Column("site_id", sa.Uuid(), nullable=True),
        sa.Column("valid_from", UTC_TIME, nullable=True),
        sa.Column("valid_until", UTC_TIME, nullable=True),
        sa.Column("retired_at", UTC_TIME, nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_tariffs_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_tariffs_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariffs")),
    )
    with op.batch_alter_table("tariffs", schema=None) as batch_op:
        batch_op.create_index("ix_tariffs_scope_target_id", ["scope", "target_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tariffs_site_id"), ["site_id"], unique=False)

    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tariff_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("tariff_snapshot", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("cost_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("cost_excl_vat_minor", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("cost_vat_minor", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("cost_incl_vat_minor", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("cost_lines", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("cost_state", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("available_at", UTC_TIME, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_charging_sessions_tariff_id"), ["tariff_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_charging_sessions_tariff_id_tariffs"),
            "tariffs",
            ["tariff_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("meter_samples", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cost_excl_vat_minor", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("cost_incl_vat_minor", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meter_samples", schema=None) as batch_op:
        batch_op.drop_column("cost_incl_vat_minor")
        batch_op.drop_column("cost_excl_vat_minor")

    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_charging_sessions_tariff_id_tariffs"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_charging_sessions_tariff_id"))
        batch_op.drop_column("available_at")
        batch_op.drop_column("cost_state")
        batch_op.drop_column("cost_lines")
        batch_op.drop_column("cost_incl_vat_minor")
        batch_op.drop_column("cost_vat_minor")
        batch_op.drop_column("cost_excl_vat_minor")
        batch_op.drop_column("cost_currency")
        batch_op.drop_column("tariff_snapshot")
        batch_op.drop_column("tariff_id")

    with op.batch_alter_table("tariffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tariffs_site_id"))
        batch_op.drop_index("ix_tariffs_scope_target_id")
    op.drop_table("tariffs")
