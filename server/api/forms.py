"""Survey forms and local policies for the app: what to ask and how to assess it."""

from flask import request

from ..services import forms, policies
from ..services.errors import NotFound
from . import bp
from .auth_context import require_user


@bp.get("/forms")
@require_user()
def list_forms():
    """List the published survey forms with their newest version.
    ---
    get:
      tags: [forms]
      summary: Published forms
      security: [{bearer: []}]
      responses:
        200:
          description: "{forms: [{id, version, title, versions}]}; fetch a form when its
            version differs from the one held"
        401: error
    """
    return {"forms": forms.list_forms()}


@bp.get("/forms/<form_id>")
@require_user()
def get_form(form_id: str):
    """Return one form definition, the newest version unless ?version= names an older one.
    ---
    get:
      tags: [forms]
      summary: One form definition (see docs/architecture.md, "Form definitions")
      security: [{bearer: []}]
      parameters:
        - {in: path, name: form_id, required: true, schema: {type: string}}
        - {in: query, name: version, schema: {type: string}, description: e.g. 2026.1}
      responses:
        200:
          description: the definition {id, version, title, sections}
        401: error
        404: error
    """
    version = request.args.get("version") or None
    definition = forms.find_form(form_id, version)
    if definition is None:
        raise NotFound("未知问卷或版本 / unknown form or version", code="form.unknown")
    return definition


@bp.get("/policies")
@require_user()
def list_policies():
    """List the local policies (standards, rules, disqualifiers) for the phone's assessment.
    ---
    get:
      tags: [forms]
      summary: Local dibao policies (forms/policies/*.yaml as JSON)
      security: [{bearer: []}]
      responses:
        200:
          description: "{policies: [...]}; pwa/js/policy.js picks one by region code and date"
        401: error
    """
    return {"policies": policies.list_policies()}
