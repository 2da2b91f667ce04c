"""System logs: OCPP errors, security events and jobs, browsable by admins, with retention

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

import backend.db.base
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = backend.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "system_logs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column(
            "level",
            sa.Enum("info", "warning", "error", name="loglevel", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column(
            "category",
            sa.Enum(
                "ocpp",
                "security",
                "admin",
                "billing",
                "system",
                name="logcategory",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=True),
        sa.Column("ocpp_identity", sa.String(length=48), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("message", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["charging_stations.id"],
            name=op.f("fk_system_logs_station_id_charging_stations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_system_logs_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_logs")),
    )
    with op.batch_alter_table("system_logs", schema=None) as batch_op:
        batch_op.create_index("ix_system_logs_at", ["at"], unique=False)
        batch_op.create_index("ix_system_logs_category_at", ["category", "at"], unique=False)
        batch_op.create_index("ix_system_logs_level_at", ["level", "at"], unique=False)
        batch_op.create_index("ix_system_logs_station_id_at", ["station_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_system_logs_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("system_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_system_logs_user_id"))
        batch_op.drop_index("ix_system_logs_station_id_at")
        batch_op.drop_index("ix_system_logs_level_at")
        batch_op.drop_index("ix_system_logs_category_at")
        batch_op.drop_index("ix_system_logs_at")
    op.drop_table("system_logs")
