"""One JSON error shape for every API error, and the OpenAPI document."""

import pytest


@pytest.mark.parametrize(
    "method,url,status",
    [
        ("get", "/api/v1/no-such-thing", 404),
        ("delete", "/api/v1/auth/login", 405),
        ("get", "/api/v1/households", 401),
        ("post", "/api/v1/auth/login", 422),
    ],
)
def test_errors_have_one_shape(client, method, url, status):
    """404, 405, 401 and 422 all come as {"code", "message", "errors"} JSON."""
    response = getattr(client, method)(url)
    assert response.status_code == status
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"code", "message", "errors"}
    assert isinstance(body["code"], str) and body["message"]


def test_oversized_body_is_413_json(client, app):
    """A body over MAX_CONTENT_LENGTH is refused with 413 in the error shape."""
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/api/v1/auth/login", data=b"x" * 5000, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"


def test_invalid_json_is_a_422_not_a_500(client):
    """A body that is not JSON gets a clear error."""
    response = client.post("/api/v1/auth/login", data=b"{not json", content_type="application/json")
    assert response.status_code == 422


def test_openapi_document_describes_the_api(client):
    """The OpenAPI document is generated from the schemas and lists the routes."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/households" in spec["paths"] and "/api/v1/auth/login" in spec["paths"]
    assert "/api/v1/households/{household_id}" in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert {"Error", "Login", "Token", "Household", "HouseholdDelta"} <= set(schemas)
    assert "password" in schemas["Login"]["properties"]
    assert "password" not in schemas.get("User", {}).get("properties", {})


def test_ids_too_large_for_the_database_are_404(api):
    """A 30-digit id matches no route instead of overflowing the database driver."""
    response = api.as_user("inv1").get("/api/v1/households/" + "9" * 30)
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert api.as_user("inv1").get("/api/v1/households?since=1." + "9" * 30).status_code == 422


def test_ids_beyond_a_database_integer_are_404_on_every_engine(api):
    """An id past PostgreSQL's INTEGER range is refused before it reaches the database."""
    sup1 = api.as_user("sup1")
    response = sup1.post(
        "/api/v1/conflicts/121645100408832001/resolve", json={"choice": "server", "seen_version": 1}
    )
    assert response.status_code == 404
    assert sup1.get("/api/v1/households/2147483648").status_code == 404
    assert sup1.get("/api/v1/households?since=1.2147483648").status_code == 422
