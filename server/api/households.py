"""Households for the app: delta download, fetch, QR lookup and QR images."""

from flask import current_app, g, request

from ..domain.masking import mask_id_number
from ..schemas.household import (
    delta_query_schema,
    dump_household_head,
    dump_record_items,
    household_delta_schema,
    household_schema,
)
from ..services import households, qr_codes
from ..services.errors import Invalid
from . import bp
from .auth_context import client_ip, require_user


def base_url() -> str:
    """Return the public base URL labels point to (RUHU_BASE_URL, else this request's host)."""
    return current_app.config.get("BASE_URL") or request.host_url


@bp.get("/households")
@require_user()
def list_households():
    """Download households in scope changed since a cursor (delta for offline use).
    ---
    get:
      tags: [households]
      summary: Delta download
      security: [{bearer: []}]
      parameters:
        - {in: query, name: since, schema: {type: string, pattern: "^[0-9]{1,9}[.][0-9]{1,9}$"}, description: cursor from the last page}
        - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 500}}
      responses:
        200:
          content:
            application/json:
              schema: HouseholdDeltaSchema
        401: error
        422: error
    """
    query = delta_query_schema.load(request.args.to_dict())
    page = households.delta(g.user, since=query["since"], limit=query["limit"], ip=client_ip())
    body = household_delta_schema.dump(page)
    if g.user.role != "investigator":
        # Investigators check ID numbers against the 户口本 on the visit, offline; supervisors
        # get a whole region here, so only masked ones (the console's household page and
        # GET /households/<id> show one household's in full, and that read is audited).
        for household in body["households"]:
            for person in household.get("members", []) + household.get("supporters", []):
                person["id_number"] = mask_id_number(person.get("id_number"))
    return body


@bp.get("/households/lookup")
@require_user(plain=True)
def lookup_household():
    """Find the household whose door label carries a QR token.
    ---
    get:
      tags: [households]
      summary: Look up by QR token
      security: [{bearer: []}]
      parameters:
        - {in: query, name: qr, required: true, schema: {type: string, minLength: 1, pattern: "[^ ]"}}
      responses:
        200:
          content:
            application/json:
              schema: HouseholdSchema
        403: error
        404: error
        422: error
    """
    token = request.args.get("qr", "").strip()
    if not token:
        raise Invalid("缺少二维码 / missing qr", errors={"qr": ["required"]})
    # Accept the whole scanned URL as well as the bare token.
    token = token.rstrip("/").rsplit("/h/", 1)[-1]
    household, items = households.lookup_qr(g.caller, token, ip=client_ip())
    return dump_household_head(household) | dump_record_items(items)


@bp.get("/households/<int:household_id>")
@require_user()
def get_household(household_id: int):
    """Return one household with its master record.
    ---
    get:
      tags: [households]
      summary: One household
      security: [{bearer: []}]
      parameters:
        - {in: path, name: household_id, required: true, schema: {type: integer}}
      responses:
        200:
          content:
            application/json:
              schema: HouseholdSchema
        403: error
        404: error
    """
    return household_schema.dump(households.get(g.user, household_id, ip=client_ip()))


def _qr_response(household_id: int, kind: str):
    """Return the household's label QR as PNG or SVG."""
    household = households.get(g.user, household_id, ip=client_ip())
    url = qr_codes.household_url(base_url(), household.qr_token)
    if kind == "png":
        return (
            qr_codes.png(url),
            200,
            {"Content-Type": "image/png", "Cache-Control": "private, max-age=3600"},
        )
    return (
        qr_codes.svg(url),
        200,
        {"Content-Type": "image/svg+xml", "Cache-Control": "private, max-age=3600"},
    )


@bp.get("/households/<int:household_id>/qr.png")
@require_user()
def household_qr_png(household_id: int):
    """Return the household's door-label QR code as PNG.
    ---
    get:
      tags: [households]
      summary: QR code (PNG) encoding <base-url>/h/<qr_token>
      security: [{bearer: []}]
      parameters:
        - {in: path, name: household_id, required: true, schema: {type: integer}}
      responses:
        200:
          content:
            image/png: {}
        403: error
        404: error
    """
    return _qr_response(household_id, "png")


@bp.get("/households/<int:household_id>/qr.svg")
@require_user()
def household_qr_svg(household_id: int):
    """Return the household's door-label QR code as SVG.
    ---
    get:
      tags: [households]
      summary: QR code (SVG)
      security: [{bearer: []}]
      parameters:
        - {in: path, name: household_id, required: true, schema: {type: integer}}
      responses:
        200:
          content:
            image/svg+xml: {}
        403: error
        404: error
    """
    return _qr_response(household_id, "svg")
