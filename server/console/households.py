"""Households: the searchable list and one household's whole file."""

from flask import g, render_template, request

from ..models.household import HOUSEHOLD_STATUSES
from ..services import household_directory, sampling
from ..services.pagination import clamp
from ..services.region_tree import scope_tree
from . import bp
from .access import client_ip
from .nav import NavItem, register

register(
    NavItem(
        "console.households",
        "nav.households",
        group="records",
        also=("console.household", "console.survey_record_page"),
    )
)


@bp.get("/households")
def households():
    """List the households in scope: search, filters, order and pages."""
    args = request.args
    page, per_page = clamp(args.get("page"), args.get("per_page"))
    flags = tuple(f for f in args.getlist("flag") if f in household_directory.FLAGS)
    sort = args.get("sort") if args.get("sort") in household_directory.SORTS else "code"
    descending = args.get("desc") == "1"
    result = household_directory.search(
        g.user,
        q=args.get("q", ""),
        township=args.get("township") or None,
        village=args.get("village") or None,
        status=args.get("status") or None,
        flags=flags,
        sort=sort,
        descending=descending,
        page=page,
        per_page=per_page,
    )
    return render_template(
        "console/households.html",
        page=result,
        tree=scope_tree(g.user),
        statuses=HOUSEHOLD_STATUSES,
        flag_names=household_directory.FLAGS,
        chosen_flags=flags,
        sort=sort,
        descending=descending,
    )


@bp.get("/households/<int:household_id>")
def household(household_id: int):
    """Show one household: record, members, visits and photos, versions, QR code."""
    file = household_directory.household_file(g.user, household_id, ip=client_ip())
    return render_template(
        "console/household.html",
        assignment_reasons=sampling.reasons_for(file["household"]),
        **file,
    )
