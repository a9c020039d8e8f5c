"""Enrolling with wrong codes: the lockout (per network address, server side) says on the
phone how long to wait, in the app's language, as an enrolment's wait — not a sign-in's."""

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def live_server_config():
    """An address waits after three failures (sign-ins and enrolment codes together)."""
    return {"LOGIN_MAX_FAILURES_PER_ADDRESS": 3, "LOGIN_WINDOW_SECONDS": 900}


def open_enrolment(page, code: str) -> str:
    """Open the enrolment link of `code`; return the message the sign-in screen shows."""
    with page.expect_response("**/api/v1/auth/enrol"):
        page.goto(f"/?enrol={code}")
    message = page.locator("p.message[role=alert]")
    message.wait_for()
    return message.inner_text()


@pytest.mark.parametrize(
    ("lang", "wrong", "locked"),
    [
        ("zh", "登记码无效或已过期，请在管理后台重新生成",
         "此网络的登记码错误次数过多，请15分钟后再扫码登记。"),
        ("en", "Enrolment code invalid or expired",
         "Too many wrong enrolment codes from this network: scan again in 15 minutes."),
    ],
)
def test_wrong_enrolment_codes_lock_out_with_the_wait_in_the_apps_language(
    page, live_server, lang, wrong, locked
):
    """Three stale codes are refused as such; the fourth is refused with the minutes to
    wait, in the app's language only, and so is a right code from the same network."""
    client = live_server.app.test_client()
    created = client.post(
        "/api/v1/auth/enrolments", json={"username": "inv2"}, headers=live_server.login("sup1")
    ).get_json()
    page.goto("/")
    page.evaluate("(lang) => localStorage.setItem('ruhu.lang', lang)", lang)
    for attempt in range(3):
        assert open_enrolment(page, f"stale-code-{attempt}") == wrong
    assert open_enrolment(page, "stale-code-3") == locked
    assert open_enrolment(page, created["code"]) == locked
    assert " / " not in locked
