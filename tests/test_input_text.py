"""No NUL character (U+0000) in the API's input: a 422 naming where it is, on both engines,
before anything is looked up or stored (api/input_text.py)."""

import json

from sqlalchemy import func, select

from server.extensions import db
from server.models import Submission
from tests.conftest import TOWNSHIP_1
from tests.sync_helpers import frozen, survey

CODE = "validation.nul_character"


def test_a_nul_in_a_json_body_is_refused_naming_the_field(client):
    """Signing in with a NUL in the user name: 422 naming `username` (PostgreSQL could not
    even compare such a name; SQLite answered 401)."""
    response = client.post("/api/v1/auth/login",
                           json={"username": "inv1\x00", "password": "x" * 12})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == CODE
    assert set(body["errors"]) == {"username"}
    assert "U+0000" in body["message"]


def test_a_nul_in_a_query_is_refused_naming_the_parameter(api):
    """A scanned text with a NUL: 422 naming `qr`, not a database error."""
    response = api.as_user("inv1").get("/api/v1/households/lookup",
                                       query_string={"qr": "abc\x00def"})
    assert response.status_code == 422
    assert response.get_json()["code"] == CODE
    assert set(response.get_json()["errors"]) == {"qr"}


def test_a_nul_deep_in_a_submission_is_refused_and_nothing_is_stored(api, demo):
    """A NUL in one member's name: 422 naming that answer's path; no submission stored, and
    the same submission without it is received."""
    inv1 = api.as_user("inv1")
    household = frozen(demo.households_in(TOWNSHIP_1)[0])
    members = [{"id": "00000000-0000-4000-8000-000000000001", "name": "张\x00三",
                "relation": "other"}]
    body = survey(household, {"address": "有空字符", "members": members},
                  investigators=[demo.user("inv1").id, demo.user("inv2").id])
    response = inv1.post("/api/v1/submissions", json=body)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "answers.members.0.name": [response.get_json()["message"]]}
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
    members[0]["name"] = "张三"
    assert inv1.post("/api/v1/submissions", json=body).status_code == 201


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(client):
    """The six characters \\u0000 typed as text (a JSON string "\\\\u0000") are no NUL:
    the sign-in is simply refused as a wrong password would be."""
    raw = json.dumps({"username": "\\u0000inv1", "password": "x" * 12})
    assert "\\\\u0000" in raw
    response = client.post("/api/v1/auth/login", data=raw,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 401, response.get_json()


def test_a_nul_in_a_key_is_refused(client):
    """A NUL in an object's key is named by the key's path."""
    response = client.post("/api/v1/auth/login",
                           json={"username": "inv1", "password": "x" * 12, "ex\x00tra": 1})
    assert response.status_code == 422
    assert response.get_json()["code"] == CODE
    assert set(response.get_json()["errors"]) == {"ex\x00tra"}
