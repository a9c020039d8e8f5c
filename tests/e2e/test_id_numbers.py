"""ID numbers checked on the phone, at the field, as the server checks them: a wrong length
is refused (the form's constraint, a 422 on the server); a malformed number, a wrong check
character, an impossible birth date or a number given to two members is shown as a warning
(the server accepts it and flags it for the supervisor), in the app's language."""

from datetime import date

import pytest

from server.domain import idcard

from .conftest import sign_in

pytestmark = pytest.mark.e2e


def open_family(page, lang: str = "zh") -> None:
    """Sign in, start a survey of the first household and open its members."""
    if lang != "zh":
        page.goto("/")
        page.evaluate("(lang) => localStorage.setItem('ruhu.lang', lang)", lang)
    sign_in(page)
    page.locator("#household-list li a").first.click()
    page.click("#start-survey")
    page.click("nav.sections button[data-section=family]")
    page.locator(".repeat[data-name=members] .repeat-item").first.wait_for()


def member(page, index: int):
    """Return the card of the index-th member."""
    return page.locator(".repeat[data-name=members] .repeat-item").nth(index)


def type_id(card, number: str, name: str = "member_id_number"):
    """Type an ID number into a repeat item's card and leave the field; return the field."""
    field = card.locator(f".field[data-name={name}]")
    box = field.locator("input")
    box.fill(number)
    box.blur()
    return field


def with_check(first17: str) -> str:
    """Return a valid number from its first 17 digits."""
    return first17 + idcard.check_character(first17)


def wrong_check(number: str) -> str:
    """Return the number with a check character that is not the right one."""
    right = number[17]
    return number[:17] + ("1" if right != "1" else "2")


def review_errors(page) -> list[str]:
    """Open the review tab and return the errors that stop the survey from being finished."""
    page.click("nav.sections button[data-section=review]")
    page.wait_for_selector("#finish")
    return page.locator("#errors li").all_inner_texts()


def test_a_valid_number_says_nothing(page):
    """The member's own (valid, agreeing) number: no error, no warning."""
    open_family(page)
    card = member(page, 0)
    number = card.locator(".field[data-name=member_id_number] input").input_value()
    assert idcard.problems(number, today=date.today()) == []
    field = type_id(card, number)
    assert field.locator(".error").inner_text() == ""
    assert field.locator(".warning").inner_text() == ""


def test_a_wrong_check_character_is_a_warning_that_does_not_stop_the_survey(page):
    """A mistyped last character is named at the field when the investigator leaves it,
    with the right one, and shown in the phone's assessment; it does not block finishing
    (the server accepts the number and flags it)."""
    open_family(page)
    card = member(page, 0)
    number = card.locator(".field[data-name=member_id_number] input").input_value()
    typed = wrong_check(number)
    field = type_id(card, typed)
    warning = field.locator(".warning")
    assert warning.inner_text() == (
        f"请与身份证核对：校验位应为{number[17]},实为{typed[17]}")
    assert field.locator(".error").inner_text() == ""
    assert "invalid" not in field.get_attribute("class")
    assert not [e for e in review_errors(page) if "身份证" in e]
    assert f"校验位应为{number[17]}" in page.locator("#assessment").inner_text()
    # Put right, the warning goes.
    page.click("nav.sections button[data-section=family]")
    field = type_id(member(page, 0), number)
    assert field.locator(".warning").inner_text() == ""


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda n: n[:6] + "19490230" + n[14:], "出生日期19490230不是有效日期"),
        (lambda n: with_check(n[:6] + "20300101" + n[14:17]), "出生日期2030-01-01不合理"),
        (lambda n: n[:10] + "A" + n[11:], "身份证号前17位应为数字,末位为数字或X"),
        (lambda n: with_check("99" + n[2:17]), "地区码99"),
    ],
    ids=["30 February", "born in the future", "a letter", "unknown province"],
)
def test_a_malformed_number_is_a_warning_naming_the_problem(page, make, expected):
    """Each kind of malformed 18-character number gets the server's reason at the field."""
    open_family(page)
    card = member(page, 0)
    number = card.locator(".field[data-name=member_id_number] input").input_value()
    field = type_id(card, make(number))
    assert expected in field.locator(".warning").inner_text()
    assert field.locator(".error").inner_text() == ""


def test_a_number_of_the_wrong_length_is_an_error_that_stops_the_survey(page):
    """17 characters: the server refuses it (the form's constraint), so the phone does too,
    with one message (the error, no warning repeating it)."""
    open_family(page)
    card = member(page, 0)
    number = card.locator(".field[data-name=member_id_number] input").input_value()
    field = type_id(card, number[:17])
    assert field.locator(".error").inner_text() == "身份证号码应为18位"
    assert field.locator(".warning").inner_text() == ""
    assert [e for e in review_errors(page) if "身份证号码应为18位" in e]


def test_a_supporters_number_of_the_wrong_length_is_only_a_warning(page):
    """A supporter's number has no length constraint in the form: the server accepts and
    flags it, so the phone warns and does not block."""
    open_family(page)
    page.click("nav.sections button[data-section=obligors]")
    repeat = page.locator(".repeat[data-name=supporters]")
    repeat.locator("button.block").click()
    field = type_id(repeat.locator(".repeat-item").last, "1101051949123100",
                    "supporter_id_number")
    assert field.locator(".warning").inner_text() == "请与身份证核对：身份证号应为18位,实为16位"
    assert field.locator(".error").inner_text() == ""
    assert not [e for e in review_errors(page) if "身份证" in e]


