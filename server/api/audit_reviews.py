"""The review calendar: households due for their periodic review, and who is to visit them."""

from flask import g, request

from ..schemas.audit import assign_schema, review_calendar_schema, review_query_schema
from ..services import review_calendar
from . import bp
from .auth_context import client_ip, require_user


@bp.get("/audit/reviews")
@require_user()
def review_calendar_due():
    """Return the covered households in scope due for review, overdue ones first.
    ---
    get:
      tags: [audit]
      summary: Review calendar (investigators see their own region)
      security: [{bearer: []}]
      parameters:
        - {in: query, schema: ReviewQuerySchema}
      responses:
        200:
          content:
            application/json:
              schema: ReviewCalendarSchema
        404: error  # township_code or village_code names no region of the caller's scope
        422: error
    """
    query = review_query_schema.load(request.args.to_dict())
    return review_calendar_schema.dump(review_calendar.calendar(g.user, ip=client_ip(), **query))


@bp.post("/audit/reviews/assignments")
@require_user("supervisor", "admin")
def assign_reviews():
    """Assign households' reviews to an investigator (investigator_id null: unassign).
    ---
    post:
      tags: [audit]
      summary: Assign reviews to an investigator
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: AssignSchema
      responses:
        200:
          content:
            application/json:
              schema:
                type: object
                properties:
                  changed: {type: integer}
        403: error
        404: error
        422: error
    """
    data = assign_schema.load(request.get_json(silent=True) or {})
    changed = review_calendar.assign(
        g.user, data["household_ids"], data["investigator_id"], ip=client_ip()
    )
    return {"changed": changed}
