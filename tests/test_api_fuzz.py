"""API fuzzing with schemathesis against our own OpenAPI document: no 500s, no response that
breaks the documented schema, for every documented operation."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from server import create_app
from server.extensions import db
from tests.conftest import DEMO_PASSWORD, _config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fuzz_app(databases, tmp_path_factory):
    """One demo app shared by the module (fuzzing needs many requests, not fresh data)."""
    url = databases.fresh("demo")
    app = create_app(_config(url, tmp_path_factory.mktemp("fuzz")))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    databases.drop(url)


@pytest.fixture(scope="module")
def fuzz_token(fuzz_app):
    """A supervisor's bearer token (the widest read scope)."""
    response = fuzz_app.test_client().post(
        "/api/v1/auth/login", json={"username": "sup1", "password": DEMO_PASSWORD}
    )
    return response.get_json()["token"]


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app):
    """The OpenAPI document as schemathesis sees it, served by the app itself.

    Generated text holds no NUL character: the API refuses one anywhere with a 422
    (api/input_text.py, stated in the document's description, tested in
    test_input_text.py), a rule a JSON schema cannot express per field.
    """
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)
    schema.config.generation.update(allow_x00=False)
    return schema


def excluded_checks(case) -> list:
    """Return the checks that do not apply to an operation.

    A file upload's content (a CSV whose every row is valid) is beyond what a schema can say,
    so schema-valid random bytes are rightly refused with 422; every other check still runs.
    The files themselves are tested in test_crosscheck.py and test_payment_roll.py.
    """
    if any(body.media_type == "multipart/form-data" for body in case.operation.body):
        return [positive_data_acceptance]
    if (case.operation.method.upper(), case.operation.path) in STATE_DEPENDENT_BODIES:
        return [positive_data_acceptance]
    return []


# Bodies whose validity depends on what the server holds, beyond any schema: a submission
# names a form version from the catalogue, a household version from its history, and
# answers that must fit that form (all 422 when they do not; tested in test_sync.py).
STATE_DEPENDENT_BODIES = {("POST", "/api/v1/submissions")}


def test_api_answers_every_generated_request_within_its_schema(fuzz_schema, fuzz_token):
    """Whatever is sent, every operation answers without a 500 and as documented."""
    # schemathesis's pytest plugin does not run under pytest 9, so each operation's strategy
    # is driven by hypothesis here directly.
    # identity: the WSGI transport does not undo the compression the app applies.
    headers = {"Authorization": f"Bearer {fuzz_token}", "Accept-Encoding": "identity"}
    tested = []
    for result in fuzz_schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/auth/logout":
            continue  # would revoke the shared token; covered in test_auth.py

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def exercise(case):
            """Send one generated request and validate the answer."""
            case.call_and_validate(headers=headers, excluded_checks=excluded_checks(case))

        exercise()
        tested.append(f"{operation.method.upper()} {operation.path}")
    assert "GET /api/v1/households" in tested and "POST /api/v1/auth/login" in tested
