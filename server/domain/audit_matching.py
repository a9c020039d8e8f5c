"""Matching a cross-check list against the people of the master record.

A match is *strong* when the ID numbers are equal: the department and we name the same
person. It is *weak* when the ID numbers differ (or ours is missing) but the name and the
birth date agree: quite possibly the same person with a mistyped or missing ID number, and
quite possibly a namesake born the same day (王秀英 is a common name), so it is shown as
weak and verified on a visit before anything is decided. A row that matches someone
strongly makes no weak matches: the department has told us who it means.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from . import idcard
from .audit_lists import ListKind, ListRow, normalise_name

STRENGTHS = ("strong", "weak")


@dataclass(frozen=True)
class Person:
    """Someone in the master record a list may name: a member or a supporter of a household."""

    household_id: int
    kind: str  # "member" | "supporter"
    id: str  # the member's or supporter's UUID
    name: str
    id_number: str | None
    birth_date: date | None


@dataclass(frozen=True)
class Match:
    """A list row that names a person of a household, with the category it hits."""

    row: ListRow
    person: Person
    strength: str
    category: str


def birth_date_of(person: Person, today: date) -> date | None:
    """Return the person's birth date: recorded, else read from an ID number valid on
    `today` (the county's business day)."""
    if person.birth_date:
        return person.birth_date
    if person.id_number:
        try:
            return idcard.parse(person.id_number, today=today).birth_date
        except idcard.InvalidIdNumber:
            return None
    return None


def category_for(kind: ListKind, person: Person) -> str | None:
    """Return the audit category a match of this person on this list hits (None: none)."""
    return kind.member_category if person.kind == "member" else kind.supporter_category


def match_rows(kind: ListKind, rows: list[ListRow], people: list[Person], *,
               today: date) -> list[Match]:
    """Return every match of the rows with the people, strong ones and weak ones (`today`:
    the day of the import, for birth dates read from ID numbers)."""
    people = [p for p in people if category_for(kind, p)]
    by_id_number: dict[str, list[Person]] = defaultdict(list)
    by_name_birth: dict[tuple[str, date], list[Person]] = defaultdict(list)
    for person in people:
        if person.id_number:
            by_id_number[idcard.normalise(person.id_number)].append(person)
        born = birth_date_of(person, today)
        name = normalise_name(person.name)
        if born and name:
            by_name_birth[(name, born)].append(person)
    matches = []
    for row in rows:
        strong = by_id_number.get(row.id_number, [])
        matches.extend(Match(row, p, "strong", category_for(kind, p)) for p in strong)
        if strong:
            continue
        for person in by_name_birth.get((normalise_name(row.name), row.birth_date), []):
            matches.append(Match(row, person, "weak", category_for(kind, person)))
    return matches
