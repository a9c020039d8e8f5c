"""The households the sampling draws in force ask the caller to visit (the app marks them)."""

from flask import g

from ..schemas.assignment import assignments_schema
from ..services import sampling
from . import bp
from .auth_context import require_user


@bp.get("/assignments")
@require_user()
def list_assignments():
    """List the households of the caller's scope that must be visited, and why.
    ---
    get:
      tags: [households]
      summary: Sampling assignments in scope
      description: >-
        Every household of a village drawn by the sampling draw in force for its township
        (reason sampled_village), and the households the policy always visits
        (staff_relative, disputed, reported). The whole list, small enough to fetch after
        each household download.
      security: [{bearer: []}]
      responses:
        200:
          content:
            application/json:
              schema: AssignmentsSchema
        401: error
    """
    return assignments_schema.dump({"assignments": sampling.assignments(g.user)})
