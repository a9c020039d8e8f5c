"""Door labels: pick a village, print its sheet of household QR labels."""

from flask import g, render_template, request

from ..services import labels
from ..services.region_tree import scope_tree
from . import bp
from .access import client_ip, public_base_url
from .nav import NavItem, register

register(NavItem("console.labels_page", "nav.labels", group="records"))


@bp.get("/labels")
def labels_page():
    """Show the village picker, and the printable label sheet once a village is chosen."""
    village = request.args.get("village") or None
    sheet = None
    if village:
        sheet = labels.label_sheet(g.user, village, base_url=public_base_url(), ip=client_ip())
    return render_template("console/labels.html", tree=scope_tree(g.user), sheet=sheet,
                           village=village)
