"""Production hardening: append-only logs cannot be truncated (PostgreSQL).

The row triggers of 0001, sync_0001 and 0200_audit refuse UPDATE and DELETE, but PostgreSQL's
TRUNCATE fires no row trigger: a statement trigger refuses it too. SQLite has no TRUNCATE
(``DELETE FROM t`` without WHERE still fires the row triggers).

Revision ID: 0700_ops
Revises: 0300_console
"""

import sqlalchemy as sa
from alembic import op

revision = "0700_ops"
down_revision = "0300_console"
branch_labels = ("ops",)
depends_on = "0200_audit"

APPEND_ONLY_TABLES = ("audit_entry", "household_version", "submission_review",
                      "ledger_transition")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # ruhu_append_only() comes with revision 0001; it raises whatever the trigger's level.
    for table in APPEND_ONLY_TABLES:
        op.execute(sa.text(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ruhu_append_only()"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in APPEND_ONLY_TABLES:
        op.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"))
