"""The console's session cookie on API reads: only as long as the console itself accepts it."""

from server.services import users

pytest_plugins = ["tests.console_helpers"]


def test_console_session_reads_the_api_until_the_password_is_reset(console, demo):
    """A supervisor's console cookie fetches households; after a password reset it no longer does."""
    household = demo.households_in("230229100")[0]
    client = console.as_user("sup1").client
    assert client.get(f"/api/v1/households/{household.id}").status_code == 200
    users.set_password("sup1", "a-brand-new-password")
    response = client.get(f"/api/v1/households/{household.id}")
    assert response.status_code == 401 and response.get_json()["code"] == "auth.required"


def test_console_session_looks_up_a_label_until_the_password_is_reset(console, demo):
    """The QR lookup (a plain caller, not the User row) takes the console's cookie as the
    other reads do, with the same scope and the same end."""
    mine = demo.households_in("230229100")[0]
    client = console.as_user("sup1").client
    response = client.get(f"/api/v1/households/lookup?qr={mine.qr_token}")
    assert response.status_code == 200 and response.get_json()["id"] == mine.id
    users.set_password("sup1", "a-brand-new-password")
    response = client.get(f"/api/v1/households/lookup?qr={mine.qr_token}")
    assert response.status_code == 401 and response.get_json()["code"] == "auth.required"


def test_console_session_never_writes_through_the_api(console):
    """Writes through the API need a bearer token even with a console cookie (no CSRF there)."""
    client = console.as_user("sup1").client
    assert client.post("/api/v1/auth/logout").status_code == 401
