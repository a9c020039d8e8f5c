"""Accounts as an administrator manages them in the console: within their own region only.

The changes themselves are services.users (add, disable, password, scope); this module
checks that both the account and any region it is moved to lie in the admin's region.
"""

from sqlalchemy import select

from ..extensions import db
from ..models import Region, User
from . import users
from .errors import Invalid, NotFound
from .pagination import Page, paginate
from .scope import covers_region


def _admin_region(admin: User) -> Region:
    """Return the admin's region."""
    return db.session.get(Region, admin.region_id)


def regions_in_scope(admin: User) -> list[Region]:
    """Return the regions an admin may give accounts: theirs and every one below, by code."""
    region = _admin_region(admin)
    return list(
        db.session.scalars(
            select(Region).where(Region.path.startswith(region.path)).order_by(Region.code)
        )
    )


def list_accounts(admin: User, *, q: str = "", page: int = 1, per_page: int = 50) -> Page:
    """Return one page of the accounts in the admin's region."""
    region = _admin_region(admin)
    query = (
        select(User)
        .join(Region, Region.id == User.region_id)
        .where(Region.path.startswith(region.path))
        .order_by(User.role, User.username)
    )
    if q.strip():
        like = f"%{q.strip()[:64]}%"
        query = query.where(User.username.like(like) | User.display_name.like(like))
    return paginate(query, page, per_page)


def _account(admin: User, user_id: int) -> User:
    """Return an account in the admin's region, or NotFound: one outside it reads as none
    (the console's rule for objects of other regions), so ids tell nothing of them."""
    user = db.session.get(User, user_id)
    if user is None or not covers_region(admin, user.region_id):
        raise NotFound("用户不存在 / no such user")
    return user


def _check_region(admin: User, region_code: str) -> None:
    """Refuse a region outside the admin's own."""
    region = db.session.scalar(select(Region).where(Region.code == region_code))
    if region is None or not region.path.startswith(_admin_region(admin).path):
        raise Invalid("地区不在您的范围内 / region outside yours", errors={"region": ["scope"]})


def create(admin: User, *, username: str, display_name: str, role: str, region_code: str,
           password: str) -> User:
    """Create an account in the admin's region. Commits."""
    _check_region(admin, region_code)
    return users.add_user(
        username.strip(), role=role, region_code=region_code, password=password,
        display_name=display_name.strip(), actor=admin,
    )


def set_active(admin: User, user_id: int, active: bool) -> User:
    """Enable or disable an account (disabling revokes its phones and console session)."""
    user = _account(admin, user_id)
    if user.id == admin.id and not active:
        raise Invalid("不能停用自己的账户 / you cannot disable yourself",
                      errors={"user": ["yourself"]})
    return users.set_active(user.username, active, actor=admin)


def reset_password(admin: User, user_id: int, password: str) -> User:
    """Set a new password. Commits."""
    return users.set_password(_account(admin, user_id).username, password, actor=admin)


def set_scope(admin: User, user_id: int, region_code: str) -> User:
    """Move an account to another region of the admin's. Commits."""
    user = _account(admin, user_id)
    _check_region(admin, region_code)
    if user.role == "investigator":
        region = db.session.scalar(select(Region).where(Region.code == region_code))
        if region.level == "county":
            raise Invalid(
                "调查员须分配到乡镇或村 / investigators are scoped to a township or village",
                errors={"region": ["township or village"]},
            )
    return users.set_scope(user.username, region_code, actor=admin)
