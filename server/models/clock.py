"""The one clock the models use (naive UTC, as both SQLite and PostgreSQL store it)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
