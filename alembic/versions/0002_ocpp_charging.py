"""OCPP charging: registration tokens, unknown badges, 1.6 transaction ids, curve bookkeeping

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:42:21.573918
"""

from collections.abc import Sequence

import sqlalchemy as sa

import backend.db.base
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_area_registration_tokens",
        sa.Column("site_area_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", backend.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", backend.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", backend.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_site_area_registration_tokens_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["site_area_id"],
            ["site_areas.id"],
            name=op.f("fk_site_area_registration_tokens_site_area_id_site_areas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_area_registration_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_site_area_registration_tokens_token_hash")),
    )
    with op.batch_alter_table("site_area_registration_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_site_area_registration_tokens_site_area_id"),
            ["site_area_id"],
            unique=False,
        )

    op.create_table(
        "ocpp_transaction_ids",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("station_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", backend.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["charging_stations.id"],
            name=op.f("fk_ocpp_transaction_ids_station_id_charging_stations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp_transaction_ids")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "unknown_badges",
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("first_seen_at", backend.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", backend.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["charging_stations.id"],
            name=op.f("fk_unknown_badges_station_id_charging_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unknown_badges")),
        sa.UniqueConstraint("uid", "station_id", name=op.f("uq_unknown_badges_uid_station_id")),
    )
    with op.batch_alter_table("unknown_badges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unknown_badges_last_seen_at"), ["last_seen_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_unknown_badges_station_id"), ["station_id"], unique=False
        )

    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_meter_wh", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("last_sample_at", backend.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_power_w", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("closed_by_csms", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("meter_samples", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_energy_wh", sa.BigInteger(), nullable=True))
        # One row per instant and session: repeated meter values merge instead of counting twice.
        batch_op.drop_index(batch_op.f("ix_meter_samples_session_id_sampled_at"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_meter_samples_session_id_sampled_at"), ["session_id", "sampled_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("meter_samples", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_meter_samples_session_id_sampled_at"), type_="unique"
        )
        batch_op.create_index(
            batch_op.f("ix_meter_samples_session_id_sampled_at"),
            ["session_id", "sampled_at"],
            unique=False,
        )
        batch_op.drop_column("session_energy_wh")

    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.drop_column("closed_by_csms")
        batch_op.drop_column("last_power_w")
        batch_op.drop_column("last_sample_at")
        batch_op.drop_column("last_meter_wh")

    with op.batch_alter_table("unknown_badges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unknown_badges_station_id"))
        batch_op.drop_index(batch_op.f("ix_unknown_badges_last_seen_at"))

    op.drop_table("unknown_badges")
    op.drop_table("ocpp_transaction_ids")
    with op.batch_alter_table("site_area_registration_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_area_registration_tokens_site_area_id"))

    op.drop_table("site_area_registration_tokens")
