"""The supervisor console under /console: server-rendered pages, session login, CSRF.

One blueprint; one module per screen attaches its routes to it (like the API). A new screen:
a module here that imports `bp`, registers its navigation item (nav.py) and its texts
(i18n.add_messages), and one line in SCREENS below. Templates live in templates/console/
and extend "console/base.html"; static files in static/ (no inline script: a strict CSP).
"""

from datetime import timedelta
from importlib import import_module

from flask import Blueprint, Flask

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")

# Screen modules, in navigation order.
SCREENS = (
    "signin",
    "overview",
    "review",
    "progress",
    "sampling",
    "conflicts",
    "audit_flags",
    "audit_ledger",
    "audit_reviews",
    "audit_rolls",
    "households",
    "records",
    "exports",
    "labels",
    "devices",
    "accounts",
)


def init_app(app: Flask) -> None:
    """Register the console: its screens, languages and session lifetime."""
    from . import access, i18n, present

    for name in SCREENS:
        import_module(f"{__name__}.{name}")
    # A console session lasts a working day; after that the supervisor signs in again.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        hours=app.config.get("CONSOLE_SESSION_HOURS", 10)
    )
    app.jinja_env.globals.update(asset_url=access.asset_url, url_with=access.url_with)
    i18n.init_app(app)
    present.init_app(app)
    app.register_blueprint(bp)
