"""The OpenAPI document, generated from the marshmallow schemas and view docstrings."""

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import current_app
from werkzeug.http import HTTP_STATUS_CODES

from ..schemas.common import ErrorSchema
from . import bp

_cache: dict = {}


def build_spec(app) -> dict:
    """Build the OpenAPI 3 document for every /api/v1 route that documents itself."""
    spec = APISpec(
        title="Ruhu API", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
        info={"description": (
            "Errors share one shape: {code, message, errors}, errors mapping fields to "
            "messages. Text never holds a NUL character (U+0000): a query or JSON body with "
            "one is refused with 422 validation.nul_character, naming where it is.")},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        view = app.view_functions[rule.endpoint]
        operations = load_operations_from_docstring(view.__doc__ or "")
        if not operations:
            continue
        path = (
            rule.rule.replace("<int:", "<")
            .replace("<path:", "<")
            .replace("<", "{")
            .replace(">", "}")
        )
        wanted = {m.lower() for m in rule.methods}
        operations = {k: v for k, v in operations.items() if k in wanted}
        for operation in operations.values():
            # OpenAPI requires a description on every response; default to the status phrase
            # so view docstrings stay short.
            responses = operation.get("responses", {})
            for status, response in responses.items():
                if response == "error":
                    # `401: error` in a docstring stands for the one JSON error shape.
                    response = responses[status] = {
                        "content": {"application/json": {"schema": "ErrorSchema"}}
                    }
                response.setdefault("description", HTTP_STATUS_CODES.get(int(status), "response"))
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi():
    """Return the OpenAPI document (no sign-in needed)."""
    if "spec" not in _cache or current_app.testing:
        _cache["spec"] = build_spec(current_app)
    return _cache["spec"]
