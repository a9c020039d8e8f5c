"""The JSON API under /api/v1: one module per resource, all on one blueprint."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Import the resource modules so their routes attach to the blueprint.
from . import auth, conflicts, households, openapi, submissions  # noqa: E402,F401
