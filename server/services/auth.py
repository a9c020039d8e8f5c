"""Sign-in, passwords, bearer tokens and login rate limiting."""

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.orm import contains_eager
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain.wording import plural
from ..extensions import db
from ..models import DeviceToken, LoginAttempt, Region, User
from ..models.clock import utcnow
from . import audit
from .errors import Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized
from .plain_sql import Plain
from .scope import covers_region

# A hash of a random password, checked when the username is unknown so that a failed login
# takes the same time whether or not the account exists.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))
LAST_SEEN_GRANULARITY = timedelta(minutes=5)
# An enrolment code is shown as a QR on the console and scanned at once by the phone beside it.
ENROLMENT_LIFETIME = timedelta(minutes=15)
ENROLMENT = "enrolment"
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """Return a salted scrypt hash of the password (werkzeug's default modern KDF)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            "密码太短 / password too short",
            errors={"password": [f"at least {MIN_PASSWORD_LENGTH} characters"]},
        )
    return generate_password_hash(password)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a bearer token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def _check_rate_limit(username: str, ip: str) -> None:
    """Raise TooManyRequests when too many recent failures for this username, or far more
    for this address, saying how long until the next try is accepted (Retry-After, and in
    minutes in the message: a clerk locked out wants to know whether to wait or to call
    someone).

    The address has its own, higher limit: a township office or a village's phones share
    one address behind their network's NAT, and one person's typos must not lock out the
    whole office; guessing across many usernames from one address is still stopped."""
    window = timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])
    now = utcnow()
    seconds = max(
        _locked_for(LoginAttempt.username == username,
                    current_app.config["LOGIN_MAX_FAILURES"], window, now),
        _locked_for(LoginAttempt.ip == ip,
                    current_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"], window, now),
    )
    _refuse_while_locked(seconds, "登录失败次数过多", "too many failed sign-ins")


def _check_enrolment_rate_limit(ip: str) -> None:
    """Raise TooManyRequests when too many wrong enrolment codes came from this address,
    saying how long to wait.

    Per address only, at the address's limit (RUHU_LOGIN_MAX_FAILURES_PER_ADDRESS, which
    counts the address's failed sign-ins too): a code is 256 random bits living 15 minutes,
    so no number of tries guesses one, and a county-wide count let one person's mistyped or
    stale codes stop every phone of the county from enrolling."""
    window = timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])
    seconds = _locked_for(LoginAttempt.ip == ip,
                          current_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"], window, utcnow())
    _refuse_while_locked(seconds, "登记码错误次数过多", "too many wrong enrolment codes")


def _refuse_while_locked(seconds: int, zh: str, en: str) -> None:
    """Raise TooManyRequests when locked for `seconds` (> 0), saying how long until the next
    try is accepted: Retry-After, and in minutes in the message and errors (a clerk locked
    out wants to know whether to wait or to call someone)."""
    if not seconds:
        return
    minutes = math.ceil(seconds / 60)
    raise TooManyRequests(
        f"{zh}，请 {minutes} 分钟后再试 / {en}, try again in "
        f"{minutes} {plural(minutes, 'minute', 'minutes')}",
        code="auth.rate_limited",
        errors={"retry_after_minutes": minutes},
        headers={"Retry-After": str(seconds)},
    )


def _locked_for(condition, limit: int, window: timedelta, now) -> int:
    """Return the seconds until fewer than `limit` failures matching `condition` remain in
    the window (0: not locked). The lock lifts when the (failures - limit + 1)th oldest
    failure is `window` old."""
    recent = select(LoginAttempt.at).where(LoginAttempt.at >= now - window, condition)
    failures = db.session.scalar(select(func.count()).select_from(recent.subquery()))
    if failures < limit:
        return 0
    lifting = db.session.scalar(recent.order_by(LoginAttempt.at).offset(failures - limit).limit(1))
    return max(1, math.ceil((lifting + window - now).total_seconds()))


def authenticate(username: str, password: str, ip: str) -> User:
    """Return the active user with these credentials, or record the failure and raise."""
    _check_rate_limit(username, ip)
    user = db.session.scalar(select(User).where(User.username == username))
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if not (user and ok and user.active):
        db.session.add(LoginAttempt(username=username, ip=ip))
        audit.record(
            "auth.login_failed",
            actor=None,
            object_type="user",
            object_id=username,
            ip=ip,
            detail={"username": username},
        )
        db.session.commit()
        raise Unauthorized(
            "用户名或密码错误 / wrong username or password", code="auth.invalid_credentials"
        )
    # A success clears the user's failures so one typo later does not lock them out early.
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
    return user


def issue_token(
    user: User, *, label: str = "", kind: str = "login", lifetime: timedelta | None = None
) -> tuple[str, DeviceToken]:
    """Create a device token for the user; return the secret (shown once) and its row."""
    secret = secrets.token_urlsafe(32)
    lifetime = lifetime or timedelta(days=current_app.config["TOKEN_LIFETIME_DAYS"])
    row = DeviceToken(
        user_id=user.id,
        token_hash=hash_token(secret),
        kind=kind,
        label=label[:100],
        expires_at=utcnow() + lifetime,
    )
    db.session.add(row)
    return secret, row


def login(
    username: str, password: str, *, ip: str, device_label: str = ""
) -> tuple[str, DeviceToken]:
    """Sign a user in from a phone or client: returns a bearer token. Commits."""
    user = authenticate(username, password, ip)
    secret, row = issue_token(user, label=device_label)
    audit.record(
        "auth.login",
        actor=user,
        object_type="user",
        object_id=user.id,
        ip=ip,
        detail={"device": device_label},
    )
    db.session.commit()
    return secret, row


def create_enrolment(
    username: str, *, actor: User, ip: str | None = None
) -> tuple[str, DeviceToken]:
    """Create a one-time enrolment code for a user's phone (stored hashed, 15 minutes). Commits.

    The console shows it as a QR code; the phone exchanges it for a device token (`enrol`),
    so an investigator never has to type a password on the phone. The actor must have the
    user's region in scope, and a supervisor enrols investigators only (an admin, any account
    of their region): the code signs a phone in as the user, so a county supervisor asking
    one for the county's admin or a township supervisor would act in their name.
    """
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户不存在 / no such user: {username}")
    if not covers_region(actor, user.region_id):
        raise Forbidden(
            "此用户不在您的负责范围内 / user outside your region", code="scope.forbidden"
        )
    if actor.role != "admin" and user.role != "investigator":
        raise Forbidden(
            "只能为调查员登记手机 / phones are enrolled for investigators only",
            code="scope.forbidden",
        )
    if not user.active:
        raise Invalid("账户已停用 / account disabled", errors={"username": ["disabled"]})
    code, row = issue_token(
        user, label=f"enrolment by {actor.username}", kind=ENROLMENT, lifetime=ENROLMENT_LIFETIME
    )
    db.session.flush()
    audit.record(
        "device.enrolment_created",
        actor=actor,
        object_type="user",
        object_id=user.id,
        ip=ip,
        detail={"enrolment_id": row.id},
    )
    db.session.commit()
    return code, row


def enrol(code: str, *, ip: str, device_label: str = "") -> tuple[str, DeviceToken]:
    """Exchange a one-time enrolment code for a device token; the code is spent. Commits."""
    _check_enrolment_rate_limit(ip)
    row = db.session.scalar(select(DeviceToken).where(DeviceToken.token_hash == hash_token(code)))
    now = utcnow()
    if (
        row is None
        or row.kind != ENROLMENT
        or row.revoked_at is not None
        or row.expires_at <= now
        or not row.user.active
    ):
        db.session.add(LoginAttempt(username=ENROLMENT, ip=ip))
        audit.record(
            "auth.enrol_failed", actor=None, object_type="device_token", object_id="?", ip=ip
        )
        db.session.commit()
        raise Unauthorized(
            "登记码无效或已过期，请在管理后台重新生成 / enrolment code invalid or expired",
            code="auth.invalid_enrolment",
        )
    row.revoked_at = now  # one time only
    secret, token = issue_token(row.user, label=device_label)
    db.session.flush()
    audit.record(
        "auth.enrol",
        actor=row.user,
        object_type="device_token",
        object_id=token.id,
        ip=ip,
        detail={"device": device_label, "enrolment_id": row.id},
    )
    db.session.commit()
    return secret, token


def teammates(user: User) -> list[User]:
    """Return the active investigators who may survey with the user: the user's region, the
    regions above it and those below it (a township's team, with its village-level members)."""
    region = db.session.get(Region, user.region_id)
    ancestors = _ancestor_paths(region.path)
    candidates = db.session.scalars(
        select(User)
        .join(Region, User.region_id == Region.id)
        .where(
            User.role == "investigator",
            User.active.is_(True),
            User.id != user.id,
            or_(Region.path.startswith(region.path), Region.path.in_(ancestors)),
        )
        .order_by(User.display_name, User.username)
    ).all()
    return list(candidates)


def _ancestor_paths(path: str) -> list[str]:
    """Return the materialised paths ("/1/4/9/") of a region and the regions above it."""
    ids = [part for part in path.split("/") if part]
    return ["/" + "/".join(ids[:i]) + "/" for i in range(1, len(ids) + 1)]


# The token's columns its checks read (_admit), not the token as an object: each column and
# object costs Python on every request.
_TOKEN_CHECKED = (
    DeviceToken.id.label("token_id"),
    DeviceToken.kind,
    DeviceToken.revoked_at,
    DeviceToken.expires_at,
    DeviceToken.last_seen_at,
)

# Built once: every API request runs it. The user comes with their region (user.region:
# the scope checks every request makes; a round trip each was most of a QR lookup's time).
_BY_TOKEN = (
    select(User, *_TOKEN_CHECKED)
    .join(DeviceToken, DeviceToken.user_id == User.id)
    .join(User.region)
    .options(contains_eager(User.region))
    .where(DeviceToken.token_hash == bindparam("token_hash"))
)


def user_for_token(secret: str) -> tuple[User, int]:
    """Return the user and the id of their token for a bearer secret, or raise
    Unauthorized."""
    row = db.session.execute(_BY_TOKEN, {"token_hash": hash_token(secret)}).one_or_none()
    _admit(row, row is not None and row.User.active)
    return row.User, row.token_id


@dataclass(frozen=True)
class Caller(audit.Actor):
    """A signed-in caller as plain data: the audit's actor (id, username), their role and
    their region (its id, and its materialised path for the scope test).

    What a request takes whose services need no User row (the QR lookup, a submission):
    signing in with a bearer token then loads no ORM object at all (caller_for_token: 0.67 M
    instructions less per request than user_for_token). Checked exactly as user_for_token
    checks.
    """

    role: str
    region_id: int
    region_path: str

    @classmethod
    def of(cls, user: User) -> "Caller":
        """Return the caller for a user row (a console session's)."""
        return cls(user.id, user.username, user.role, user.region_id, user.region_path)


# Built once: the same token as _BY_TOKEN, with the user and their region as the columns a
# Caller holds.
_CALLER_BY_TOKEN = Plain(
    select(
        User.id,
        User.username,
        User.role,
        User.region_id,
        User.active,
        Region.path,
        *_TOKEN_CHECKED,
    )
    .join(DeviceToken, DeviceToken.user_id == User.id)
    .join(Region, Region.id == User.region_id)
    .where(DeviceToken.token_hash == bindparam("token_hash"))
)


def caller_for_token(secret: str) -> tuple[Caller, int]:
    """Return the caller and the id of their token for a bearer secret, or raise
    Unauthorized: user_for_token's checks, on one plain row."""
    row = _CALLER_BY_TOKEN.first({"token_hash": hash_token(secret)})
    _admit(row, row is not None and row.active)
    return Caller(row.id, row.username, row.role, row.region_id, row.path), row.token_id


def _admit(row, active: bool) -> None:
    """Raise Unauthorized unless the token's row (token_id, kind, revoked_at, expires_at,
    last_seen_at; None for an unknown token) signs in an active account; then stamp its
    last_seen."""
    now = utcnow()
    if row is None or row.kind != "login":
        raise Unauthorized("登录已失效 / invalid token", code="auth.invalid_token")
    if row.revoked_at is not None:
        raise Unauthorized("此设备已被停用 / this device was revoked", code="auth.token_revoked")
    if row.expires_at <= now:
        raise Unauthorized(
            "登录已过期，请重新登录 / token expired, sign in again", code="auth.token_expired"
        )
    if not active:
        raise Unauthorized("账户已停用 / account disabled", code="auth.account_disabled")
    # Write last_seen at most every few minutes: a write per request would serialise reads.
    if row.last_seen_at is None or now - row.last_seen_at > LAST_SEEN_GRANULARITY:
        db.session.execute(
            update(DeviceToken).where(DeviceToken.id == row.token_id).values(last_seen_at=now)
        )
        db.session.commit()


def revoke_token(token_id: int, *, actor: User, ip: str | None = None) -> DeviceToken:
    """Revoke a device token (sign-out or a lost phone). Commits."""
    row = db.session.get(DeviceToken, token_id)
    if row is None:
        raise NotFound("设备不存在 / no such device")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            "device.revoke",
            actor=actor,
            object_type="device_token",
            object_id=row.id,
            ip=ip,
            detail={"user_id": row.user_id},
        )
        db.session.commit()
    return row
