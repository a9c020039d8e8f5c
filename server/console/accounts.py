"""Accounts (administrators only): create, disable, move to another region, reset password."""

from flask import flash, g, redirect, render_template, request, url_for

from ..models.user import ROLES
from ..services import accounts
from ..services.errors import ServiceError
from ..services.pagination import clamp
from . import bp
from .access import flash_refusal, roles_required
from .i18n import translate
from .nav import NavItem, register

register(NavItem("console.accounts_page", "nav.accounts", roles=("admin",), group="admin"))


@bp.get("/accounts")
@roles_required("admin")
def accounts_page():
    """List the accounts of the admin's region, with the forms to change them."""
    page, per_page = clamp(request.args.get("page"), request.args.get("per_page"))
    return render_template(
        "console/accounts.html",
        page=accounts.list_accounts(g.user, q=request.args.get("q", ""), page=page,
                                    per_page=per_page),
        regions=accounts.regions_in_scope(g.user),
        roles=ROLES,
    )


def _done(message_key: str):
    """Flash a success and go back to the list."""
    flash(translate(message_key), "success")
    return redirect(url_for("console.accounts_page"))


def _refused(error: ServiceError):
    """Flash why a change was refused (with the field messages) and go back."""
    flash_refusal(error)
    return redirect(url_for("console.accounts_page"))


@bp.post("/accounts")
@roles_required("admin")
def create_account():
    """Create an account."""
    form = request.form
    try:
        accounts.create(
            g.user,
            username=form.get("username", ""),
            display_name=form.get("display_name", ""),
            role=form.get("role", ""),
            region_code=form.get("region", ""),
            password=form.get("password", ""),
        )
    except ServiceError as error:
        return _refused(error)
    return _done("accounts.created")


@bp.post("/accounts/<int:user_id>/active")
@roles_required("admin")
def set_account_active(user_id: int):
    """Disable or enable an account."""
    try:
        accounts.set_active(g.user, user_id, request.form.get("active") == "1")
    except ServiceError as error:
        return _refused(error)
    return _done("accounts.saved")


@bp.post("/accounts/<int:user_id>/password")
@roles_required("admin")
def reset_account_password(user_id: int):
    """Set a new password."""
    try:
        accounts.reset_password(g.user, user_id, request.form.get("password", ""))
    except ServiceError as error:
        return _refused(error)
    return _done("accounts.password_set")


@bp.post("/accounts/<int:user_id>/scope")
@roles_required("admin")
def set_account_scope(user_id: int):
    """Move an account to another region."""
    try:
        accounts.set_scope(g.user, user_id, request.form.get("region", ""))
    except ServiceError as error:
        return _refused(error)
    return _done("accounts.saved")
