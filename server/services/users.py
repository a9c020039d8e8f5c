"""Managing accounts: add, disable, change password, change scope."""

from sqlalchemy import select, update

from ..extensions import db
from ..models import DeviceToken, User
from ..models.clock import utcnow
from ..models.user import ROLES
from . import audit, regions
from .auth import hash_password
from .errors import Conflict, Invalid, NotFound


def add_user(
    username: str,
    *,
    role: str,
    region_code: str,
    password: str,
    display_name: str = "",
    actor: User | None = None,
) -> User:
    """Create an account scoped to a region. Commits."""
    if role not in ROLES:
        raise Invalid(
            f"未知角色 / unknown role: {role}", errors={"role": [f"one of {', '.join(ROLES)}"]}
        )
    region = regions.by_code(region_code)
    if region is None:
        raise Invalid(
            f"未知地区 / unknown region: {region_code}", errors={"region": ["unknown code"]}
        )
    if role == "investigator" and region.level == "county":
        # Investigators work in townships; a county-wide download would not fit on a phone.
        raise Invalid(
            "调查员须分配到乡镇或村 / investigators are scoped to a township or village",
            errors={"region": ["township or village"]},
        )
    if db.session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"用户名已存在 / username taken: {username}", code="user.exists")
    user = User(
        username=username,
        role=role,
        region_id=region.id,
        password_hash=hash_password(password),
        display_name=display_name or username,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.add",
        actor=actor,
        object_type="user",
        object_id=user.id,
        detail={"username": username, "role": role, "region": region_code},
    )
    db.session.commit()
    return user


def get_by_username(username: str) -> User:
    """Return the user with this username or raise NotFound."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户不存在 / no such user: {username}")
    return user


def set_active(username: str, active: bool, *, actor: User | None = None) -> User:
    """Enable or disable an account; disabling revokes every device token. Commits."""
    user = get_by_username(username)
    user.active = active
    if not active:
        db.session.execute(
            update(DeviceToken)
            .where(DeviceToken.user_id == user.id, DeviceToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    audit.record(
        "user.enable" if active else "user.disable",
        actor=actor,
        object_type="user",
        object_id=user.id,
    )
    db.session.commit()
    return user


def set_password(username: str, password: str, *, actor: User | None = None) -> User:
    """Set a new password. Commits."""
    user = get_by_username(username)
    user.password_hash = hash_password(password)
    audit.record("user.password", actor=actor, object_type="user", object_id=user.id)
    db.session.commit()
    return user


def set_scope(username: str, region_code: str, *, actor: User | None = None) -> User:
    """Move a user to another region; their phones re-download from scratch. Commits."""
    user = get_by_username(username)
    region = regions.by_code(region_code)
    if region is None:
        raise Invalid(
            f"未知地区 / unknown region: {region_code}", errors={"region": ["unknown code"]}
        )
    user.region_id = region.id
    user.scope_epoch += 1
    audit.record(
        "user.scope",
        actor=actor,
        object_type="user",
        object_id=user.id,
        detail={"region": region_code},
    )
    db.session.commit()
    return user
