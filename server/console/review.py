"""The review queue, bulk approval, and one submission's page with its photo evidence."""


from flask import flash, g, redirect, render_template, request, url_for

from ..services import review, review_queue, submission_view
from ..services.errors import ServiceError
from ..services.pagination import clamp
from ..services.region_tree import scope_tree
from . import bp
from .access import client_ip, date_arg, flash_refusal, safe_next
from .i18n import translate
from .nav import NavItem, register

register(NavItem("console.queue", "nav.queue", also=("console.submission",)))


def _filters() -> review_queue.QueueFilters:
    """Read the queue's filters from the query string."""
    args = request.args
    try:
        investigator = int(args.get("investigator") or 0) or None
    except ValueError:
        investigator = None
    state = args.get("state", "received")
    return review_queue.QueueFilters(
        township=args.get("township") or None,
        village=args.get("village") or None,
        investigator=investigator,
        date_from=date_arg(args.get("from")),
        date_to=date_arg(args.get("to")),
        state=state if state in (*review_queue.REVIEW_STATES, "all") else "received",
        flags=tuple(f for f in args.getlist("flag") if f in review_queue.QUEUE_FLAGS),
        sort=args.get("sort") if args.get("sort") in review_queue.SORTS else "completed_at",
        descending=args.get("desc") == "1",
    )


@bp.get("/queue")
def queue():
    """Show the submissions waiting for review, with filters, counts and pages."""
    filters = _filters()
    page, per_page = clamp(request.args.get("page"), request.args.get("per_page"))
    result = review_queue.queue(g.user, filters, page=page, per_page=per_page)
    return render_template(
        "console/queue.html",
        queue=result,
        filters=filters,
        tree=scope_tree(g.user),
        investigators=review_queue.investigators_in_scope(g.user),
        states=review_queue.REVIEW_STATES,
        flag_names=review_queue.QUEUE_FLAGS,
    )


@bp.post("/queue/approve")
def approve_selected():
    """Approve the ticked submissions that are clean; say which were skipped and why."""
    approved, skipped = review_queue.approve_clean(
        g.user, request.form.getlist("instance_id"), ip=client_ip()
    )
    if approved:
        flash(translate("queue.approved", n=len(approved)), "success")
    if skipped:
        flash(translate("queue.skipped", n=len(skipped)), "warning")
    return redirect(safe_next(request.form.get("next"), url_for("console.queue")))


@bp.get("/submissions/<uuid:instance_id>")
def submission(instance_id):
    """Show one submission: answers, record before and after, checks, photos, decision."""
    file = submission_view.submission_file(g.user, str(instance_id), ip=client_ip())
    return render_template(
        "console/submission.html",
        county_decider=review.may_approve_county_cases(g.user),
        **file,
    )


@bp.post("/submissions/<uuid:instance_id>/review")
def decide(instance_id):
    """Approve, send back with issues, or reject a submission."""
    state = request.form.get("state", "")
    try:
        review_queue.decide(
            g.user, str(instance_id), state, request.form.get("comment", ""),
            seen_state=request.form.get("seen_state") or None, ip=client_ip(),
        )
    except ServiceError as error:
        flash_refusal(error)
    else:
        flash(translate("submission.decided", state=translate(f"review.{state}")), "success")
    target = url_for("console.submission", instance_id=instance_id)
    if request.form.get("then") == "queue":
        target = safe_next(request.form.get("next"), url_for("console.queue"))
    return redirect(target)
