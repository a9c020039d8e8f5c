"""The rectification ledger (整改台账): entries, state changes, progress, XLSX export."""


from flask import g, request

from .. import county_clock
from ..schemas.audit import (
    from_check_schema,
    ledger_create_schema,
    ledger_entry_schema,
    ledger_page_schema,
    ledger_query_schema,
    ledger_update_schema,
    progress_schema,
    transition_request_schema,
)
from ..services import exports, ledger
from . import bp
from .auth_context import client_ip, require_user


@bp.get("/audit/ledger")
@require_user("supervisor", "admin")
def list_ledger_entries():
    """Return ledger entries in scope, overdue ones first.
    ---
    get:
      tags: [audit]
      summary: Ledger entries in scope
      security: [{bearer: []}]
      parameters:
        - {in: query, schema: LedgerQuerySchema}
      responses:
        200:
          content:
            application/json:
              schema: LedgerPageSchema
        403: error
        404: error  # township_code names no township of the caller's scope
        422: error
    """
    query = ledger_query_schema.load(request.args.to_dict())
    limit, offset = query.pop("limit"), query.pop("offset")
    filters = {k: v for k, v in query.items() if v is not None}
    page = ledger.list_entries(g.user, filters, limit=limit, offset=offset, ip=client_ip())
    return ledger_page_schema.dump(page)


@bp.post("/audit/ledger")
@require_user("supervisor", "admin")
def create_ledger_entry():
    """Add a problem found by hand.
    ---
    post:
      tags: [audit]
      summary: Add a ledger entry
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: LedgerCreateSchema
      responses:
        201:
          content:
            application/json:
              schema: LedgerEntrySchema
        404: error
        403: error
        422: error
    """
    data = ledger_create_schema.load(request.get_json(silent=True) or {})
    entry = ledger.create(g.user, data, ip=client_ip())
    return ledger_entry_schema.dump(entry), 201


@bp.post("/audit/ledger/from-check")
@require_user("supervisor", "admin")
def create_ledger_entry_from_check():
    """Enter a survey's failed check in the ledger (deceased member, disqualifier, wrong
    conclusion): one entry per survey and check.
    ---
    post:
      tags: [audit]
      summary: Ledger entry from an automatic check
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: FromCheckSchema
      responses:
        201:
          content:
            application/json:
              schema: LedgerEntrySchema
        403: error
        404: error
        409: error
        422: error
    """
    data = from_check_schema.load(request.get_json(silent=True) or {})
    entry = ledger.create_from_check(g.user, data["instance_id"], data["check_id"], ip=client_ip())
    return ledger_entry_schema.dump(entry), 201


@bp.get("/audit/ledger/progress")
@require_user("supervisor", "admin")
def ledger_progress():
    """Return progress by township and category.
    ---
    get:
      tags: [audit]
      summary: Ledger progress by township and category
      security: [{bearer: []}]
      responses:
        200:
          content:
            application/json:
              schema:
                type: array
                items: ProgressRowSchema
        403: error
    """
    return progress_schema.dump(ledger.progress(g.user))


@bp.get("/audit/ledger/export.xlsx")
@require_user("supervisor", "admin")
def export_ledger():
    """Return the entries in scope (filtered like the list) as an XLSX workbook.
    ---
    get:
      tags: [audit]
      summary: Ledger as XLSX (entries and progress)
      security: [{bearer: []}]
      parameters:
        - {in: query, schema: LedgerQuerySchema}
      responses:
        200:
          content:
            application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: {}
        403: error
        404: error  # township_code names no township of the caller's scope
    """
    query = ledger_query_schema.load(request.args.to_dict())
    query.pop("limit"), query.pop("offset")
    filters = {k: v for k, v in query.items() if v is not None}
    data = ledger.export_xlsx(g.user, filters, ip=client_ip())
    name = f"ledger-{county_clock.today().isoformat()}.xlsx"
    return (
        data,
        200,
        {
            "Content-Type": exports.XLSX_MIME,
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/audit/ledger/<int:entry_id>")
@require_user("supervisor", "admin")
def get_ledger_entry(entry_id: int):
    """Return one entry with every state change.
    ---
    get:
      tags: [audit]
      summary: One ledger entry
      security: [{bearer: []}]
      parameters:
        - {in: path, name: entry_id, required: true, schema: {type: integer, minimum: 1, maximum: 2147483647}}
      responses:
        200:
          content:
            application/json:
              schema: LedgerEntrySchema
        403: error
        404: error
    """
    return ledger_entry_schema.dump(ledger.get(g.user, entry_id, ip=client_ip()))


@bp.patch("/audit/ledger/<int:entry_id>")
@require_user("supervisor", "admin")
def update_ledger_entry(entry_id: int):
    """Change what an entry requires: category, actions, description, deadline, amount;
    with `seen_updated_at`, only if nobody changed the entry since.
    ---
    patch:
      tags: [audit]
      summary: Edit an entry that is not closed
      security: [{bearer: []}]
      parameters:
        - {in: path, name: entry_id, required: true, schema: {type: integer, minimum: 1, maximum: 2147483647}}
      requestBody:
        required: true
        content:
          application/json:
            schema: LedgerUpdateSchema
      responses:
        200:
          content:
            application/json:
              schema: LedgerEntrySchema
        404: error
        409: error  # ledger.closed; ledger.stale: changed since seen_updated_at
        422: error
    """
    data = ledger_update_schema.load(request.get_json(silent=True) or {})
    seen = data.pop("seen_updated_at")
    entry = ledger.update(g.user, entry_id, data, seen_updated_at=seen, ip=client_ip())
    return ledger_entry_schema.dump(entry)


@bp.post("/audit/ledger/<int:entry_id>/transitions")
@require_user("supervisor", "admin")
def transition_ledger_entry(entry_id: int):
    """Move an entry to another state; closing (销号) needs verifying evidence. With
    `from_state`, only if the entry is still in the state the mover saw.
    ---
    post:
      tags: [audit]
      summary: Change an entry's state
      security: [{bearer: []}]
      parameters:
        - {in: path, name: entry_id, required: true, schema: {type: integer, minimum: 1, maximum: 2147483647}}
      requestBody:
        required: true
        content:
          application/json:
            schema: TransitionRequestSchema
      responses:
        200:
          content:
            application/json:
              schema: LedgerEntrySchema
        404: error
        409: error  # a move the state machine refuses; ledger.stale_state: left from_state
        422: error
    """
    data = transition_request_schema.load(request.get_json(silent=True) or {})
    entry = ledger.transition(g.user, entry_id, ip=client_ip(), **data)
    return ledger_entry_schema.dump(entry)
