"""The review queue counts from its own summary (bench/scale_bench.py: 500,000 submissions).

`review_flags` gets copies of the submission's household, review state and visit time, so
the queue's counts per review state and per flag (and its first page) read the summary
alone instead of joining every submission. They are refreshed with the other flags
(services/review_queue.refresh_flags): whatever changes them moves the submission's
`outcome_seq` (a review, a held link merging into a household). Existing rows are filled
from their submissions here.

Revision ID: 0702_review_flags_scope
Revises: 0701_scale_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0702_review_flags_scope"
down_revision = "0701_scale_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("review_flags", sa.Column("household_id", sa.Integer(), nullable=True))
    op.add_column("review_flags", sa.Column("review_state", sa.String(12), nullable=True))
    op.add_column("review_flags", sa.Column("completed_at", sa.DateTime(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(
            "UPDATE review_flags SET household_id = s.household_id, "
            "review_state = s.review_state, completed_at = s.completed_at "
            "FROM submission s WHERE s.id = review_flags.submission_id"))
    else:
        op.execute(sa.text(
            "UPDATE review_flags SET "
            "household_id = (SELECT household_id FROM submission s "
            "WHERE s.id = review_flags.submission_id), "
            "review_state = (SELECT review_state FROM submission s "
            "WHERE s.id = review_flags.submission_id), "
            "completed_at = (SELECT completed_at FROM submission s "
            "WHERE s.id = review_flags.submission_id)"))
    op.create_index("ix_review_flags_state_completed", "review_flags",
                    ["review_state", "completed_at", "submission_id"])
    op.create_index("ix_review_flags_household_state", "review_flags",
                    ["household_id", "review_state"])


def downgrade() -> None:
    op.drop_index("ix_review_flags_household_state", table_name="review_flags")
    op.drop_index("ix_review_flags_state_completed", table_name="review_flags")
    with op.batch_alter_table("review_flags") as batch_op:
        batch_op.drop_column("completed_at")
        batch_op.drop_column("review_state")
        batch_op.drop_column("household_id")
