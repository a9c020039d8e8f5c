"""Signing in on the phone: what a refused sign-in says is in the app's language, and the
lockout after too many failures says how long to wait, as the server counts it."""

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def live_server_config():
    """The default lockout: five failures in fifteen minutes."""
    return {"LOGIN_MAX_FAILURES": 5, "LOGIN_WINDOW_SECONDS": 900}


def try_password(page, password: str) -> str:
    """Submit inv1 with `password`; return the message the sign-in screen shows."""
    page.fill("#username", "inv1")
    page.fill("#password", password)
    with page.expect_response("**/api/v1/auth/login"):
        page.click("form button[type=submit]")
    page.wait_for_selector("form button[type=submit]:not([disabled])")
    message = page.locator("p.message[role=alert]")
    message.wait_for()
    return message.inner_text()


@pytest.mark.parametrize(
    ("lang", "wrong", "locked"),
    [
        ("zh", "用户名或密码错误", "登录失败次数过多，请15分钟后再试。"),
        ("en", "Wrong username or password",
         "Too many failed sign-ins: try again in 15 minutes."),
    ],
)
def test_a_refused_sign_in_and_the_lockout_speak_the_apps_language(page, lang, wrong, locked):
    """A wrong password says so in the app's language only (not the server's two halves);
    after five, the phone says how many minutes to wait, and a right password meanwhile is
    refused with the same words."""
    page.goto("/")
    page.evaluate("(lang) => localStorage.setItem('ruhu.lang', lang)", lang)
    page.reload()
    for _ in range(5):
        assert try_password(page, "not-the-password") == wrong
    assert try_password(page, "not-the-password") == locked
    assert try_password(page, "ruhu-demo-2026") == locked
    assert " / " not in locked
