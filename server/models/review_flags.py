"""What the review queue filters on, kept in columns: a summary of each submission.

The flags live in a submission's JSON (assessment checks) and in other tables (conflicts,
media). Filtering and counting hundreds of thousands of submissions on JSON is slow and
differs between SQLite and PostgreSQL, so services/review_queue.py keeps this summary, one
row per submission, refreshed from every submission whose `outcome_seq` moved past the
newest one summarised (the sequence is commit-ordered, so none is ever skipped).

It also carries copies of the submission's household, review state and visit time, so the
queue counts and pages without the submission table (migration 0702). They stay right for
the same reason the flags do: whatever changes a submission's review state or household (a
review, a held link merging into its new household) moves its `outcome_seq`.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .submission import Submission


class ReviewFlags(db.Model):
    """The queue's view of one submission."""

    __tablename__ = "review_flags"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), primary_key=True)
    outcome_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    failed_checks: Mapped[int] = mapped_column(Integer, default=0)
    county_review: Mapped[bool] = mapped_column(Boolean, default=False)
    missing_media: Mapped[int] = mapped_column(Integer, default=0)
    open_conflicts: Mapped[int] = mapped_column(Integer, default=0)
    # received, merged, complete, no failed check, no conflict, no missing photo, no county
    # review: what bulk approval may approve.
    clean: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # Copies of the submission's, refreshed with the flags (a review or a held link merging
    # moves `outcome_seq`), so the queue counts and pages from this table alone (0702).
    household_id: Mapped[int | None] = mapped_column(Integer)
    review_state: Mapped[str | None] = mapped_column(String(12))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        db.Index("ix_review_flags_state_completed", "review_state", "completed_at",
                 "submission_id"),
        db.Index("ix_review_flags_household_state", "household_id", "review_state"),
    )


class SubmissionInvestigator(db.Model):
    """One investigator named by a submission (the queue filters by investigator)."""

    __tablename__ = "submission_investigator"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)


# The queue filters and sorts by visit date; the submission table (sync issue) indexes the
# receipt time only. Declared here, next to the queue's other needs, so the metadata knows it.
db.Index("ix_submission_completed_at", Submission.completed_at)
