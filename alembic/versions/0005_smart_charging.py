"""Smart charging at work: session goals, plans, station profile state, per-area run leases

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

import backend.db.base
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = backend.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("departure_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("energy_wanted_wh", sa.BigInteger(), nullable=True))

    op.create_table(
        "smart_charging_leases",
        sa.Column("site_area_id", sa.Uuid(), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("expires_at", UTC_TIME, nullable=True),
        sa.Column("last_run_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["site_area_id"],
            ["site_areas.id"],
            name=op.f("fk_smart_charging_leases_site_area_id_site_areas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_area_id", name=op.f("pk_smart_charging_leases")),
    )
    op.create_table(
        "session_plans",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("site_area_id", sa.Uuid(), nullable=True),
        sa.Column("planned_at", UTC_TIME, nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("offered_a", sa.Double(), nullable=True),
        sa.Column("learned_max_a", sa.Double(), nullable=True),
        sa.Column("phases", sa.String(length=3), nullable=True),
        sa.Column("profile_set", sa.Boolean(), nullable=False),
        sa.Column("pushed_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["charging_sessions.id"],
            name=op.f("fk_session_plans_session_id_charging_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_area_id"],
            ["site_areas.id"],
            name=op.f("fk_session_plans_site_area_id_site_areas"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_plans")),
    )
    with op.batch_alter_table("session_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_plans_site_area_id"), ["site_area_id"], unique=False
        )
    op.create_table(
        "station_smart_charging",
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("default_limit_a", sa.Double(), nullable=True),
        sa.Column("default_set_at", UTC_TIME, nullable=True),
        sa.Column("refused_at", UTC_TIME, nullable=True),
        sa.Column("refusal", sa.String(length=200), nullable=True),
        sa.Column("max_periods", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["charging_stations.id"],
            name=op.f("fk_station_smart_charging_station_id_charging_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_station_smart_charging")),
    )


def downgrade() -> None:
    op.drop_table("station_smart_charging")
    with op.batch_alter_table("session_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_plans_site_area_id"))
    op.drop_table("session_plans")
    op.drop_table("smart_charging_leases")
    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.drop_column("energy_wanted_wh")
        batch_op.drop_column("departure_at")
