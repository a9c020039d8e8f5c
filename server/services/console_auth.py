"""Signing in to the supervisor console: who may, and whether a session still stands.

The console uses a signed session cookie rather than a bearer token. The password check and
its rate limit are the API's own (services.auth.authenticate). A session records a stamp of
the account's password hash and role, so a password reset or a change of role ends every
open session at its next request; a disabled account ends them too.
"""

import hashlib

from ..extensions import db
from ..models import User
from . import audit, auth
from .errors import Forbidden

CONSOLE_ROLES = ("supervisor", "admin")


def session_stamp(user: User) -> str:
    """Return a short digest that changes when the password or role of the account changes."""
    material = f"{user.id}:{user.role}:{user.password_hash}".encode()
    return hashlib.sha256(material).hexdigest()[:24]


def sign_in(username: str, password: str, *, ip: str) -> User:
    """Check the credentials and the role; return the user allowed into the console. Commits.

    An investigator with the right password is refused with Forbidden (code console.role):
    the console shows personal data of a whole region, the app only of their own township.
    """
    user = auth.authenticate(username, password, ip)
    if user.role not in CONSOLE_ROLES:
        audit.record(
            "console.login_refused",
            actor=user,
            object_type="user",
            object_id=user.id,
            ip=ip,
            detail={"role": user.role},
        )
        db.session.commit()
        raise Forbidden(
            "督导台仅供督导员和管理员使用 / the console is for supervisors and administrators",
            code="console.role",
        )
    audit.record("console.login", actor=user, object_type="user", object_id=user.id, ip=ip)
    db.session.commit()
    return user


def session_user(user_id: object, stamp: object) -> User | None:
    """Return the user a console session belongs to, or None when the session no longer holds."""
    if not isinstance(user_id, int) or not isinstance(stamp, str):
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.role not in CONSOLE_ROLES:
        return None
    if session_stamp(user) != stamp:
        return None
    return user


def sign_out(user: User, *, ip: str) -> None:
    """Record the end of a console session. Commits."""
    audit.record("console.logout", actor=user, object_type="user", object_id=user.id, ip=ip)
    db.session.commit()
