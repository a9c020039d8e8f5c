"""The landing page: the user's region at a glance, each figure a link to its work."""

from flask import g, render_template

from ..services import households, review_queue
from . import bp
from .nav import NavItem, register

register(NavItem("console.index", "nav.overview"))


@bp.get("/")
def index():
    """Show the overview of the user's region: what waits for the supervisor."""
    queue = review_queue.queue(g.user, review_queue.QueueFilters(), per_page=25)
    return render_template(
        "console/overview.html",
        household_count=households.count_in_scope(g.user),
        state_counts=queue.state_counts,
        flag_counts=queue.flag_counts,
    )
