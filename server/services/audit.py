"""Writing to the append-only audit log. Callers commit; this only adds the entry."""

from ..extensions import db
from ..models import AuditEntry, User


def record(
    action: str,
    *,
    actor: User | None = None,
    object_type: str = "",
    object_id: object = "",
    detail: dict | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Add an audit entry to the current transaction and return it."""
    entry = AuditEntry(
        action=action,
        actor_id=actor.id if actor else None,
        actor_name=actor.username if actor else "system",
        object_type=object_type,
        object_id=str(object_id),
        detail=detail or {},
        ip=ip,
    )
    db.session.add(entry)
    return entry
