"""The OpenAPI document, generated from the marshmallow schemas and view docstrings."""

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import current_app

from . import bp

_cache: dict = {}


def build_spec(app) -> dict:
    """Build the OpenAPI 3 document for every /api/v1 route that documents itself."""
    spec = APISpec(
        title="Ruhu API", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()]
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
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
        spec.path(path=path, operations={k: v for k, v in operations.items() if k in wanted})
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi():
    """Return the OpenAPI document (no sign-in needed)."""
    if "spec" not in _cache or current_app.testing:
        _cache["spec"] = build_spec(current_app)
    return _cache["spec"]
