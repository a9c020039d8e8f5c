"""Enrolling a phone with a one-time code (the console's QR) instead of a password."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import DeviceToken
from server.models.clock import utcnow


def create_code(api, for_user="inv1", as_user="sup1"):
    """Ask for an enrolment code as a supervisor; return the response."""
    return api.as_user(as_user).post("/api/v1/auth/enrolments", json={"username": for_user})


def enrol(client, code, label="phone A"):
    """Exchange a code for a token."""
    return client.post("/api/v1/auth/enrol", json={"code": code, "device_label": label})


def test_a_code_enrols_one_phone_once(api, client):
    """The code gives a working device token, then it is spent."""
    created = create_code(api)
    assert created.status_code == 201
    body = created.get_json()
    assert body["url"].endswith(f"/?enrol={body['code']}")
    assert body["user"]["username"] == "inv1"

    first = enrol(client, body["code"])
    assert first.status_code == 200
    token = first.get_json()["token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.get_json()["username"] == "inv1"

    again = enrol(client, body["code"])
    assert again.status_code == 401 and again.get_json()["code"] == "auth.invalid_enrolment"


def test_the_code_is_stored_hashed_and_is_not_a_bearer_token(api, client):
    """Only the hash is kept, and the code itself opens no API."""
    code = create_code(api).get_json()["code"]
    assert code not in db.session.scalars(select(DeviceToken.token_hash)).all()
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {code}"})
    assert me.status_code == 401


def test_an_expired_code_is_refused(api, client):
    """Codes live 15 minutes."""
    code = create_code(api).get_json()["code"]
    row = db.session.scalar(select(DeviceToken).where(DeviceToken.kind == "enrolment"))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert enrol(client, code).status_code == 401


@pytest.mark.parametrize("payload", [{}, {"code": ""}, {"code": "x" * 200}])
def test_malformed_enrolments_are_422(client, payload):
    """A missing or absurd code is a validation error."""
    assert client.post("/api/v1/auth/enrol", json=payload).status_code == 422


def test_only_supervisors_in_scope_create_codes(api):
    """Investigators cannot create codes; unknown users are 404."""
    assert create_code(api, as_user="inv2").status_code == 403
    assert create_code(api, for_user="nobody").status_code == 404


def test_teammates_are_the_investigators_of_the_same_area(api):
    """inv1 may survey with inv2 (same township), not with inv3 (another township)."""
    body = api.as_user("inv1").get("/api/v1/auth/teammates").get_json()
    assert [u["username"] for u in body["users"]] == ["inv2"]
