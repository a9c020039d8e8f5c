"""A payment roll can be withdrawn, alone or replaced by a corrected roll of the same
township and month; it stays on record with who withdrew it, when and why.

Revision ID: 0201_payment_roll_withdrawal
Revises: 0200_audit

Existing rolls are all current. `replaces_id` is unique: a roll is replaced at most once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0201_payment_roll_withdrawal"
down_revision = "0200_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "payment_roll",
        sa.Column("state", sa.String(length=12), server_default="current", nullable=False),
    )
    add_reference("replaces_id", "payment_roll")
    op.add_column("payment_roll", sa.Column("withdrawn_at", sa.DateTime(), nullable=True))
    add_reference("withdrawn_by", "user")
    op.add_column("payment_roll", sa.Column("withdrawn_reason", sa.Text(), nullable=True))
    op.create_index("ix_payment_roll_replaces_id", "payment_roll", ["replaces_id"], unique=True)


def add_reference(column: str, table: str) -> None:
    """Add a nullable integer column referencing `table`.id to payment_roll.

    SQLite cannot add a constraint to a table, but it can add a column that carries its
    REFERENCES clause (batch mode would copy the table, whose rows other tables reference).
    """
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            sa.text(
                f'ALTER TABLE payment_roll ADD COLUMN {column} INTEGER REFERENCES "{table}" (id)'
            )
        )
        return
    op.add_column("payment_roll", sa.Column(column, sa.Integer(), nullable=True))
    op.create_foreign_key(
        f"fk_payment_roll_{column}_{table}", "payment_roll", table, [column], ["id"]
    )


def downgrade() -> None:
    with op.batch_alter_table("payment_roll") as batch_op:
        batch_op.drop_index("ix_payment_roll_replaces_id")
        for column in ("withdrawn_reason", "withdrawn_by", "withdrawn_at", "replaces_id", "state"):
            batch_op.drop_column(column)
