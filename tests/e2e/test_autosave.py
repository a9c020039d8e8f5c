"""Autosave: every answer is in IndexedDB as it is typed; closing the page loses nothing."""

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.e2e


def field(page, name):
    """The wrapper of a question on the current section."""
    return page.locator(f".field[data-name={name}]").first


def test_closing_the_page_mid_survey_loses_no_answer(context, page):
    """Type answers in two sections, close the tab at once, reopen: everything is there."""
    sign_in(page)
    page.locator("#household-list li a").first.click()
    page.click("#start-survey")
    page.wait_for_selector(".field[data-name=application_type]")

    field(page, "application_type").locator("label.choice", has_text="定期复核").click()
    field(page, "visit_date").locator("input").fill("2026-11-20")
    field(page, "respondent_name").locator("input").fill("张三")
    field(page, "address").locator("input").fill("城东社区3组8号（新）")
    field(page, "staff_relative").locator("label.choice", has_text="否").click()

    page.click("nav.sections button[data-section=family]")
    occupation = page.locator(".repeat-item").first.locator(".field[data-name=occupation] input")
    occupation.fill("外出务工（哈尔滨）")
    page.click("button:has-text('添加')")
    page.locator(".repeat-item").last.locator(".field[data-name=member_name] input").fill("新成员")
    # The last keystroke is on disk when the "saved" note updates after it.
    page.wait_for_function(
        """async () => {
            const drafts = await (await import("/js/db.js")).getAll("drafts");
            return (drafts[0]?.answers?.members || []).some((m) => m.member_name === "新成员");
        }"""
    )
    page.close()

    page = context.new_page()
    page.goto("/")
    page.locator("#household-list li a").first.click()
    page.click("a:has-text('继续调查')")
    # It reopens on the section last shown.
    page.wait_for_selector(".repeat-item")
    repeat = page.locator(".repeat-item")
    assert repeat.first.locator(".field[data-name=occupation] input").input_value() == (
        "外出务工（哈尔滨）"
    )
    assert repeat.last.locator(".field[data-name=member_name] input").input_value() == "新成员"
    page.click("nav.sections button[data-section=basics]")
    assert field(page, "respondent_name").locator("input").input_value() == "张三"
    assert field(page, "visit_date").locator("input").input_value() == "2026-11-20"
    assert field(page, "address").locator("input").input_value() == "城东社区3组8号（新）"
    assert field(page, "application_type").locator("input[value=review]").is_checked()
    assert field(page, "staff_relative").locator("input[value=false]").is_checked()

