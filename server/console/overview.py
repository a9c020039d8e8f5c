"""The landing page: the user's region at a glance."""

from flask import g, render_template

from ..services import households
from . import bp
from .nav import NavItem, register

register(NavItem("console.index", "nav.overview"))


@bp.get("/")
def index():
    """Show the overview of the user's region."""
    return render_template(
        "console/overview.html", household_count=households.count_in_scope(g.user)
    )
