"""The review queue, bulk approval, and one submission's page with its photo evidence."""


from flask import flash, g, redirect, render_template, request, url_for

from ..services import review, review_queue, submission_view
from ..services.errors import ServiceError
from ..services.pagination import clamp
from ..services.region_tree import scope_tree
from . import bp
from .access import client_ip, date_arg, flash_refusal, id_arg, safe_next
from .i18n import translate
from .nav import NavItem, register

register(NavItem("console.queue", "nav.queue", also=("console.submission",)))


# The queue's filters, order and page as they travel in URLs: from the queue to a
# submission, on to the next one and back to the queue (Q) on the page it was opened from,
# with no state kept on the server. A page emptied meanwhile shows the last one
# (services.pagination.page_within).
QUEUE_ARGS = ("state", "township", "village", "investigator", "from", "to", "flag", "sort",
              "desc", "page", "per_page")


def _queue_args(args) -> dict[str, list[str]]:
    """Return the queue's arguments of a query string, to carry on in a URL."""
    return {key: args.getlist(key)[:20] for key in QUEUE_ARGS if args.getlist(key)}


def _filters(args=None) -> review_queue.QueueFilters:
    """Read the queue's filters from a query string (this request's by default)."""
    args = request.args if args is None else args
    investigator = id_arg(args.get("investigator"))
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
        queue_args=_queue_args(request.args),
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


def _submission_page(file: dict, *, comment: str = "", then_next: bool = True) -> str:
    """Render a submission's page (its file from submission_view), within its queue, the
    decision form holding `comment`."""
    return render_template(
        "console/submission.html",
        county_decider=review.may_approve_county_cases(g.user),
        took_part=review.took_part(g.user, file["submission"]),
        queue_args=_queue_args(request.args),
        comment=comment,
        then_next=then_next,
        **file,
    )


@bp.get("/submissions/<uuid:instance_id>")
def submission(instance_id):
    """Show one submission: answers, record before and after, checks, photos, decision."""
    return _submission_page(submission_view.submission_file(g.user, str(instance_id),
                                                            ip=client_ip()))


@bp.get("/queue/next")
def next_submission():
    """Open the submission after `after` in the queue (its filters and order in the query
    string); after the last one, say so and go back to the queue."""
    carried = _queue_args(request.args)
    filters = _filters()
    following = review_queue.next_in_queue(g.user, filters, request.args.get("after", ""))
    if following is not None:
        return redirect(url_for("console.submission", instance_id=following, **carried))
    left = review_queue.waiting_count(g.user, filters)
    if left:
        flash(translate("queue.end_reached", n=left), "info")
    else:
        flash(translate("queue.done"), "success")
    return redirect(url_for("console.queue", **carried))


@bp.post("/submissions/<uuid:instance_id>/review")
def decide(instance_id):
    """Approve, send back with issues, or reject a submission."""
    state = request.form.get("state", "")
    carried = _queue_args(request.args)
    try:
        review_queue.decide(
            g.user, str(instance_id), state, request.form.get("comment", ""),
            seen_state=request.form.get("seen_state") or None, ip=client_ip(),
        )
    except ServiceError as error:
        # Refused: the submission again as it is now, still within its queue, with the
        # comment typed kept (a long reason for sending back is not lost to another tab's
        # decision) and the state it is in now named in the page's language.
        file = submission_view.submission_file(g.user, str(instance_id), ip=client_ip())
        if error.code == "review.stale":
            now = translate(f"review.{file['submission'].review_state}")
            flash(translate("submission.stale", state=now), "error")
        else:
            flash_refusal(error)
        page = _submission_page(file, comment=request.form.get("comment", "")[:2000],
                                then_next=request.form.get("then") == "next")
        return page, error.status
    flash(translate("submission.decided", state=translate(f"review.{state}")), "success")
    target = url_for("console.submission", instance_id=instance_id, **carried)
    if request.form.get("then") == "next":
        target = url_for("console.next_submission", after=instance_id, **carried)
    elif request.form.get("then") == "queue":
        target = safe_next(request.form.get("next"), url_for("console.queue"))
    return redirect(target)
