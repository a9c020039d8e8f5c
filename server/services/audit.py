"""Writing to the append-only audit log. Callers commit; this only adds the entry."""

from dataclasses import dataclass

from sqlalchemy import insert

from ..models import AuditEntry, User
from ..models.clock import utcnow
from .plain_sql import Plain


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
    def of(cls, user: "User | Actor") -> "Actor":
        """Return the actor for a user row (or for a signed-in auth.Caller)."""
        return cls(user.id, user.username)


_INSERT = Plain(insert(AuditEntry.__table__))


def record(
    action: str,
    *,
    actor: User | Actor | None = None,
    object_type: str = "",
    object_id: object = "",
    detail: dict | None = None,
    ip: str | None = None,
) -> None:
    """Write an audit entry in the current transaction (it stands or falls with it).

    One plain INSERT, sent at once on the session's connection: nearly every request writes
    an entry (reads of personal data too), and the ORM's unit of work cost more than the rest
    of a QR lookup's writing (session.execute's ORM layer is skipped too).
    """
    _INSERT.execute(columns=True, params={
        "at": utcnow(),
        "actor_id": actor.id if actor else None,
        "actor_name": actor.username if actor else "system",
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id)[:64],
        "detail": detail or {},
        "ip": ip,
    })
