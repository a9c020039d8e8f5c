"""The main screens at 360 px: a screenshot of each, kept under test-artifacts/ (not committed),
and values that must not break over lines."""

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.e2e


def no_horizontal_scroll(page) -> bool:
    """Tell whether the page fits the screen's width."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_screenshots_of_the_main_screens(page, artifacts, lang):
    """Login, households, one household, scan, sync and me: each fits 360 px wide."""
    page.goto("/")
    page.wait_for_selector("#username")
    if lang == "en":
        page.click("#lang")
        page.wait_for_selector("text=Sign in")
    shots = {}

    def shot(name):
        assert no_horizontal_scroll(page), f"{name} scrolls sideways"
        path = artifacts / f"{lang}-{name}.png"
        page.screenshot(path=str(path))
        shots[name] = path

    shot("login")
    sign_in(page)
    shot("households")
    page.locator("#household-list li a").first.click()
    page.wait_for_selector("#start-survey")
    shot("household")
    page.click("#start-survey")
    page.wait_for_selector(".field[data-name=application_type]")
    shot("survey-basics")
    page.click("nav.sections button[data-section=family]")
    page.wait_for_selector(".repeat-item")
    shot("survey-members")
    page.click("nav.sections button[data-section=look]")
    page.wait_for_selector(".photo-field")
    page.locator(".field[data-name=photo_housing_exterior]").scroll_into_view_if_needed()
    shot("survey-photos")
    page.click("nav.sections button[data-section=signatures]")
    page.wait_for_selector(".sigpad")
    shot("survey-signatures")
    page.click("nav.sections button[data-section=review]")
    page.wait_for_selector("#finish")
    shot("survey-review")
    page.goto("/#/scan")
    page.wait_for_selector("#scan-camera")
    shot("scan")
    page.goto("/#/sync")
    page.wait_for_selector("#sync-now")
    shot("sync")
    page.goto("/#/me")
    page.wait_for_selector("#sign-out")
    shot("me")
    assert all(p.stat().st_size > 0 for p in shots.values())


# Values of the household's facts and the assessment that are one word (a code, a phone
# number, an amount) and broke over two lines: the Range's boxes, one per line.
BROKEN_VALUES = """() => [...document.querySelectorAll("dl.kv dd")]
    .filter((dd) => dd.offsetParent !== null && dd.textContent.trim() && !/\\s/.test(dd.textContent.trim()))
    .filter((dd) => { const range = document.createRange(); range.selectNodeContents(dd);
                      return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1; })
    .map((dd) => dd.textContent)"""


def test_codes_and_amounts_stay_on_one_line_in_english_at_360_px(page):
    """English labels are long: at 360 px the household code and the assessment's amounts
    broke mid-number. The labels wrap at their spaces instead, and every value fits."""
    page.set_viewport_size({"width": 360, "height": 640})
    page.goto("/")
    page.evaluate("() => localStorage.setItem('ruhu.lang', 'en')")
    sign_in(page)
    page.locator("#household-list li a").first.click()
    page.wait_for_selector("#start-survey")
    code = page.locator("dl.kv dd").first.inner_text()
    assert len(code) >= 16 and code.isdigit()
    assert page.evaluate(BROKEN_VALUES) == []
    page.click("#start-survey")
    page.click("nav.sections button[data-section=review]")
    page.wait_for_selector("#assessment dl.kv dd")
    assert "¥" in page.locator("#assessment").inner_text()
    assert page.evaluate(BROKEN_VALUES) == []
    assert no_horizontal_scroll(page)
