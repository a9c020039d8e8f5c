"""The supervisor console in real headless Chromium: the review flow, the photo gallery and
conflict resolution, on a laptop (1366×900) and a tablet (820×1180), with screenshots kept
under test-artifacts/console-*.png."""

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Conflict, Submission
from tests.conftest import DEMO_PASSWORD, TOWNSHIP_1, TOWNSHIP_2, ApiFactory, Demo
from tests.console_data import Scenario, assessment, set_assessment

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}


@pytest.fixture
def browser_context_args(live_server):
    """A laptop in Chinese at the live server (the console is not a phone app)."""
    return {
        "base_url": live_server.url,
        "viewport": LAPTOP,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "accept_downloads": True,
    }


@pytest.fixture
def county(live_server):
    """Township 1 at work: clean surveys, a flagged one with photos, and an open conflict."""

    def build():
        demo = Demo()
        scenario = Scenario(ApiFactory(live_server.app.test_client()), demo)
        households = demo.households_in(TOWNSHIP_1)
        team = [demo.user("inv1").id, demo.user("inv2").id]
        clean = [
            scenario.record_edit("inv1", h, {"phone": f"1390000{i:04d}"}, investigators=team)
            for i, h in enumerate(households[:3])
        ]
        target = households[3]
        photos = [
            scenario.photo("housing_exterior", near=target),
            scenario.photo("housing_interior", near=target),
            scenario.photo("appliances", near=target),
            scenario.photo("documents", near=target),
        ]
        flagged = scenario.record_edit(
            "inv1", target, {"address": "城东社区3组12号"}, investigators=team, photos=photos
        )
        set_assessment(flagged, assessment(failed=2, reason="照片拍摄时间不在入户时段"))
        disputed = households[4]
        base = disputed.version
        scenario.record_edit(
            "inv1",
            disputed,
            {"address": "甲：城西社区5组1号"},
            base_version=base,
            photos=[scenario.photo(near=disputed)],
        )
        scenario.record_edit(
            "inv2",
            disputed,
            {"address": "乙：城西社区5组7号"},
            base_version=base,
            investigators=[demo.user("inv2").id],
            photos=[scenario.photo("housing_exterior", near=disputed)],
        )
        return {
            "clean": clean,
            "flagged": flagged,
            "disputed": disputed.id,
            "target_code": target.code,
        }

    return live_server.query(build)


