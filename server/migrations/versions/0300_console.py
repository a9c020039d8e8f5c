"""console: sampling draws, review queue flags

Revision ID: 0300_console
Revises: 0001
Create Date: 2026-11-22

The supervisor console line of issue 6: reproducible sampling draws (the villages drawn and
the households always visited) and the review queue's summary of each submission, with the
indexes its filters need. It depends on the sync line, whose submission table it refers to.
"""

import sqlalchemy as sa
from alembic import op

revision = "0300_console"
down_revision = "0001"
branch_labels = ("console",)
depends_on = "sync_0001"


def upgrade() -> None:
    op.create_table(
        "sampling_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=True),
        sa.Column("village_share", sa.Float(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("drawn_by", sa.Integer(), nullable=True),
        sa.Column("drawn_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["drawn_by"], ["user.id"], name=op.f("fk_sampling_run_drawn_by_user")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_sampling_run_region_id_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sampling_run")),
    )
    with op.batch_alter_table("sampling_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sampling_run_region_id"), ["region_id"], unique=False)

    op.create_table(
        "review_flags",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("outcome_seq", sa.BigInteger(), nullable=False),
        sa.Column("failed_checks", sa.Integer(), nullable=False),
        sa.Column("county_review", sa.Boolean(), nullable=False),
        sa.Column("missing_media", sa.Integer(), nullable=False),
        sa.Column("open_conflicts", sa.Integer(), nullable=False),
        sa.Column("clean", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_review_flags_submission_id_submission"),
        ),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_review_flags")),
    )
    with op.batch_alter_table("review_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_flags_clean"), ["clean"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_review_flags_outcome_seq"), ["outcome_seq"], unique=False
        )

    op.create_table(
        "sample_household",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_sample_household_household_id_household"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sampling_run.id"], name=op.f("fk_sample_household_run_id_sampling_run")
        ),
        sa.ForeignKeyConstraint(
            ["township_id"], ["region.id"], name=op.f("fk_sample_household_township_id_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sample_household")),
    )
    with op.batch_alter_table("sample_household", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sample_household_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sample_household_run_id"), ["run_id"], unique=False)

    op.create_table(
        "sample_village",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sampling_run.id"], name=op.f("fk_sample_village_run_id_sampling_run")
        ),
        sa.ForeignKeyConstraint(
            ["township_id"], ["region.id"], name=op.f("fk_sample_village_township_id_region")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["region.id"], name=op.f("fk_sample_village_village_id_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sample_village")),
    )
    with op.batch_alter_table("sample_village", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sample_village_township_run", ["township_id", "run_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sample_village_village_id"), ["village_id"], unique=False
        )

    op.create_table(
        "submission_investigator",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_submission_investigator_submission_id_submission"),
        ),
        sa.PrimaryKeyConstraint(
            "submission_id", "user_id", name=op.f("pk_submission_investigator")
        ),
    )
    with op.batch_alter_table("submission_investigator", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_investigator_user_id"), ["user_id"], unique=False
        )

    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index("ix_submission_completed_at", ["completed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_completed_at")

    with op.batch_alter_table("submission_investigator", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_investigator_user_id"))

    op.drop_table("submission_investigator")
    with op.batch_alter_table("sample_village", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sample_village_village_id"))
        batch_op.drop_index("ix_sample_village_township_run")

    op.drop_table("sample_village")
    with op.batch_alter_table("sample_household", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sample_household_run_id"))
        batch_op.drop_index(batch_op.f("ix_sample_household_household_id"))

    op.drop_table("sample_household")
    with op.batch_alter_table("review_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_flags_outcome_seq"))
        batch_op.drop_index(batch_op.f("ix_review_flags_clean"))

    op.drop_table("review_flags")
    with op.batch_alter_table("sampling_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sampling_run_region_id"))

    op.drop_table("sampling_run")
