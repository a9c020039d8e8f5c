"""The app shell: installable, and after one online visit it starts and reloads offline."""

import pytest

from .conftest import sign_in, wait_for_service_worker

pytestmark = pytest.mark.e2e


def test_after_one_online_visit_the_app_reloads_and_works_offline(page, context):
    """Sign in online, then with no network at all: reload, list, search, open a household."""
    sign_in(page)
    wait_for_service_worker(page)
    count = page.locator("#household-list li a").count()
    assert count > 0

    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#household-list li a")
    assert page.locator("#household-list li a").count() == count
    assert page.locator("#net").inner_text() == "离线"

    first = page.locator("#household-list li a").first
    code = first.locator(".hh-meta").inner_text().split(" · ")[0]
    page.fill("#search", code)
    assert page.locator("#household-list li a").count() == 1
    page.locator("#household-list li a").first.click()
    page.wait_for_selector("#start-survey")

    # A household label URL opens offline too (the worker answers every app navigation).
    token = page.evaluate(
        """async () => (await (await import("/js/db.js")).getAll("households"))[0].qr_token"""
    )
    page.goto(f"/h/{token}")
    page.wait_for_selector("#start-survey")


def test_manifest_and_icons_make_it_installable(page):
    """The page links a manifest with a start URL, standalone display and 192/512 icons."""
    page.goto("/")
    manifest = page.evaluate(
        """async () => {
            const link = document.querySelector('link[rel=manifest]');
            return (await fetch(link.href)).json();
        }"""
    )
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert page.request.get(icon["src"]).status == 200


def test_signing_out_wipes_the_phone(page, live_server):
    """Sign-out revokes the token and deletes every household and survey from the phone."""
    sign_in(page)
    token = page.evaluate(
        """async () => (await (await import("/js/db.js")).getSetting("session")).token"""
    )
    # A survey still being filled: the warning says it is lost, and that an export does
    # not hold it (it holds finished surveys only).
    page.evaluate(
        """async () => (await import("/js/db.js")).put(
            "drafts", {instance_id: "draft-1", household_id: 1, answers: {}})"""
    )
    page.goto("/#/me")
    page.wait_for_selector("#sign-out")
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    page.click("#sign-out")
    page.wait_for_selector("#username")
    assert "1 份调查没有填完" in asked[0] and "导出不包含未填完的调查" in asked[0]
    assert "已完成的调查" not in asked[0]
    left = page.evaluate(
        """async () => {
            const db = await import("/js/db.js");
            return [await db.count("households"), await db.count("kv")];
        }"""
    )
    assert left == [0, 0]
    me = live_server.app.test_client().get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert me.status_code == 401
    # Offline again after sign-out, the app still starts (at the sign-in screen).
    page.reload()
    page.wait_for_selector("#username")


def test_an_enrolment_qr_signs_the_phone_in_without_a_password(page, live_server):
    """The console's enrolment QR encodes <base>/?enrol=<code>: opening it signs the phone in."""
    client = live_server.app.test_client()
    created = client.post(
        "/api/v1/auth/enrolments", json={"username": "inv2"}, headers=live_server.login("sup1")
    ).get_json()
    url = created["url"]
    page.goto(url[url.index("/?enrol=") :])
    page.wait_for_selector("#household-list li a", timeout=20000)
    assert "enrol" not in page.url
    page.goto("/#/me")
    page.wait_for_selector("#sign-out")
    assert "inv2" in page.inner_text("main")


@pytest.mark.parametrize("answer", ["found", "not_found"])
def test_a_screen_left_while_it_loads_neither_draws_over_the_next_nor_navigates(page, answer):
    """A label looked up over a slow link, then the investigator taps Sync: when the lookup
    answers, the phone stays on Sync. It used to jump to the household when the lookup found
    it, and to add the failed lookup's "scan" button to the Sync screen when it did not (a
    screen still loading drew into the one that replaced it: CI once lost a survey screen to
    the household list that way)."""
    sign_in(page)
    household = page.evaluate("""async () => {
        const db = await import("/js/db.js");
        const [first] = await db.getAll("households");
        await db.del("households", first.id);
        return { id: first.id, token: first.qr_token };
    }""")
    held = []
    page.route("**/api/v1/households/lookup*", lambda route: held.append(route))
    page.goto(f"/#/label/{household['token']}")
    page.wait_for_selector("text=本机没有这户，正在联网查找…")
    assert len(held) == 1

    page.goto("/#/sync")
    page.wait_for_selector("#outbox")
    if answer == "found":
        held[0].continue_()
        answered = (
            """async (id) => Boolean(await (await import("/js/db.js")).get("households", id))"""
        )
    else:
        held[0].fulfill(
            status=404,
            content_type="application/json",
            body='{"error": {"code": "household.not_found", "message": "没有这户"}}',
        )
        answered = (
            "() => performance.getEntriesByType('resource').some((e) => e.name.includes('/lookup'))"
        )
    for _ in range(100):  # until the late answer has been handled
        if page.evaluate(answered, household["id"]):
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the held lookup was never answered")
    page.wait_for_timeout(500)

    assert page.evaluate("location.hash") == "#/sync"
    assert page.locator("#title").inner_text() == "同步"
    assert page.locator("#outbox").count() == 1
    assert page.locator("#view a[href='#/scan']").count() == 0
    assert page.locator("text=本机没有这户").count() == 0
