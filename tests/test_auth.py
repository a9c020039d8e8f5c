"""Signing in: failures, rate limiting, token expiry and revocation."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, DeviceToken
from server.models.clock import utcnow
from server.services import users
from tests.conftest import TOWNSHIP_1


def login(client, username="inv1", password="demo-pass-2026", **extra):
    """Post credentials to the login endpoint."""
    return client.post(
        "/api/v1/auth/login", json={"username": username, "password": password, **extra}
    )


def test_login_returns_a_working_token(client):
    """A correct password gives a bearer token that /auth/me accepts."""
    response = login(client, device_label="phone A")
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["username"] == "inv1" and body["user"]["role"] == "investigator"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.get_json()["username"] == "inv1"


def test_token_is_stored_hashed(client):
    """The database never holds the bearer secret itself."""
    token = login(client).get_json()["token"]
    stored = db.session.scalars(select(DeviceToken.token_hash)).all()
    assert token not in stored and all(len(h) == 64 for h in stored)


@pytest.mark.parametrize(
    "username,password",
    [
        ("inv1", "wrong-password"),
        ("nobody", "demo-pass-2026"),
        ("INV1", "demo-pass-2026"),
    ],
)
def test_wrong_credentials_are_refused_alike(client, username, password):
    """Unknown users and wrong passwords get the same 401 and are audited."""
    response = login(client, username, password)
    assert response.status_code == 401
    body = response.get_json()
    assert body["code"] == "auth.invalid_credentials" and body["errors"] == {}
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.login_failed"))


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"username": "inv1"},
        {"password": "x"},
        {"username": "", "password": "x"},
        {"username": 5, "password": []},
    ],
)
def test_malformed_login_is_a_422(client, payload):
    """Missing or mistyped fields give field-level errors, not a 500."""
    response = client.post("/api/v1/auth/login", json=payload)
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation.failed"
    assert response.get_json()["errors"]


def test_non_json_login_is_a_422(client):
    """A form-encoded or garbage body is refused with the JSON error shape."""
    response = client.post("/api/v1/auth/login", data="username=inv1", content_type="text/plain")
    assert response.status_code == 422


def test_repeated_failures_are_rate_limited(client, app):
    """After LOGIN_MAX_FAILURES failures even the right password waits (429, Retry-After)."""
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, password="bad-guess").status_code == 401
    response = login(client)
    assert response.status_code == 429
    assert response.get_json()["code"] == "auth.rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def test_rate_limit_counts_per_address_across_usernames(client, app):
    """Guessing across many usernames from one address is limited too, at the address's
    own limit."""
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 8
    for i in range(8):
        assert login(client, username=f"guess{i}", password="x").status_code == 401
    response = login(client, username="inv2")
    assert response.status_code == 429
    assert response.get_json()["errors"]["retry_after_minutes"] == 15


def test_one_persons_typos_do_not_lock_out_others_at_the_same_address(client, app):
    """A township office shares one address: inv2 locking themselves out leaves inv1 (who
    never failed) free to sign in from the same address."""
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, username="inv2", password="bad-guess").status_code == 401
    assert app.config["LOGIN_MAX_FAILURES"] < app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    assert login(client, username="inv2").status_code == 429
    assert login(client, username="inv1").status_code == 200


def test_failures_expire_after_the_window(client, app):
    """Old failures no longer count."""
    from server.models import LoginAttempt

    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, password="bad-guess")
    for attempt in db.session.scalars(select(LoginAttempt)):
        attempt.at = utcnow() - timedelta(seconds=app.config["LOGIN_WINDOW_SECONDS"] + 1)
    db.session.commit()
    assert login(client).status_code == 200


def test_expired_token_is_refused(client):
    """A token past its expiry gives 401 auth.token_expired."""
    body = login(client).get_json()
    row = db.session.get(DeviceToken, body["token_id"])
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get(
        "/api/v1/households", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert response.status_code == 401
    assert response.get_json()["code"] == "auth.token_expired"


def test_logout_revokes_the_token(client):
    """After sign-out the same token no longer works."""
    token = login(client).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    response = client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 401 and response.get_json()["code"] == "auth.token_revoked"
    # Audited with where the sign-out came from, as the sign-in is.
    assert db.session.scalar(select(AuditEntry.ip).where(
        AuditEntry.action == "device.revoke")) == "127.0.0.1"


def test_disabling_a_user_revokes_their_devices(client):
    """A disabled account can neither use its tokens nor sign in again."""
    token = login(client).get_json()["token"]
    users.set_active("inv1", False)
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
    assert login(client).status_code == 401


def test_a_disabled_account_is_refused_even_with_a_live_token(client, demo):
    """The account's own flag is checked on every request, not only its tokens."""
    token = login(client).get_json()["token"]
    demo.user("inv1").active = False
    db.session.commit()
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "auth.account_disabled"


def test_an_enrolment_code_is_no_bearer_token(client, demo):
    """Only a login token signs a request in: an enrolment code is refused as a bearer."""
    from server.services import auth

    code, _ = auth.create_enrolment("inv1", actor=demo.user("sup1"))
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {code}"})
    assert response.status_code == 401 and response.get_json()["code"] == "auth.invalid_token"


