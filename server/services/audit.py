"""Writing to the append-only audit log. Callers commit; this only adds the entry."""

from dataclasses import dataclass

from ..extensions import db
from ..models import AuditEntry, User


@dataclass(frozen=True)
class Actor:
    """Who acted, as the audit log and the version history name them.

    A use case that commits before its main transaction (to take a lock) keeps this
    instead of the User row, which the commit expires: naming the actor afterwards then
    costs no query.
    """

    id: int
    username: str

    @classmethod
    def of(cls, user: User) -> "Actor":
        """Return the actor for a user row."""
        return cls(user.id, user.username)


def record(
    action: str,
    *,
    actor: User | Actor | None = None,
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