def test_the_same_number_for_two_members_is_named_on_both(page):
    """A number given to two members warns on both cards, each naming the other member, and
    fails the assessment's ID check naming both; it goes when one is corrected."""
    open_family(page)
    first = member(page, 0)
    number = first.locator(".field[data-name=member_id_number] input").input_value()
    first_name = first.locator(".field[data-name=member_name] input").input_value()
    page.locator(".repeat[data-name=members] > button.block").click()
    second = member(page, page.locator(".repeat[data-name=members] .repeat-item").count() - 1)
    second.locator(".field[data-name=member_name] input").fill("刘小明")
    field = type_id(second, number)
    assert f"与{first_name}的身份证号码相同，请核对" in field.locator(".warning").inner_text()
    first_field = first.locator(".field[data-name=member_id_number]")
    first.locator(".field[data-name=member_id_number] input").focus()
    first.locator(".field[data-name=member_id_number] input").blur()
    assert "与刘小明的身份证号码相同，请核对" in first_field.locator(".warning").inner_text()
    # The phone's assessment says it too, as the server's id_numbers check will.
    review_errors(page)
    assert f"{first_name}、刘小明的身份证号码相同" in page.locator("#assessment").inner_text()
    page.click("nav.sections button[data-section=family]")
    # The new member's number made right (a child born 2015, female): both warnings go.
    type_id(second, with_check(number[:6] + "20150601" + "002"))
    assert "相同" not in first_field.locator(".warning").inner_text()
    assert "相同" not in field.locator(".warning").inner_text()


def test_the_warnings_speak_english_when_the_app_does(page):
    """In English, the warning and the server's reason are English."""
    open_family(page, lang="en")
    card = member(page, 0)
    number = card.locator(".field[data-name=member_id_number] input").input_value()
    field = type_id(card, wrong_check(number))
    assert field.locator(".warning").inner_text().startswith(
        f"Check against the ID card: check character should be {number[17]}, not ")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_number_typed_in_groups_or_with_a_small_x_is_kept_as_on_the_card(page, lang):
    """Typed as the card prints it (6 + 8 + 4, with spaces) or with a lower-case x, a right
    number is neither refused for its length nor warned about: it is kept without the spaces
    and with an upper-case X, and shown so when the field is left."""
    open_family(page, lang=lang)
    card = member(page, 0)
    # The first member's own birth date and sex, with a check character X.
    assert card.locator(".field[data-name=member_id_number] input").input_value()[:14] == (
        "23022919650917")
    number = with_check("23022919650917004")
    assert number.endswith("X")
    field = type_id(card, f"{number[:6]} {number[6:14]} {number[14:17]}x")
    assert field.locator(".error").inner_text() == ""
    assert field.locator(".warning").inner_text() == ""
    assert field.locator("input").input_value() == number
    errors = review_errors(page)
    assert errors and not [e for e in errors if "身份证" in e or "ID number" in e]
    # Each error in the language's own punctuation ("Where: what" in English).
    colon = "：" if lang == "zh" else ": "
    assert all(colon in e for e in errors), errors
    if lang == "en":
        assert not [e for e in errors if "：" in e], errors


def test_a_member_with_a_supporters_number_is_warned_at_the_field(page):
    """A member given a supporter's number (one person listed twice) is named at the
    field, and the supporter too, as the assessment and the server's id_numbers check name
    them."""
    open_family(page)
    number = member(page, 0).locator(".field[data-name=member_id_number] input").input_value()
    page.click("nav.sections button[data-section=obligors]")
    repeat = page.locator(".repeat[data-name=supporters]")
    repeat.locator("button.block").click()
    supporter = repeat.locator(".repeat-item").last
    supporter.locator(".field[data-name=supporter_name] input").fill("刘大壮")
    type_id(supporter, number, "supporter_id_number")
    page.click("nav.sections button[data-section=family]")
    first = member(page, 0)
    first_name = first.locator(".field[data-name=member_name] input").input_value()
    member_field = type_id(first, number)
    assert "与刘大壮的身份证号码相同，请核对" in member_field.locator(".warning").inner_text()
    page.click("nav.sections button[data-section=obligors]")
    field = type_id(page.locator(".repeat[data-name=supporters] .repeat-item").last, number,
                    "supporter_id_number")
    assert f"与{first_name}的身份证号码相同，请核对" in field.locator(".warning").inner_text()


def test_a_draft_saved_with_a_spaced_number_is_kept_whole_when_it_opens(page):
    """A draft saved before the phone kept ID numbers whole (typed in groups, a small x)
    opens with the number tidied and saved, without touching the field: it was stopped at
    'an ID number has 18 characters' until the investigator tapped into each number."""
    open_family(page)
    number = with_check("23022919650917004")
    instance_id = page.evaluate("() => location.hash.split('/').pop()")
    page.evaluate("""async ([id, typed]) => {
        const db = await import("/js/db.js");
        const draft = await db.get("drafts", id);
        draft.answers.members[0].member_id_number = typed;
        await db.put("drafts", draft);
    }""", [instance_id, f"{number[:6]} {number[6:14]} {number[14:17]}x"])
    page.goto("/#/households")
    page.goto(f"/#/survey/{instance_id}")
    assert not [e for e in review_errors(page) if "身份证" in e]
    stored = page.evaluate("""async (id) => {
        const db = await import("/js/db.js");
        return (await db.get("drafts", id)).answers.members[0].member_id_number;
    }""", instance_id)
    assert stored == number