def test_last_seen_is_written_at_most_every_few_minutes(client):
    """The first request of a token stamps last_seen; the next ones within the granularity
    write nothing; a later one stamps it again."""
    from server.services.auth import LAST_SEEN_GRANULARITY

    body = login(client).get_json()
    headers = {"Authorization": f"Bearer {body['token']}"}

    def last_seen():
        db.session.expire_all()
        return db.session.get(DeviceToken, body["token_id"]).last_seen_at

    assert last_seen() is None
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    first = last_seen()
    assert first is not None
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert last_seen() == first
    long_ago = utcnow() - LAST_SEEN_GRANULARITY - timedelta(seconds=1)
    db.session.get(DeviceToken, body["token_id"]).last_seen_at = long_ago
    db.session.commit()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert last_seen() > long_ago


def _signed_in_read(demo, plain: bool) -> str:
    """Return a read that signs in with the User row (/auth/me) or as a plain caller (the
    QR lookup: auth.caller_for_token)."""
    if plain:
        return f"/api/v1/households/lookup?qr={demo.households_in(TOWNSHIP_1)[0].qr_token}"
    return "/api/v1/auth/me"


@pytest.mark.parametrize("plain", [False, True], ids=["user-row", "plain-caller"])
def test_both_ways_of_signing_in_check_the_token_alike(client, demo, plain):
    """Unknown, enrolment, revoked and expired tokens and a disabled account are refused
    with the same codes whether the request loads the User row or only a plain caller."""
    from server.services import auth

    url = _signed_in_read(demo, plain)

    def code(token):
        response = client.get(url, headers={"Authorization": f"Bearer {token}"})
        return response.status_code, (response.get_json() or {}).get("code")

    body = login(client).get_json()
    assert code(body["token"])[0] == 200
    assert code("not-a-token") == (401, "auth.invalid_token")
    enrolment, _ = auth.create_enrolment("inv1", actor=demo.user("sup1"))
    assert code(enrolment) == (401, "auth.invalid_token")
    expiring = login(client).get_json()
    db.session.get(DeviceToken, expiring["token_id"]).expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert code(expiring["token"]) == (401, "auth.token_expired")
    revoked = login(client).get_json()
    client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {revoked['token']}"})
    assert code(revoked["token"]) == (401, "auth.token_revoked")
    demo.user("inv1").active = False
    db.session.commit()
    assert code(body["token"]) == (401, "auth.account_disabled")


@pytest.mark.parametrize("plain", [False, True], ids=["user-row", "plain-caller"])
def test_both_ways_of_signing_in_stamp_last_seen(client, demo, plain):
    """The plain caller's sign-in stamps last_seen as the User row's does."""
    body = login(client).get_json()
    response = client.get(_signed_in_read(demo, plain),
                          headers={"Authorization": f"Bearer {body['token']}"})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(DeviceToken, body["token_id"]).last_seen_at is not None


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer not-a-token", "Basic aW52MTp4"])
@pytest.mark.parametrize("url", ["/api/v1/households", "/api/v1/households/lookup?qr=x"])
def test_missing_or_bad_credentials_are_401(client, header, url):
    """Every household endpoint needs a valid token: the list (signed in with the user row)
    and the QR lookup (signed in as a plain caller)."""
    response = client.get(url, headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert set(response.get_json()) == {"code", "message", "errors"}


def test_password_is_hashed_with_a_modern_kdf(app, demo):
    """Passwords are stored as salted scrypt hashes."""
    assert demo.user("inv1").password_hash.startswith("scrypt:")


def _age_failures(app, minutes_ago: list[float]) -> None:
    """Set the recorded failures' times to these many minutes ago (oldest first)."""
    from server.models import LoginAttempt

    attempts = db.session.scalars(select(LoginAttempt).order_by(LoginAttempt.id)).all()
    assert len(attempts) == len(minutes_ago)
    for attempt, ago in zip(attempts, minutes_ago, strict=True):
        attempt.at = utcnow() - timedelta(minutes=ago)
    db.session.commit()


def test_the_lockout_says_how_many_minutes_to_wait(client, app):
    """The wait is until enough failures leave the window, rounded up to whole minutes, in
    the message (both halves), errors.retry_after_minutes and Retry-After (seconds)."""
    app.config.update(LOGIN_MAX_FAILURES=3, LOGIN_WINDOW_SECONDS=15 * 60)
    for _ in range(3):
        login(client, password="bad-guess")
    # The oldest failure is 10.5 minutes old: it leaves the 15-minute window in 4.5 minutes.
    _age_failures(app, [10.5, 2, 1])
    response = login(client)
    body = response.get_json()
    assert response.status_code == 429 and body["code"] == "auth.rate_limited"
    assert set(body) == {"code", "message", "errors"}
    assert body["errors"] == {"retry_after_minutes": 5}
    assert "请 5 分钟后再试" in body["message"] and "try again in 5 minutes" in body["message"]
    assert 4 * 60 < int(response.headers["Retry-After"]) <= int(4.5 * 60) + 1


def test_the_wait_counts_from_the_failure_that_lifts_the_lock(client, app):
    """Four failures with three allowed: the lock lifts when two have left the window (the
    second oldest's time), not the oldest's; one minute is '1 minute'."""
    app.config.update(LOGIN_MAX_FAILURES=5, LOGIN_WINDOW_SECONDS=15 * 60)
    for _ in range(4):
        login(client, password="bad-guess")
    app.config["LOGIN_MAX_FAILURES"] = 3  # four failures recorded, three allowed
    _age_failures(app, [14.9, 14.5, 3, 1])
    body = login(client).get_json()
    assert body["errors"] == {"retry_after_minutes": 1}
    assert "请 1 分钟后再试" in body["message"] and "try again in 1 minute" in body["message"]
    assert "1 minutes" not in body["message"]
