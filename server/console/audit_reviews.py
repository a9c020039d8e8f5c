"""定期核查: households due for their periodic review, overdue first, and assigning them."""

from flask import flash, g, redirect, render_template, request, url_for

from ..services import review_calendar
from ..services.errors import ServiceError
from ..services.region_tree import scope_tree
from . import bp
from .access import client_ip, flash_refusal, id_arg, safe_next
from .i18n import add_messages, translate
from .nav import NavItem, register

register(NavItem("console.reviews_page", "nav.reviews"))

add_messages(
    {
        "nav.reviews": ("定期核查", "Reviews"),
        "reviews.title": ("定期核查日历", "Review calendar"),
        "reviews.rule": (
            "每年核查一次;收入不固定、有劳动能力成员、单独登记备案的家庭每半年一次(按政策)。",
            "Yearly; every six months for unstable income, members able to work or separately "
            "registered households (as the policy says).",
        ),
        "reviews.within": ("未来天数", "Due within (days)"),
        "reviews.due_on": ("应核查日期", "Due"),
        "reviews.interval": ("周期(月)", "Interval (months)"),
        "reviews.why": ("缩短原因", "Why shorter"),
        "reviews.reason.unstable_income": ("收入不固定", "unstable income"),
        "reviews.reason.able_to_work": ("有劳动能力", "able to work"),
        "reviews.reason.separately_registered": ("单独登记备案", "separately registered"),
        "reviews.last": ("上次核查", "Last reviewed"),
        "reviews.days_overdue": ("逾期 {n} 天", "{n} {n:day|days} overdue"),
        "reviews.assigned": ("负责调查员", "Assigned to"),
        "reviews.assign": ("分配给", "Assign to"),
        "reviews.unassign": ("取消分配", "Unassign"),
        "reviews.assign_button": ("分配所选", "Assign the chosen"),
        "reviews.assigned_done": ("已更新 {n} 户的分配。", "Assignment changed for {n} {n:household|households}."),
        "reviews.none_chosen": ("请先勾选要分配的户。", "Tick the households to assign first."),
        "reviews.none": ("所选期间没有到期的户。", "Nobody is due in this period."),
        "reviews.basis.recorded": ("档案日期", "recorded"),
        "reviews.basis.computed": ("按政策推算", "by the policy"),
    }
)


@bp.get("/reviews")
def reviews_page():
    """Show the households due for review in scope, overdue first."""
    args = request.args
    try:
        within = min(max(int(args.get("within", 30)), 0), review_calendar.MAX_WINDOW_DAYS)
    except ValueError:
        within = 30
    result = review_calendar.calendar(
        g.user,
        within_days=within,
        township_code=args.get("township") or None,
        village_code=args.get("village") or None,
        ip=client_ip(),
    )
    return render_template(
        "console/reviews.html",
        result=result,
        within=within,
        tree=scope_tree(g.user),
        investigators=review_calendar.investigators_in_scope(g.user),
    )


@bp.post("/reviews/assign")
def reviews_assign():
    """Assign (or unassign) the chosen households to an investigator."""
    form = request.form
    household_ids = [i for i in map(id_arg, form.getlist("household")) if i is not None]
    chosen = form.get("investigator", "")
    if not household_ids:
        flash(translate("reviews.none_chosen"), "error")
        return redirect(safe_next(form.get("next"), url_for("console.reviews_page")))
    try:
        changed = review_calendar.assign(
            g.user,
            household_ids,
            int(chosen) if chosen.isascii() and chosen.isdigit() else None,
            ip=client_ip(),
        )
    except ServiceError as error:
        flash_refusal(error)
    else:
        flash(translate("reviews.assigned_done", n=changed), "success")
    return redirect(safe_next(form.get("next"), url_for("console.reviews_page")))
