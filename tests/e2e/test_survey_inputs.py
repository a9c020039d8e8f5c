"""Answers the phone refuses or clears, with a word why: a file that is not a picture, a
signature made before its signer was known."""

import pytest

from .conftest import sign_in
from .survey import SurveyFiller

pytestmark = pytest.mark.e2e


def test_a_file_that_is_not_a_picture_is_refused_in_words(page, tmp_path):
    """A document chosen as a photo is refused with a message the investigator can read
    (it showed the browser's English decoding error), and no photo is added."""
    sign_in(page)
    page.locator("#household-list li a").first.click()
    page.click("#start-survey")
    page.click("nav.sections button[data-section=look]")
    photo = page.locator(".field[data-type=photo]").first
    not_a_picture = tmp_path / "living_room.jpg"
    not_a_picture.write_text("这不是照片，是一个文本文件。")
    photo.locator("input[data-role=gallery]").set_input_files(str(not_a_picture))
    toast = page.locator(".toast", has_text="这个文件不是照片")
    toast.wait_for()
    assert "decode" not in toast.inner_text()
    assert photo.locator(".thumb").count() == 0


def test_choosing_the_teammate_after_their_signature_asks_them_to_sign(page, tmp_path):
    """The second investigator's signature drawn before the teammate was chosen (the picker
    is on the last tab) is cleared when they are chosen, with a word why: otherwise it stayed
    unlinked to them and the survey failed its 'two investigators signed' check."""
    sign_in(page)
    page.locator("#household-list li a").first.click()
    page.click("#start-survey")
    page.click("nav.sections button[data-section=signatures]")
    second = page.locator(".field[data-name=sig_investigator_2]")
    second.wait_for()
    filler = SurveyFiller(page, [])
    assert filler.sign(second, "sig_investigator_2")

    def answer():
        return page.evaluate(
            """async () => (await (await import("/js/db.js")).getAll("drafts"))[0]
                .answers.sig_investigator_2""")

    page.wait_for_function(
        """async () => Boolean((await (await import("/js/db.js")).getAll("drafts"))[0]
            .answers.sig_investigator_2)""")
    assert "user_id" not in answer()
    filler.choose_teammate()
    page.locator(".toast", has_text="请同行调查员重新签名").wait_for()
    page.wait_for_function(
        """async () => !(await (await import("/js/db.js")).getAll("drafts"))[0]
            .answers.sig_investigator_2""")
    page.click("nav.sections button[data-section=signatures]")
    assert second.locator("canvas.sigpad").count() == 1
    assert second.locator("input").input_value() != ""  # the teammate's name, to sign again
