"""Fewer index pages written by each merge.

A survey merge inserts a submission and a household version. Each index on them is one more
B-tree page changed, written to SQLite's WAL at the commit and copied back at the next
checkpoint (on PostgreSQL one more index insertion and its WAL): a merge changed 34 pages.
Five of those indexes gave no lookup anything another index does not:

* `ix_submission_household_id` and `ix_household_version_household_id`: a household's
  submissions are found by `ix_submission_household_completed_state` and its versions by
  the unique (household_id, version) constraint, both led by household_id.
* `previous_instance_id`, `corrects_instance_id` (submission) and `prev_village_id`
  (household_version) are empty on nearly every row: only a continued survey, a correction
  or a move fills them, and only those are ever looked up (`= x` or `IN (...)`, which
  imply NOT NULL, so both engines use a partial index for them). Their indexes now hold
  only the filled rows.

A merge now changes 29 pages (bench/README.md, merge pass 11).

Revision ID: 0703_lean_write_indexes
Revises: 0702_review_flags_scope
"""

import sqlalchemy as sa
from alembic import op

revision = "0703_lean_write_indexes"
down_revision = "0702_review_flags_scope"
branch_labels = None
depends_on = None

# (index, table, column) made partial: only rows where the column is filled.
PARTIAL = (
    ("ix_submission_previous_instance_id", "submission", "previous_instance_id"),
    ("ix_submission_corrects_instance_id", "submission", "corrects_instance_id"),
    ("ix_household_version_prev_village_id", "household_version", "prev_village_id"),
)
# (index, table, column) dropped: another index leads with the same column.
COVERED = (
    ("ix_submission_household_id", "submission", "household_id"),
    ("ix_household_version_household_id", "household_version", "household_id"),
)


def _filled(column: str) -> dict:
    where = sa.text(f"{column} IS NOT NULL")
    return {"sqlite_where": where, "postgresql_where": where}


def upgrade() -> None:
    for name, table, column in PARTIAL:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column], **_filled(column))
    for name, table, _column in COVERED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, column in COVERED:
        op.create_index(name, table, [column])
    for name, table, column in PARTIAL:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column])
