"""Dates the phone refuses at the field: a visit after today on the phone's own calendar
(a phone in China, UTC+8), and a member born after the visit."""

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.e2e

SHIFT = """(days) => {
    const day = new Date();
    day.setDate(day.getDate() + days);
    return day.toLocaleDateString("sv-SE");  // YYYY-MM-DD on the phone's calendar
}"""


@pytest.fixture
def browser_context_args(browser_context_args):
    """A phone in China: its calendar is a day ahead of UTC's from 16:00 UTC."""
    return {**browser_context_args, "timezone_id": "Asia/Shanghai"}


def start_survey(page) -> None:
    """Sign in and start a survey of the first household (on its first section)."""
    sign_in(page)
    page.locator("#household-list li a").first.click()
    page.click("#start-survey")
    page.locator(".field[data-name=visit_date]").wait_for()


def set_date(field, value: str) -> None:
    """Type a date into a date field and leave it."""
    box = field.locator("input")
    box.fill(value)
    box.blur()


def review_errors(page) -> list[str]:
    """Open the review tab and return the errors that stop the survey from being finished."""
    page.click("nav.sections button[data-section=review]")
    page.wait_for_selector("#finish")
    return page.locator("#errors li").all_inner_texts()


def test_a_visit_after_today_is_refused_at_the_field(page):
    """Tomorrow on the phone's calendar is refused with a message, listed among what stops
    finishing; the picker offers no later day; today is accepted."""
    start_survey(page)
    today, tomorrow = page.evaluate(SHIFT, 0), page.evaluate(SHIFT, 1)
    visit = page.locator(".field[data-name=visit_date]")
    assert visit.locator("input").input_value() == today
    assert visit.locator("input").get_attribute("max") == today
    set_date(visit, tomorrow)
    assert visit.locator(".error").inner_text() == "调查日期不能晚于今天"
    assert "invalid" in visit.get_attribute("class")
    assert [e for e in review_errors(page) if "调查日期不能晚于今天" in e]
    page.click("nav.sections button[data-section=basics]")
    visit = page.locator(".field[data-name=visit_date]")
    set_date(visit, today)
    assert visit.locator(".error").inner_text() == ""
    assert not [e for e in review_errors(page) if "调查日期" in e]


def test_a_visit_after_today_is_refused_in_english_too(page):
    """The message follows the app's language."""
    page.goto("/")
    page.evaluate("localStorage.setItem('ruhu.lang', 'en')")
    start_survey(page)
    visit = page.locator(".field[data-name=visit_date]")
    set_date(visit, page.evaluate(SHIFT, 30))
    assert visit.locator(".error").inner_text() == "The visit date cannot be after today"


@pytest.mark.parametrize("days", [1, 400])
def test_a_member_born_after_the_visit_is_refused_at_the_field(page, days):
    """A birth date after the visit (dated today) is refused at the member's field; the
    visit day itself is a possible birth date."""
    start_survey(page)
    page.click("nav.sections button[data-section=family]")
    born = page.locator(".repeat-item").first.locator(".field[data-name=birth_date]")
    set_date(born, page.evaluate(SHIFT, days))
    assert born.locator(".error").inner_text() == "出生日期不能晚于调查日期"
    assert [e for e in review_errors(page) if "出生日期不能晚于调查日期" in e]
    page.click("nav.sections button[data-section=family]")
    born = page.locator(".repeat-item").first.locator(".field[data-name=birth_date]")
    set_date(born, page.evaluate(SHIFT, 0))
    assert born.locator(".error").inner_text() == ""
