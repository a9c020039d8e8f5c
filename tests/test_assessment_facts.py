"""The outside facts of a survey's assessment (services/forms.context_for), gathered by one
statement of up to three parts: each part finds what it is scoped to and ignores the rest,
whichever other parts are in the statement with it."""

from datetime import date, datetime

import pytest
from sqlalchemy import event

from server.extensions import db
from server.models import CrosscheckList, CrosscheckRow, SubmissionMedia
from server.services import crosscheck, forms
from server.services.plain_sql import Plain
from tests.audit_helpers import covered, living_member, merged_survey
from tests.conftest import TOWNSHIP_1
from tests.forms_helpers import SURVEY


def listed(kind: str, *members) -> None:
    """Store an imported list of this kind naming these members (as a matched import does)."""
    imported = CrosscheckList(kind=kind, file_sha256="0" * 64)
    db.session.add(imported)
    db.session.flush()
    db.session.add_all(CrosscheckRow(list_id=imported.id, row_number=n, id_number=m.id_number,
                                     name=m.name, birth_date=m.birth_date)
                       for n, m in enumerate(members, start=1))
    db.session.commit()


def used_photo(household, user, sha256: str) -> None:
    """Store a merged survey of a household that used a photo."""
    submission = merged_survey(household, user, completed_at=datetime(2026, 5, 22, 9))
    db.session.add(SubmissionMedia(submission_id=submission.id, sha256=sha256, size=1,
                                   content_type="image/jpeg"))
    db.session.commit()


def survey(photos=(), numbers=()) -> dict:
    """Answers naming these photo hashes and these members' ID numbers."""
    given: dict = {"members": [{"id": f"m{n}", "member_id_number": number}
                               for n, number in enumerate(numbers)]}
    if photos:
        given["photo_housing_exterior"] = [{"sha256": p, "category": "housing_exterior"}
                                           for p in photos]
    return given


@pytest.fixture
def people(app, demo):
    """Three covered households of township 1: ours and two others, and a living member
    of each other one."""
    ours, first, second = covered(demo.households_in(TOWNSHIP_1))[:3]
    return ours, first, second, living_member(first), living_member(second)


@pytest.mark.parametrize("with_photos", [False, True])
def test_registered_elsewhere_takes_living_co_residents_of_other_households(
        people, demo, with_photos):
    """A number registered to a living co-resident of another household is found with that
    household's code; a member of ours, a dead member and one who lives elsewhere are not."""
    ours, first, second, alive, dead = people
    moved = next(m for m in second.members if m.id_number and m is not dead)
    dead.died_on = date(2026, 1, 5)
    moved.co_resident = False
    db.session.commit()
    own = living_member(ours)
    photos = ["cd" * 32] if with_photos else []
    context = forms.context_for(
        SURVEY, survey(photos, [alive.id_number.lower(), own.id_number, dead.id_number,
                                moved.id_number]), forms.HouseholdFacts.of(ours))
    assert context.id_numbers_elsewhere == {alive.id_number: first.code}
    assert context.deceased_id_numbers == set()
    assert context.photo_hashes_elsewhere == {}


@pytest.mark.parametrize("with_photos", [False, True])
def test_reported_deceased_takes_death_lists_only(people, demo, with_photos):
    """A number on an imported death list is reported deceased (in whichever household it
    is registered, ours too); a number on another kind of list is not."""
    ours, first, second, alive, other = people
    own = living_member(ours)
    listed("deaths", alive, own)
    listed("pensions", other)
    photos = ["cd" * 32] if with_photos else []
    numbers = [alive.id_number, own.id_number, other.id_number]
    context = forms.context_for(SURVEY, survey(photos, numbers), forms.HouseholdFacts.of(ours))
    assert context.deceased_id_numbers == {alive.id_number, own.id_number}
    # The registered part still answers beside it, for the same numbers.
    assert context.id_numbers_elsewhere == {alive.id_number: first.code,
                                            other.id_number: second.code}
    # The death-list part asked on its own answers the same.
    alone = Plain(crosscheck.ON_DEATH_LISTS).execute({"numbers": numbers})
    assert {row.id_number for row in alone} == {alive.id_number, own.id_number}


@pytest.mark.parametrize("with_numbers", [False, True])
def test_photos_elsewhere_take_other_households_only(people, demo, with_numbers):
    """A photo another household used is found with its code; one only ours used is not,
    and the numbers asked about beside it do not leak into the photos."""
    ours, first, second, alive, other = people
    theirs, mine = "ab" * 32, "ef" * 32
    used_photo(first, demo.user("inv1"), theirs)
    used_photo(ours, demo.user("inv1"), mine)
    listed("deaths", alive)
    numbers = [alive.id_number] if with_numbers else []
    context = forms.context_for(SURVEY, survey([theirs, mine], numbers),
                                forms.HouseholdFacts.of(ours))
    assert context.photo_hashes_elsewhere == {theirs: first.code}
    assert context.id_numbers_elsewhere == ({alive.id_number: first.code} if with_numbers
                                            else {})
    assert context.deceased_id_numbers == ({alive.id_number} if with_numbers else set())


def test_without_a_household_every_household_is_another(people, demo):
    """A new household's survey (no household yet): every household counts as another."""
    ours, first, second, alive, other = people
    used_photo(ours, demo.user("inv1"), "ab" * 32)
    own = living_member(ours)
    context = forms.context_for(SURVEY, survey(["ab" * 32], [own.id_number]), None)
    assert context.photo_hashes_elsewhere == {"ab" * 32: ours.code}
    assert context.id_numbers_elsewhere == {own.id_number: ours.code}


def test_nothing_to_ask_asks_nothing(people, demo):
    """No photo and no ID number: no statement at all, and empty facts."""
    facts = forms.HouseholdFacts.of(people[0])
    seen = []

    def count(*_):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        context = forms.context_for(SURVEY, survey([], ["  "]), facts)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert seen == []
    assert (context.photo_hashes_elsewhere, context.id_numbers_elsewhere,
            context.deceased_id_numbers) == ({}, {}, set())
