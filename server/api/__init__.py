"""The JSON API under /api/v1: one module per resource, all on one blueprint."""

from flask import Blueprint

from .input_text import refuse_nul_characters

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(refuse_nul_characters)

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
