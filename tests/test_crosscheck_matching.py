"""Cross-check list rows and matching, with plain values (server/domain/audit_lists.py,
audit_matching.py)."""

from datetime import date

import pytest

from server.domain import audit_lists, audit_matching
from server.domain.audit_matching import Person
from server.services.demo import id_number

TODAY = date(2026, 6, 1)
DEATHS = audit_lists.LIST_KINDS["deaths"]
PAYROLL = audit_lists.LIST_KINDS["public_payroll"]
WANG = id_number("230229", date(1950, 3, 8), 1, False)
WANG_OTHER = id_number("230229", date(1950, 3, 8), 2, False)  # a namesake's number


def row(kind=DEATHS, number=2, **cells):
    """Parse one row with defaults for a death list."""
    base = {"id_number": WANG, "name": "王秀英", "death_date": "2026-02-11"}
    return audit_lists.parse_row(kind, number, {**base, **cells}, today=TODAY)


def test_a_good_row_is_typed():
    """ID number verified, birth date read from it, detail typed to JSON values."""
    parsed, problems = row(place="县殡仪馆")
    assert problems == []
    assert parsed.id_number == WANG and parsed.birth_date == date(1950, 3, 8)
    assert parsed.detail == {"death_date": "2026-02-11", "place": "县殡仪馆"}


@pytest.mark.parametrize(
    "cells,expected",
    [
        ({"id_number": ""}, "id_number is empty"),
        ({"id_number": WANG[:-1] + ("0" if WANG[-1] != "0" else "1")}, "check character"),
        ({"name": " "}, "name is empty"),
        ({"death_date": ""}, "death_date is empty"),
        ({"death_date": "2026-02-30"}, "not a date"),
        ({"death_date": "2099-01-01"}, "in the future"),
        ({"death_date": "1949-01-01"}, "before the birth date"),
        ({"birth_date": "1951-03-08"}, "differs from the ID number"),
    ],
)
def test_bad_cells_are_named(cells, expected):
    """Every problem of a row is said in Chinese and English."""
    parsed, problems = row(**cells)
    assert parsed is None
    assert any(expected in p for p in problems), problems
    assert all(" / " in p for p in problems)


@pytest.mark.parametrize("text", ["2026-02-11", "2026/2/11", "2026.02.11", "20260211"])
def test_dates_in_the_usual_spellings(text):
    """Departments write dates several ways."""
    parsed, problems = row(death_date=text)
    assert problems == [] and parsed.detail["death_date"] == "2026-02-11"


def test_chinese_headers_are_understood():
    """身份证号码, 姓名, 死亡日期 map to the canonical columns; unknown headers are ignored."""
    mapping, missing = audit_lists.header_map(
        audit_lists.columns_of(DEATHS), ["序号", "姓名", " 身份证号码 ", "死亡日期"]
    )
    assert mapping == {"姓名": "name", " 身份证号码 ": "id_number", "死亡日期": "death_date"}
    assert missing == []
    _, missing = audit_lists.header_map(audit_lists.columns_of(PAYROLL), ["姓名", "身份证号"])
    assert missing == ["employer"]


def person(kind="member", pid="m1", name="王秀英", number=WANG, born=None, household=1):
    """Return a person of the master record."""
    return Person(household, kind, pid, name, number, born)


def test_equal_id_numbers_match_strongly():
    """The department and the record name the same person."""
    parsed, _ = row()
    matches = audit_matching.match_rows(
        DEATHS, [parsed], [person(), person(pid="m2", name="李四", number=None)],
        today=TODAY,
    )
    assert [(m.person.id, m.strength, m.category) for m in matches] == [
        ("m1", "strong", "deceased_receiving")
    ]


def test_name_and_birth_date_match_weakly():
    """Our member has no ID number (or another one): name and birth date make a weak match."""
    parsed, _ = row()
    people = [
        person(pid="no-id", number=None, born=date(1950, 3, 8)),
        person(pid="other-id", number=WANG_OTHER, household=2),  # birth date read from it
        person(pid="other-day", number=None, born=date(1950, 3, 9)),
        person(pid="other-name", name="王秀兰", number=None, born=date(1950, 3, 8)),
    ]
    matches = audit_matching.match_rows(DEATHS, [parsed], people, today=TODAY)
    assert sorted((m.person.id, m.strength) for m in matches) == [
        ("no-id", "weak"),
        ("other-id", "weak"),
    ]


def test_a_strong_match_leaves_no_weak_ones():
    """Once the ID number names someone, namesakes born the same day are not suspected."""
    parsed, _ = row()
    matches = audit_matching.match_rows(
        DEATHS, [parsed], [person(), person(pid="twin", number=None, born=date(1950, 3, 8))],
        today=TODAY,
    )
    assert [(m.person.id, m.strength) for m in matches] == [("m1", "strong")]


def test_names_compare_without_spaces_and_dots():
    """`王 秀英` and `王秀英` are one name; so are minority names with or without the dot."""
    parsed, _ = row(name="王 秀英")
    assert audit_matching.match_rows(
        DEATHS, [parsed], [person(number=None, born=date(1950, 3, 8))], today=TODAY
    )
    assert audit_lists.normalise_name("阿依古丽·买买提") == audit_lists.normalise_name(
        "阿依古丽买买提"
    )


def test_supporters_hit_their_own_category_or_none():
    """A child on the public payroll hides support; a supporter on a death list is no problem."""
    payroll, problems = audit_lists.parse_row(
        PAYROLL, 2, {"id_number": WANG, "name": "王秀英", "employer": "县财政局"}, today=TODAY
    )
    assert problems == []
    child = person(kind="supporter", pid="s1")
    matches = audit_matching.match_rows(PAYROLL, [payroll], [child], today=TODAY)
    assert [m.category for m in matches] == [
        "hidden_support"
    ]
    death, _ = row()
    assert audit_matching.match_rows(DEATHS, [death], [child], today=TODAY) == []
