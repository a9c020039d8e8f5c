"""Cross-check lists and flags (信息比对), and the audit vocabulary."""

from flask import g, request

from ..domain.audit_categories import ACTIONS, CATEGORIES
from ..domain.audit_lists import LIST_KINDS, columns_of
from ..schemas.audit import (
    crosscheck_list_schema,
    crosscheck_lists_schema,
    crosscheck_rows_schema,
    flag_page_schema,
    flag_query_schema,
    list_import_form_schema,
    list_import_schema,
    queue_schema,
)
from ..services import crosscheck
from ..services.audit_files import saved_upload
from . import bp
from .auth_context import client_ip, require_user


@bp.get("/audit/categories")
@require_user()
def audit_vocabulary():
    """Return Keshan's ten problem categories, the required actions and the list kinds.
    ---
    get:
      tags: [audit]
      summary: The audit vocabulary (categories, actions, list kinds with their columns)
      security: [{bearer: []}]
      responses:
        200:
          content:
            application/json: {}
    """
    return {
        "categories": list(CATEGORIES.values()),
        "actions": list(ACTIONS.values()),
        "list_kinds": [
            {
                "id": kind.id,
                "label": kind.label,
                "columns": [
                    {"name": c.name, "type": c.type, "required": c.required, "aliases": c.aliases}
                    for c in columns_of(kind)
                ],
            }
            for kind in LIST_KINDS.values()
        ],
    }


@bp.post("/audit/crosscheck/lists")
@require_user("supervisor", "admin")
def import_crosscheck_list():
    """Import another department's list (CSV or XLSX) and flag every match.
    ---
    post:
      tags: [audit]
      summary: Import a cross-check list (county supervisors and admins)
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              required: [file, kind]
              properties:
                file: {type: string, format: binary}
                kind: {type: string, enum: [deaths, public_payroll, vehicles, real_estate, business, pensions, housing_fund]}
                source: {type: string, description: the department or archive}
                as_of: {type: string, format: date}
      responses:
        201:
          content:
            application/json:
              schema: ListImportSchema
        403: error
        422: error
    """
    form = list_import_form_schema.load(request.form.to_dict())
    with saved_upload(request.files.get("file")) as (path, name):
        summary = crosscheck.import_list(
            path,
            form["kind"],
            actor=g.user,
            source=form["source"],
            as_of=form["as_of"],
            filename=name,
            ip=client_ip(),
        )
    return list_import_schema.dump(summary), 201


@bp.get("/audit/crosscheck/lists")
@require_user("supervisor", "admin")
def list_crosscheck_lists():
    """Return the imported lists, newest first.
    ---
    get:
      tags: [audit]
      summary: Imported lists (county supervisors and admins)
      security: [{bearer: []}]
      responses:
        200:
          content:
            application/json:
              schema:
                type: array
                items: CrosscheckListSchema
        403: error
    """
    return crosscheck_lists_schema.dump(crosscheck.lists(g.user, ip=client_ip()))


@bp.get("/audit/crosscheck/lists/<int:list_id>")
@require_user("supervisor", "admin")
def get_crosscheck_list(list_id: int):
    """Return one imported list with the rows that matched someone.
    ---
    get:
      tags: [audit]
      summary: One list and its matched rows (county supervisors and admins)
      security: [{bearer: []}]
      parameters:
        - {in: path, name: list_id, required: true, schema: {type: integer, minimum: 1, maximum: 2147483647}}
      responses:
        200:
          content:
            application/json:
              schema: ListDetailSchema
        403: error
        404: error
    """
    imported, rows = crosscheck.get_list(g.user, list_id, ip=client_ip())
    return {**crosscheck_list_schema.dump(imported), "rows": crosscheck_rows_schema.dump(rows)}


@bp.get("/audit/crosscheck/flags")
@require_user("supervisor", "admin")
def list_flags():
    """Return the flags of households in the caller's scope, newest first.
    ---
    get:
      tags: [audit]
      summary: Cross-check flags in scope
      security: [{bearer: []}]
      parameters:
        - {in: query, schema: FlagQuerySchema}
      responses:
        200:
          content:
            application/json:
              schema: FlagPageSchema
        403: error
        404: error  # township_code names no township of the caller's scope
        422: error
    """
    query = flag_query_schema.load(request.args.to_dict())
    limit, offset = query.pop("limit"), query.pop("offset")
    page = crosscheck.flags(g.user, query, limit=limit, offset=offset, ip=client_ip())
    return flag_page_schema.dump(page)


@bp.get("/audit/crosscheck/queue")
@require_user("supervisor", "admin")
def flagged_queue():
    """Return the households in scope with active flags.
    ---
    get:
      tags: [audit]
      summary: Flagged households (the audit queue)
      security: [{bearer: []}]
      responses:
        200:
          content:
            application/json:
              schema:
                type: array
                items: QueueItemSchema
        403: error
    """
    return queue_schema.dump(crosscheck.flagged_households(g.user, ip=client_ip()))
