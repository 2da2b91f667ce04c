"""Data rights: restriction and objection, erasure requests, warnings and pseudonyms on users

The new role "dpo" (data protection officer) needs no DDL: roles are stored as short strings.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

import backend.db.base
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = backend.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "exclude_from_analytics", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "nonessential_notifications",
                sa.Boolean(),
                server_default=sa.true(),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("objections", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("erasure_requested_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("erasure_warning_sent_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("erased_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("pseudonym", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # Demote data protection officers: the role does not exist before this revision.
    op.execute("UPDATE users SET role = 'basic' WHERE role = 'dpo'")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("pseudonym")
        batch_op.drop_column("erased_at")
        batch_op.drop_column("erasure_warning_sent_at")
        batch_op.drop_column("erasure_requested_at")
        batch_op.drop_column("objections")
        batch_op.drop_column("nonessential_notifications")
        batch_op.drop_column("exclude_from_analytics")
