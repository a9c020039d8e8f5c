"""GB 11643 ID numbers: check character, birth date, sex, and agreement with the record."""

import ast
import json
from datetime import date
from pathlib import Path

import pytest

from server.domain import idcard

# 11010519491231002X is the standard's own worked example (a woman born 1949-12-31).
STANDARD_EXAMPLE = "11010519491231002X"
TODAY = date(2026, 5, 22)
# The shared vectors: pwa/js/idcard.js must say the same (tests/e2e/test_vectors_in_browser.py).
VECTORS = json.loads((Path(__file__).resolve().parent.parent / "forms" / "vectors"
                      / "idcard.json").read_text("utf-8"))


def test_standard_example_check_character_is_x():
    """The check character of the standard's example is X (sum of products mod 11 = 2)."""
    assert idcard.check_character(STANDARD_EXAMPLE[:17]) == "X"


def test_parse_reads_region_birth_date_and_sex():
    """Parsing gives the region code, birth date and sex (even sequence digit: female)."""
    parsed = idcard.parse(STANDARD_EXAMPLE, today=TODAY)
    assert parsed.region_code == "110105"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "female"


def test_lower_case_x_and_spaces_are_accepted():
    """A lower-case x and spaces typed by an investigator are normalised."""
    assert idcard.parse("110105 19491231 002x", today=TODAY).number == STANDARD_EXAMPLE


def test_male_from_odd_sequence_digit():
    """An odd 17th digit means male; the check character is recomputed for the new body."""
    body = "23022919800101001"
    number = body + idcard.check_character(body)
    assert idcard.parse(number, today=TODAY).sex == "male"


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("1101051949123100", "18 characters"),
        ("11010519491231002Y", "digits"),
        ("1101051949A231002X", "digits"),
        ("99010519491231002X", "region code"),
        ("110105194902300021", "not a valid date"),
        ("110105203001010021", "out of range"),
        ("110105189901010021", "out of range"),
        ("110105194912310021", "check character should be X"),
    ],
)
def test_malformed_numbers_are_rejected_with_a_reason(number, fragment):
    """Each kind of malformed number is rejected with a reason naming the problem."""
    with pytest.raises(idcard.InvalidIdNumber) as caught:
        idcard.parse(number, today=TODAY)
    assert fragment in caught.value.reason["en"]
    assert caught.value.reason["zh"]


def test_problems_empty_when_record_agrees():
    """A valid number agreeing with the recorded birth date and sex has no problems."""
    assert idcard.problems(STANDARD_EXAMPLE, birth_date="1949-12-31", sex="female",
                           today=TODAY) == []


def test_problems_report_birth_date_and_sex_disagreement():
    """A recorded birth date or sex that differs from the number is reported, both ways."""
    found = idcard.problems(STANDARD_EXAMPLE, birth_date="1950-01-01", sex="male", today=TODAY)
    assert [p["en"] for p in found] == [
        "birth date recorded as 1950-01-01, the ID number says 1949-12-31",
        "recorded as male, the ID number says female",
    ]


def test_problems_of_malformed_number_is_its_reason():
    """A malformed number gives exactly one problem: why it is malformed."""
    assert len(idcard.problems("123", today=TODAY)) == 1


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_shared_vectors(vector):
    """Each shared vector gives exactly its expected problems, in both languages."""
    found = idcard.problems(vector["number"], birth_date=vector.get("birth_date"),
                            sex=vector.get("sex"), today=date.fromisoformat(VECTORS["today"]))
    assert found == vector["expected"]


@pytest.mark.parametrize("vector", VECTORS["shared"], ids=lambda v: v["name"])
def test_shared_number_vectors(vector):
    """Each household's people give exactly the expected 'same number' problems."""
    assert idcard.shared(vector["people"]) == vector["expected"]


def test_full_width_check_digit_is_malformed_not_a_wrong_check_character():
    """A full-width last digit (an input method's) is not a digit: Python's isdigit() says it
    is, and the number was reported as having a wrong check character."""
    with pytest.raises(idcard.InvalidIdNumber) as caught:
        idcard.parse("11010519491231002２", today=TODAY)
    assert "digits" in caught.value.reason["en"]


def test_the_day_is_always_the_callers():
    """Domain code reads no clock: parse and problems take the day the caller gives (the
    county's business day, server/county_clock.py), and without one they refuse to guess
    instead of using the server's date, a day behind Beijing from 00:00 to 08:00 on UTC."""
    with pytest.raises(TypeError):
        idcard.parse(STANDARD_EXAMPLE)
    with pytest.raises(TypeError):
        idcard.problems(STANDARD_EXAMPLE)
    born = "230229" + "20990101" + "002"
    number = born + idcard.check_character(born)
    assert idcard.parse(number, today=date(2099, 1, 1)).birth_date == date(2099, 1, 1)
    assert idcard.problems(number, today=date(2098, 12, 31))[0]["en"] == (
        "birth date 2099-01-01 is out of range")


def test_no_domain_module_reads_the_clock():
    """No date.today(), datetime.now()/utcnow() or time.time() anywhere in server/domain."""
    domain = Path(__file__).resolve().parent.parent / "server" / "domain"
    found = []
    for source in sorted(domain.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            called, on = node.func.attr, node.func.value
            time_module = isinstance(on, ast.Name) and on.id == "time"
            if called in ("today", "now", "utcnow") or (
                    time_module and called in ("time", "time_ns", "monotonic")):
                found.append(f"{source.name}:{node.lineno} {called}()")
    assert found == []
