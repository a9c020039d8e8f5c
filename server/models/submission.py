"""Submissions from the phones: each survey once, its photos, its review trail, merge locks."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .clock import utcnow
from .filled_index import filled_index

# The file's media state: a survey is complete once every photo it listed has arrived.
STATUSES = ("awaiting_media", "complete")
# Where the survey stands in the master record: held waits for an earlier link of the
# phone's chain; merged went in; discarded was rejected before it was ever merged.
MERGE_STATES = ("held", "merged", "discarded")
# The supervisor's review, a closed set; every transition is kept in SubmissionReview.
REVIEW_STATES = ("received", "approved", "has_issues", "rejected")
REVIEW_TRANSITIONS = {
    "received": ("approved", "has_issues", "rejected"),
    "has_issues": ("approved", "rejected", "received"),
    "approved": ("has_issues",),
    "rejected": (),
}


class Submission(db.Model):
    """One survey as the phone sent it, accepted exactly once (unique instance_id)."""

    __tablename__ = "submission"
    __table_args__ = (
        filled_index("ix_submission_previous_instance_id", "previous_instance_id"),
        filled_index("ix_submission_corrects_instance_id", "corrects_instance_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36), unique=True)
    # SHA-256 of the canonical body: a retry with the same hash is the same submission.
    body_hash: Mapped[str] = mapped_column(String(64))
    form_id: Mapped[str] = mapped_column(String(64))
    form_version: Mapped[str] = mapped_column(String(32))
    # Found through ix_submission_household_completed_state (migration 0701), led by it.
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    base_version: Mapped[int | None] = mapped_column(Integer)
    # Filled on few rows; indexed where filled (__table_args__).
    previous_instance_id: Mapped[str | None] = mapped_column(String(36))
    corrects_instance_id: Mapped[str | None] = mapped_column(String(36))
    submitted_by: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    investigator_ids: Mapped[list] = mapped_column(JSON, default=list)
    device_id: Mapped[str] = mapped_column(String(100), default="")
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    location: Mapped[dict | None] = mapped_column(JSON)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    # The partial record its form binds (domain/binding.py): what it asks to change.
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="awaiting_media")
    merge_state: Mapped[str] = mapped_column(String(12), default="held", index=True)
    review_state: Mapped[str] = mapped_column(String(12), default="received", index=True)
    review_comment: Mapped[str | None] = mapped_column(Text)
    # After the merge: the household version it produced (or found, when nothing changed),
    # the changes it applied and how its base was made ({"version", "chain"}).
    household_version: Mapped[int | None] = mapped_column(Integer)
    applied: Mapped[list] = mapped_column(JSON, default=list)
    merge_base: Mapped[dict | None] = mapped_column(JSON)
    assessment: Mapped[dict | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    merged_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Commit-ordered number of the last change of this submission's outcome: the cursor of
    # GET /submissions?mine=1&since=... (taken from the household change counter).
    outcome_seq: Mapped[int] = mapped_column(BigInteger, default=0, index=True)

    media: Mapped[list["SubmissionMedia"]] = relationship(
        back_populates="submission",
        cascade="all, delete-orphan",
        order_by="SubmissionMedia.id",
    )
    reviews: Mapped[list["SubmissionReview"]] = relationship(
        cascade="all, delete-orphan", order_by="SubmissionReview.id"
    )
    conflicts: Mapped[list["Conflict"]] = relationship(  # noqa: F821
        back_populates="submission", order_by="Conflict.id"
    )


class SubmissionMedia(db.Model):
    """A photo or signature a submission listed; received once its bytes arrived verified."""

    __tablename__ = "submission_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(String(64), default="")
    category: Mapped[str | None] = mapped_column(String(32))
    captured_at: Mapped[datetime | None] = mapped_column(DateTime)
    location: Mapped[dict | None] = mapped_column(JSON)
    received_at: Mapped[datetime | None] = mapped_column(DateTime)

    submission: Mapped[Submission] = relationship(back_populates="media")

    __table_args__ = (
        db.UniqueConstraint("submission_id", "sha256", name="uq_submission_media_sha256"),
    )


class SubmissionReview(db.Model):
    """One review transition (append-only): who moved the submission where, when and why."""

    __tablename__ = "submission_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    from_state: Mapped[str] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    comment: Mapped[str] = mapped_column(Text, default="")


class SyncLock(db.Model):
    """A row to lock when no household row exists yet (a submission creating a household)."""

    __tablename__ = "sync_lock"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
