"""Merge conflicts waiting for a supervisor: the server value stays until one is resolved."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .clock import utcnow

CONFLICT_STATUSES = ("open", "resolved", "dismissed")


class Conflict(db.Model):
    """One field (or whole item) two sources changed differently since a common base."""

    __tablename__ = "conflict"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    path: Mapped[str] = mapped_column(String(80))
    base_value: Mapped[Any] = mapped_column(JSON)
    server_value: Mapped[Any] = mapped_column(JSON)
    submitted_value: Mapped[Any] = mapped_column(JSON)
    # The two sources: the household version whose value stands, and what wrote it.
    server_version: Mapped[int] = mapped_column(Integer)
    server_source: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="open")
    resolution_value: Mapped[Any] = mapped_column(JSON)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    submission = relationship("Submission", back_populates="conflicts")

    # The open-conflict flag of a household is "any row here with status open": indexed.
    __table_args__ = (db.Index("ix_conflict_household_status", "household_id", "status"),)
