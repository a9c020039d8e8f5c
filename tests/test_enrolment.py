"""Enrolling a phone with a one-time code (the console's QR) instead of a password."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import DeviceToken
from server.models.clock import utcnow

pytest_plugins = ["tests.console_helpers"]


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


def test_a_supervisor_enrols_no_phone_for_a_supervisor_or_an_admin(api, client, sup2):
    """A code signs a phone in as its user: a county supervisor gets none for the county's
    admin or a township supervisor (it was 201, and the phone then acted as them), as the
    console's phone page offers investigators only; the admin still enrols any account of
    their region."""
    for someone in ("admin", "sup2", "sup1"):
        refused = create_code(api, for_user=someone, as_user="sup1")
        assert refused.status_code == 403, someone
        assert refused.get_json()["code"] == "scope.forbidden"
    assert create_code(api, for_user="inv1", as_user="sup1").status_code == 201
    code = create_code(api, for_user="sup1", as_user="admin").get_json()["code"]
    assert enrol(client, code).status_code == 200


def test_teammates_are_the_investigators_of_the_same_area(api):
    """inv1 may survey with inv2 (same township), not with inv3 (another township)."""
    body = api.as_user("inv1").get("/api/v1/auth/teammates").get_json()
    assert [u["username"] for u in body["users"]] == ["inv2"]


def enrol_from(client, code, address):
    """Exchange a code for a token from a given network address."""
    return client.post("/api/v1/auth/enrol", json={"code": code, "device_label": "phone"},
                       environ_base={"REMOTE_ADDR": address})


def test_one_offices_wrong_codes_do_not_stop_other_phones_enrolling(api, client, app):
    """Wrong codes from one township office (one address) are counted for that address only:
    another office's phone enrols, and so does the first office's next phone while it is
    under the address's limit (the county-wide limit of 5 stopped every enrolment)."""
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1):
        assert enrol_from(client, "mistyped-code", "10.1.0.7").status_code == 401
    elsewhere = enrol_from(client, create_code(api, "inv1").get_json()["code"], "10.2.0.9")
    assert elsewhere.status_code == 200
    same_office = enrol_from(client, create_code(api, "inv2").get_json()["code"], "10.1.0.7")
    assert same_office.status_code == 200


def test_an_address_with_too_many_wrong_codes_waits_and_is_told_how_long(api, client, app):
    """At the address's limit its enrolments wait (429 auth.rate_limited, Retry-After, the
    minutes in errors.retry_after_minutes and in both languages' message); other addresses
    are not affected."""
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 8
    for _ in range(8):
        assert enrol_from(client, "stale-code", "10.1.0.7").status_code == 401
    code = create_code(api, "inv1").get_json()["code"]
    locked = enrol_from(client, code, "10.1.0.7")
    assert locked.status_code == 429
    body = locked.get_json()
    assert body["code"] == "auth.rate_limited"
    assert body["errors"] == {"retry_after_minutes": 15}
    assert body["message"] == ("登记码错误次数过多，请 15 分钟后再试 / too many wrong enrolment "
                               "codes, try again in 15 minutes")
    assert 840 < int(locked.headers["Retry-After"]) <= 900
    assert enrol_from(client, code, "10.2.0.9").status_code == 200