def sign_in(page, username: str = "sup1") -> None:
    """Sign in through the console's form."""
    page.goto("/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_selector(".mainnav")


def watch_errors(page) -> list[str]:
    """Collect console errors (a CSP violation or a script error shows up here)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def fits_width(page) -> bool:
    """Tell whether the page has no horizontal scroll."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def shot(page, artifacts, name: str, *, full_page: bool = True) -> None:
    """Save a screenshot under test-artifacts/ (the whole page unless an overlay is open)."""
    page.screenshot(path=str(artifacts / f"console-{name}.png"), full_page=full_page)


def review_state(live_server, instance_id: str) -> str:
    """Return a submission's review state from the database."""
    return live_server.query(
        lambda: db.session.scalar(
            select(Submission.review_state).where(Submission.instance_id == instance_id)
        )
    )


def test_review_flow(page, live_server, county, artifacts):
    """Queue → bulk approval of the clean surveys → a flagged survey sent back with a comment."""
    errors = watch_errors(page)
    sign_in(page)
    page.goto("/console/queue")
    page.wait_for_selector("table.queue tbody tr")
    assert page.locator("table.queue tbody tr").count() == 6
    shot(page, artifacts, "queue-laptop")

    page.check("input[data-select-all]")
    # The three phone edits, and the first of the two conflicting surveys (it merged cleanly).
    assert page.locator("[data-selected-count]").inner_text() == "4"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[data-needs-selection]")
    page.wait_for_selector(".flash-success")
    assert "已通过 4 份问卷" in page.locator(".flash-success").inner_text()
    assert all(review_state(live_server, i) == "approved" for i in county["clean"])
    shot(page, artifacts, "queue-after-bulk")

    page.check("input[name=flag][value=failed_checks]")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("table.queue tbody tr")
    assert page.locator("table.queue tbody tr").count() == 1
    page.click("table.queue a.button")
    page.wait_for_selector("#decision")
    assert page.locator(".checks li.failed").count() == 2
    assert "照片拍摄时间不在入户时段0" in page.locator(".checks").inner_text()
    shot(page, artifacts, "submission-laptop")

    page.click("button[value=has_issues]")  # no comment: refused with a message
    page.wait_for_selector(".flash-error")
    assert review_state(live_server, county["flagged"]) == "received"
    # The refusal is the page's own status (422), which Chromium logs; nothing else.
    assert [e for e in errors if "status of 422" not in e] == []
    errors.clear()
    page.fill("textarea[name=comment]", "室内照片时间不对，请补拍")
    page.uncheck("input[name=then]")  # stay on this survey to read its history
    page.click("button[value=has_issues]")
    page.wait_for_selector(".flash-success")
    assert review_state(live_server, county["flagged"]) == "has_issues"
    assert "室内照片时间不对，请补拍" in page.locator(".history").inner_text()
    shot(page, artifacts, "submission-sent-back")
    assert errors == []


def test_next_in_queue(page, live_server, county, artifacts):
    """Decide and land on the next survey of the same (sorted) queue, skip one with the N
    key, decide the rest, reach the end; the skipped one, decided last, ends the queue."""
    errors = watch_errors(page)
    sign_in(page)
    page.goto("/console/queue?sort=household")
    page.wait_for_selector("table.queue tbody tr")
    order = page.eval_on_selector_all(
        "table.queue a.button",
        "links => links.map(a => new URL(a.href).pathname.split('/').pop())")
    assert len(order) == 6
    page.click("table.queue a.button")
    page.wait_for_selector("#decision")
    page.click("button[value=approved]")
    page.wait_for_url(f"**/console/submissions/{order[1]}?sort=household")
    assert "已记录：已通过" in page.locator(".flash-success").inner_text()
    assert review_state(live_server, order[0]) == "approved"
    shot(page, artifacts, "next-in-queue")

    page.keyboard.press("n")  # skip the second without deciding
    page.wait_for_url(f"**/console/submissions/{order[2]}?sort=household")
    assert review_state(live_server, order[1]) == "received"
    # Typing N in the comment types it; it does not skip.
    page.fill("textarea[name=comment]", "")
    page.focus("textarea[name=comment]")
    page.keyboard.press("n")
    assert page.input_value("textarea[name=comment]") == "n"
    page.fill("textarea[name=comment]", "")
    for instance, following in zip(order[2:], order[3:], strict=False):
        page.click("button[value=approved]")
        page.wait_for_url(f"**/console/submissions/{following}?sort=household")
        assert review_state(live_server, instance) == "approved"
    page.click("button[value=approved]")
    page.wait_for_url("**/console/queue?sort=household")
    assert "队列中还有 1 份" in page.locator(".flash-info").inner_text()
    assert page.locator("table.queue tbody tr").count() == 1

    page.click("table.queue a.button")
    page.wait_for_url(f"**/console/submissions/{order[1]}?sort=household")
    page.click("button[value=approved]")
    page.wait_for_url("**/console/queue?sort=household")
    assert "本队列已全部审完" in page.locator(".flash-success").last.inner_text()
    shot(page, artifacts, "queue-done")
    assert errors == []


def test_two_tabs_deciding_one_submission(page, live_server, county, artifacts):
    """A second tab's decision on a submission the first one decided is refused: the page
    shows it as it is now, says so in words, and keeps the comment typed there."""
    errors = watch_errors(page)
    sign_in(page)
    first = county["clean"][0]
    other = page.context.new_page()
    other.goto(f"/console/submissions/{first}?sort=household")
    page.goto(f"/console/submissions/{first}?sort=household")
    page.click("button[value=approved]")
    page.wait_for_url(lambda url: first not in url)
    typed = "门牌照片与户编号不符，请补拍后重新提交"
    other.fill("textarea[name=comment]", typed)
    other.click("button[value=has_issues]")
    other.wait_for_selector(".flash-error")
    assert "现为「已通过」" in other.locator(".flash-error").inner_text()
    assert other.input_value("textarea[name=comment]") == typed
    shot(other, artifacts, "stale-decision")
    other.click("button[value=has_issues]")  # sent back on purpose, now it is seen
    other.wait_for_url(lambda url: first not in url)
    assert review_state(live_server, first) == "has_issues"
    assert errors == []


def test_household_page_shows_its_audit_facts(page, live_server, tmp_path, artifacts):
    """A member on a death list: the household page says so at the top, lists the flag and
    its ledger entry, and both links open their screens."""
    from tests.audit_helpers import covered, csv_bytes

    def flag():
        from server.services import crosscheck

        household = covered(Demo().households_in(TOWNSHIP_1))[0]
        member = household.members[0]
        deaths = tmp_path / "deaths.csv"
        deaths.write_bytes(csv_bytes(["身份证号", "姓名", "死亡日期"],
                                     [[member.id_number, member.name, "2026-02-11"]]))
        crosscheck.import_list(deaths, "deaths", actor=None, source="殡仪馆")
        return household.id, member.name

    household_id, name = live_server.query(flag)
    errors = watch_errors(page)
    sign_in(page)
    page.goto(f"/console/households/{household_id}")
    page.click("a.badge[href='#audit-flags']")
    flags = page.locator("#audit-flags")
    assert name in flags.inner_text() and "2026-02-11" in flags.inner_text()
    shot(page, artifacts, "household-audit")
    page.locator("#audit-ledger article a").first.click()
    page.wait_for_url("**/console/ledger/*")
    assert name in page.inner_text("main")
    page.go_back()
    page.locator("#audit-flags h2 a").click()
    page.wait_for_url(f"**/console/audit?household={household_id}")
    assert page.locator("table tbody tr", has_text=name).count() >= 1
    # The ledger heading opens the ledger narrowed to this household, and says so; a
    # filter chosen there keeps the household, and the chip's link removes it alone.
    page.go_back()
    page.locator("#audit-ledger h2 a").click()
    page.wait_for_url(f"**/console/ledger?household={household_id}")
    chip = page.locator(".household-filter")
    assert "只看此户" in chip.inner_text()
    shot(page, artifacts, "ledger-household-filter")
    assert page.locator("main table", has_text=name).count() == 1
    page.select_option("form.filters select[name=state]", "active")
    page.wait_for_url(f"**/console/ledger?household={household_id}&*state=active*")
    assert page.locator("main table tbody tr", has_text=name).count() == 1
    chip.locator("a.button").click()
    page.wait_for_url(lambda url: "state=active" in url and "household" not in url)
    assert page.locator(".household-filter").count() == 0
    assert errors == []


def test_a_new_township_drops_the_village_of_another(page, live_server, county):
    """Filtering by a village and then by another township lists that township, not an
    empty page that still filters by the village (its select showed "all")."""
    errors = watch_errors(page)
    sign_in(page)
    page.goto("/console/queue")
    village = page.locator("select[name=village] option[value]:not([value=''])").first
    code = village.get_attribute("value")
    page.select_option("select[name=village]", code)
    page.wait_for_url(f"**village={code}**")
    assert page.locator("select[name=village]").input_value() == code
    page.select_option("select[name=township]", TOWNSHIP_2)
    page.wait_for_url(f"**township={TOWNSHIP_2}**")
    assert f"village={code}" not in page.url
    assert page.locator("select[name=village]").input_value() == ""
    assert errors == []


def test_photo_gallery(page, live_server, county, artifacts):
    """Thumbnails with time, GPS and distance; the viewer opens, zooms, steps and closes."""
    errors = watch_errors(page)
    sign_in(page)
    page.goto(f"/console/submissions/{county['flagged']}")
    gallery = page.locator(".review-main .gallery").first
    thumbs = gallery.locator("img")
    assert thumbs.count() == 4
    page.wait_for_function(
        "() => [...document.querySelectorAll('.gallery img')].every(i => i.naturalWidth > 0)"
    )
    captions = gallery.inner_text()
    assert "拍摄时间" in captions and "距住所" in captions and "住房外观" in captions

    thumbs.first.click()
    viewer = page.locator("[data-viewer]")
    viewer.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('[data-viewer-image]').naturalWidth > 0")
    assert page.locator("[data-viewer-caption]").inner_text().startswith("1 / 4")
    shot(page, artifacts, "gallery-viewer", full_page=False)
    page.click("[data-viewer-zoom='1']")
    page.click("[data-viewer-zoom='1']")
    transform = page.eval_on_selector("[data-viewer-image]", "img => img.style.transform")
    assert "scale(2.25)" in transform
    shot(page, artifacts, "gallery-zoomed", full_page=False)
    page.keyboard.press("ArrowRight")
    assert page.locator("[data-viewer-caption]").inner_text().startswith("2 / 4")
    page.keyboard.press("Escape")
    viewer.wait_for(state="hidden")
    assert errors == []


def test_conflict_resolution(page, live_server, county, artifacts):
    """Both sides with their photos; taking the submitted value writes it to the record."""
    errors = watch_errors(page)
    sign_in(page)
    page.goto("/console/conflicts")
    card = page.locator("article.conflict")
    assert card.count() == 1
    text = card.inner_text()
    assert "甲：城西社区5组1号" in text and "乙：城西社区5组7号" in text
    assert card.locator(".server img").count() == 1 and card.locator(".submitted img").count() == 1
    shot(page, artifacts, "conflicts-laptop")
    card.locator("input[name=comment]").fill("村委会核实为7号")
    # Enter in the note submits nothing: the form's first button ("use this value", with
    # nothing typed) would answer it.
    card.locator("input[name=comment]").press("Enter")
    card.locator("button[value=submitted]").click()
    page.wait_for_selector(".flash-success")
    assert page.locator(".flash-error").count() == 0
    assert page.locator("article.conflict").count() == 0

    def resolved():
        conflict = db.session.scalar(select(Conflict))
        return conflict.status, conflict.resolution_value, conflict.comment

    assert live_server.query(resolved) == ("resolved", "乙：城西社区5组7号", "村委会核实为7号")
    page.goto(f"/console/households/{county['disputed']}")
    assert "乙：城西社区5组7号" in page.locator("dl.record").inner_text()
    assert "冲突处理" in page.locator(".timeline").inner_text()
    shot(page, artifacts, "household-after-conflict")
    assert errors == []


def test_console_on_a_tablet(browser, live_server, county, artifacts):
    """On an 820 px tablet the main pages fit the width; the decision is one tap away."""
    context = browser.new_context(
        base_url=live_server.url, viewport=TABLET, locale="zh-CN", has_touch=True, is_mobile=False
    )
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page)
    pages = {
        "queue": "/console/queue",
        "submission": f"/console/submissions/{county['flagged']}",
        "conflicts": "/console/conflicts",
        "progress": "/console/progress?from=2026-04-25&to=2026-05-10",
        "households": "/console/households",
    }
    for name, url in pages.items():
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert fits_width(page), f"{name} scrolls sideways on a tablet"
        shot(page, artifacts, f"{name}-tablet")
    page.goto(pages["submission"])
    page.click("a.jump-decision")
    assert page.locator("#decision").is_visible()
    page.locator(".gallery img").first.tap()
    page.locator("[data-viewer]").wait_for(state="visible")
    shot(page, artifacts, "gallery-tablet", full_page=False)
    context.close()
    assert errors == []


def test_english_console(page, live_server, county, artifacts):
    """The switch turns every label English, and stays for the session."""
    sign_in(page)
    page.click("button[name=lang][value=en]")
    page.wait_for_selector("text=Review queue")
    page.goto(f"/console/submissions/{county['flagged']}")
    assert page.locator("h2", has_text="Photo evidence").count() == 1
    shot(page, artifacts, "submission-english")
