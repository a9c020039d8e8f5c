"""Stored media: one row per distinct content (SHA-256), whatever submissions list it."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .clock import utcnow


class MediaObject(db.Model):
    """A verified image stored content-addressed, with the evidence read from its EXIF."""

    __tablename__ = "media_object"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # Evidence kept from EXIF: {"taken_at", "lat", "lon", "orientation", "make", "model"}.
    exif: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
