"""Console sign-in: sessions, roles, CSRF, rate limit, language, and the end of a session."""

import pytest

from server.services import users

pytest_plugins = ["tests.console_helpers"]


def test_anonymous_visitor_is_sent_to_the_sign_in_page(client):
    """Every console page needs a session; the sign-in page remembers where to go next."""
    response = client.get("/console/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login?next=/console/")


def test_supervisor_signs_in_with_a_hardened_session_cookie(console):
    """A supervisor lands on the overview; the cookie is HttpOnly and SameSite=Lax."""
    client = console.anonymous()
    response = client.login("sup1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.text("/console/")
    assert "刘主任" in page and "克山县" in page


def test_pages_are_never_cached(console):
    """Pages with personal data carry no-store."""
    response = console.as_user("sup1").get("/console/")
    assert response.headers["Cache-Control"] == "no-store"


def test_wrong_password_shows_the_form_again(console):
    """A wrong password is refused without a session."""
    client = console.anonymous()
    response = client.login("sup1", "not-the-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_investigator_gets_a_clear_refusal(console):
    """An investigator's right password opens nothing: a page explains the app is theirs."""
    client = console.anonymous()
    response = client.login("inv1")
    assert response.status_code == 403
    assert "督导台仅供督导员和管理员使用" in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_investigator_bearer_token_opens_no_console_page(api, client):
    """The app's bearer token is not a console session."""
    token = api.as_user("inv1").token
    response = client.get("/console/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 302


def test_sign_in_is_rate_limited_like_the_api(console, app):
    """After the configured failures the form answers 429 with Retry-After."""
    client = console.anonymous()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert client.login("sup1", "wrong-password").status_code == 401
    response = client.login("sup1")
    assert response.status_code == 429
    assert response.headers["Retry-After"]
    assert "登录失败次数过多" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_rejected(console):
    """A form posted without its token does nothing (here: sign-out keeps the session)."""
    client = console.as_user("sup1")
    response = client.post("/console/logout", csrf=False)
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 200


def test_login_without_csrf_token_is_rejected(console):
    """Even the sign-in form needs its token (login CSRF)."""
    client = console.anonymous()
    response = client.post(
        "/console/login", csrf=False, data={"username": "sup1", "password": "demo-pass-2026"}
    )
    assert response.status_code == 400


def test_post_with_a_forged_csrf_token_is_rejected(console):
    """A token from elsewhere does not pass."""
    client = console.as_user("sup1")
    response = client.post("/console/logout", {"csrf_token": "forged"})
    assert response.status_code == 400


def test_logout_ends_the_session(console):
    """Signing out needs a POST with the token, and the next page asks to sign in."""
    client = console.as_user("sup1")
    assert client.post("/console/logout").status_code == 302
    assert client.get("/console/").status_code == 302


def test_disabling_the_account_ends_its_session(console):
    """A disabled supervisor's open session stops working at the next request."""
    client = console.as_user("sup1")
    users.set_active("sup1", False)
    assert client.get("/console/").status_code == 302


def test_password_reset_ends_other_sessions(console):
    """After a password reset an old session no longer opens pages."""
    client = console.as_user("sup1")
    users.set_password("sup1", "a-brand-new-password")
    assert client.get("/console/").status_code == 302


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/api/v1/households", "/\\evil"]
)
def test_next_never_leaves_the_console(console, target):
    """The `next` parameter cannot send the user elsewhere after signing in."""
    client = console.anonymous()
    response = client.post(
        "/console/login", {"username": "sup1", "password": "demo-pass-2026", "next": target}
    )
    assert response.headers["Location"] == "/console/"


def test_language_switch_to_english_and_back(console):
    """Chinese by default; the switch is a POST with the token and sticks to the session."""
    client = console.as_user("sup1")
    assert "退出" in client.text("/console/")
    response = client.post("/console/language", {"lang": "en", "next": "/console/"})
    assert response.status_code == 302
    page = client.text("/console/")
    assert "Sign out" in page and 'lang="en"' in page
    client.post("/console/language", {"lang": "zh"})
    assert "退出" in client.text("/console/")


def test_console_session_reads_the_api_but_cannot_write(console):
    """The session opens GET API calls (photos, QR images) but no writes (no CSRF there)."""
    client = console.as_user("sup1")
    assert client.get("/api/v1/households/1/qr.png").status_code == 200
    assert client.client.post("/api/v1/auth/logout").status_code == 401


def test_every_post_form_carries_a_csrf_token():
    """Each form posting anywhere in the console's templates includes the token."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "server" / "console" / "templates"
    for path in root.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", text, re.S | re.I):
            assert "csrf_token()" in form or "csrf()" in form, f"{path.name}: {form[:120]}"


def test_overview_counts_what_waits(console, scenario, demo):
    """The landing page links the work: surveys to review, conflicts, flags."""
    from tests.conftest import TOWNSHIP_1

    scenario.record_edit("inv1", demo.households_in(TOWNSHIP_1)[0], {"phone": "13900000021"})
    page = console.as_user("sup1").text("/console/")
    assert "待审核问卷" in page and 'href="/console/queue">1</a>' in page


def test_the_lockout_page_says_when_to_try_again_in_both_languages(console, app):
    """The sign-in form tells the minutes to wait (rounded up), in Chinese and English."""
    app.config.update(LOGIN_MAX_FAILURES=2, LOGIN_WINDOW_SECONDS=10 * 60)
    client = console.anonymous()
    for _ in range(2):
        client.login("sup1", "wrong-password")
    response = client.login("sup1")
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "登录失败次数过多，请 10 分钟后再试。" in html
    client.post("/console/language", {"lang": "en"})
    html = client.login("sup1").get_data(as_text=True)
    assert "Too many failed sign-ins. Please try again in 10 minutes." in html
