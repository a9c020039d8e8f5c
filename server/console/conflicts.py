"""Merge conflicts: each with its three values and both sides' photos; pick one or type one."""

from flask import flash, g, redirect, render_template, request, url_for

from ..services import conflict_list
from ..services.errors import ServiceError
from ..services.pagination import clamp
from ..services.region_tree import scope_tree
from . import bp
from .access import client_ip, flash_refusal, id_arg, safe_next
from .i18n import translate
from .nav import NavItem, register

register(NavItem("console.conflicts", "nav.conflicts"))


@bp.get("/conflicts")
def conflicts():
    """List the open conflicts in scope, oldest first."""
    page, _ = clamp(request.args.get("page"), 25)
    household_id = id_arg(request.args.get("household"))
    result = conflict_list.open_cases(
        g.user,
        household_id=household_id,
        township=request.args.get("township") or None,
        village=request.args.get("village") or None,
        page=page,
        per_page=25,
        ip=client_ip(),
    )
    return render_template(
        "console/conflicts.html", page=result, tree=scope_tree(g.user), household_id=household_id
    )


@bp.post("/conflicts/<int:conflict_id>/resolve")
def resolve(conflict_id: int):
    """Record the supervisor's decision on one conflict."""
    try:
        seen_version = int(request.form.get("seen_version", ""))
    except ValueError:
        seen_version = -1
    try:
        conflict_list.resolve(
            g.user,
            conflict_id,
            choice=request.form.get("choice") or None,
            typed=request.form.get("value", ""),
            seen_version=seen_version,
            comment=request.form.get("comment", ""),
            ip=client_ip(),
        )
    except ServiceError as error:
        flash_refusal(error)
    else:
        flash(translate("conflicts.resolved"), "success")
    return redirect(safe_next(request.form.get("next"), url_for("console.conflicts")))
