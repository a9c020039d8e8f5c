"""Phones signed in to Ruhu, as the console lists and revokes them, and enrolling new ones.

Revoking and enrolling use services.auth; this module adds the region check: a supervisor
manages the investigators of their region, an admin every account of theirs.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select

from ..extensions import db
from ..models import DeviceToken, Region, User
from ..models.clock import utcnow
from . import auth
from .errors import Forbidden, NotFound
from .scope import covers_region


@dataclass
class Enrolment:
    """A one-time enrolment code, shown once as a QR code."""

    code: str
    user: User
    expires_at: datetime


def manageable_users(user: User) -> Select:
    """Return a select of the users whose phones `user` may manage."""
    region = db.session.get(Region, user.region_id)
    query = (
        select(User)
        .join(Region, Region.id == User.region_id)
        .where(Region.path.startswith(region.path))
    )
    if user.role != "admin":
        query = query.where(User.role == "investigator")
    return query


def enrollable_users(user: User) -> list[User]:
    """Return the active investigators `user` may enrol a phone for, by name."""
    return list(
        db.session.scalars(
            manageable_users(user)
            .where(User.active.is_(True), User.role == "investigator")
            .order_by(User.display_name, User.username)
        )
    )


def _check(user: User, target: User | None) -> User:
    """Return the target if `user` may manage its phones; raise otherwise: NotFound for one
    outside the user's region, as for no user (the console's rule for other regions)."""
    if target is None or not covers_region(user, target.region_id):
        raise NotFound("用户不存在 / no such user")
    allowed = db.session.scalar(
        manageable_users(user).where(User.id == target.id).with_only_columns(User.id)
    )
    if allowed is None:
        raise Forbidden("无权管理此用户的设备 / not your user", code="scope.forbidden")
    return target


def list_devices(user: User, *, include_revoked: bool = False) -> list[DeviceToken]:
    """Return the signed-in phones of the users `user` manages, newest first."""
    people = manageable_users(user).with_only_columns(User.id)
    query = select(DeviceToken).where(DeviceToken.user_id.in_(people), DeviceToken.kind == "login")
    if not include_revoked:
        query = query.where(DeviceToken.revoked_at.is_(None), DeviceToken.expires_at > utcnow())
    return list(
        db.session.scalars(query.order_by(DeviceToken.created_at.desc()).limit(1000))
    )


def revoke(user: User, token_id: int, *, ip: str | None = None) -> DeviceToken:
    """Revoke a phone's sign-in (lost or handed on). Commits."""
    token = db.session.get(DeviceToken, token_id)
    if token is None or token.kind != "login" or not covers_region(user, token.user.region_id):
        raise NotFound("设备不存在 / no such device")
    _check(user, token.user)
    return auth.revoke_token(token.id, actor=user, ip=ip)


def enrol(user: User, username: str, *, ip: str | None = None) -> Enrolment:
    """Create a one-time code that signs a new phone in for an investigator. Commits."""
    target = _check(user, db.session.scalar(select(User).where(User.username == username)))
    code, row = auth.create_enrolment(target.username, actor=user, ip=ip)
    return Enrolment(code=code, user=target, expires_at=row.expires_at)
