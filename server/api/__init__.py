"""The JSON API under /api/v1: one module per resource, all on one blueprint."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Import the resource modules so their routes attach to the blueprint.
from . import (  # noqa: E402,F401
    assignments,
    audit_crosscheck,
    audit_ledger,
    audit_payment_rolls,
    audit_reviews,
    auth,
    conflicts,
    forms,
    households,
    openapi,
    submissions,
)
