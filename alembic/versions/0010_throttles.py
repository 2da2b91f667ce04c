"""Throttles: failed logins and emails sent on request, per client address (hashed), per window

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

import backend.db.base
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = backend.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "throttle_windows",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_started_at", UTC_TIME, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttle_windows")),
    )
    op.create_index(
        "ix_throttle_windows_window_started_at",
        "throttle_windows",
        ["window_started_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_throttle_windows_window_started_at", table_name="throttle_windows")
    op.drop_table("throttle_windows")
