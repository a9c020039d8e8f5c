"""Supervision: open conflicts and their resolution, a household's history."""

from flask import g, request

from ..schemas.submission import (
    conflict_list_schema,
    conflict_query_schema,
    conflict_schema,
    history_schema,
    resolve_schema,
)
from ..services import conflicts
from . import bp
from .auth_context import client_ip, require_user


@bp.get("/conflicts")
@require_user("supervisor", "admin")
def list_conflicts():
    """List conflicts in scope (open by default) with each household's current version.
    ---
    get:
      tags: [review]
      summary: Conflicts waiting for a decision
      security: [{bearer: []}]
      parameters:
        - in: query
          name: status
          schema: {type: string, enum: [open, resolved, dismissed, all]}
        - in: query
          name: household_id
          schema: {type: integer, minimum: 1, maximum: 2147483647}
        - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 1000}}
      responses:
        200:
          content:
            application/json:
              schema: ConflictListSchema
        403: error
        422: error
    """
    query = conflict_query_schema.load(request.args.to_dict())
    return conflict_list_schema.dump(conflicts.list_conflicts(g.user, **query, ip=client_ip()))


@bp.post("/conflicts/<int:conflict_id>/resolve")
@require_user("supervisor", "admin")
def resolve_conflict(conflict_id: int):
    """Decide a conflict with a side (server, submitted, base) or a new value.
    ---
    post:
      tags: [review]
      summary: Resolve a conflict (writes a new household version)
      security: [{bearer: []}]
      parameters:
        - {in: path, name: conflict_id, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content:
          application/json:
            schema: ResolveSchema
      responses:
        200:
          content:
            application/json:
              schema: ConflictSchema
        403: error
        404: error
        409:
          description: conflict.stale (the field changed after seen_version) or conflict.closed
          content:
            application/json:
              schema: ErrorSchema
        422: error
    """
    data = resolve_schema.load(request.get_json(silent=True) or {})
    conflict = conflicts.resolve(g.user, conflict_id, choice=data["choice"],
                                 value=data["value"], seen_version=data["seen_version"],
                                 comment=data["comment"], ip=client_ip())
    return conflict_schema.dump(conflict)


@bp.get("/households/<int:household_id>/history")
@require_user()
def household_history(household_id: int):
    """Return a household's versions with their diffs and sources, and its conflicts.
    ---
    get:
      tags: [households]
      summary: Version history
      security: [{bearer: []}]
      parameters:
        - {in: path, name: household_id, required: true, schema: {type: integer}}
      responses:
        200:
          content:
            application/json:
              schema: HistorySchema
        403: error
        404: error
    """
    return history_schema.dump(conflicts.history(g.user, household_id, ip=client_ip()))
