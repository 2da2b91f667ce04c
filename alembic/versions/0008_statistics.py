"""Statistics: the sessions' start-time index covers what the statistics add up (PostgreSQL)

The aggregates of `backend.domain.statistics` read, for the sessions in a range of start
times, only the station, driver, stop, energy, inactivity and cost columns. On PostgreSQL the
index on `started_at` now INCLUDEs them, so those queries are index-only scans of about 100
bytes per session instead of reading the whole, wide session rows (frozen tariff, cost lines
and state are JSON). SQLite has no INCLUDE: its index stays as it was.

The index is rebuilt inside the migration's transaction (migrations hold an advisory lock for
their whole transaction, so CREATE INDEX CONCURRENTLY cannot be used): writes to
charging_sessions wait meanwhile, about 2 s per million sessions.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_charging_sessions_started_at"
COVERED = [
    "station_id",
    "user_id",
    "stopped_at",
    "energy_wh",
    "inactivity_s",
    "cost_currency",
    "cost_excl_vat_minor",
    "cost_incl_vat_minor",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(INDEX, table_name="charging_sessions")
    op.create_index(
        INDEX, "charging_sessions", ["started_at"], unique=False, postgresql_include=COVERED
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(INDEX, table_name="charging_sessions")
    op.create_index(INDEX, "charging_sessions", ["started_at"], unique=False)
