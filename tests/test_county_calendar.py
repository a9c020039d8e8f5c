"""Business dates follow the county's calendar (UTC+8 by default), not the server's.

The clock is pinned on 2026-11-23 at 17:00 UTC (01:00 on the 24th in Beijing) and at
15:59 UTC (23:59 on the 23rd): a date taken from the server's calendar, or from a UTC time's
`.date()`, would be the 23rd both times.
"""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from server import county_clock
from server.extensions import db
from server.models import LedgerEntry, Submission
from server.services import forms, ledger, sync
from tests.audit_helpers import covered, merged_survey
from tests.conftest import TOWNSHIP_1
from tests.forms_helpers import answers
from tests.sync_helpers import survey

pytest_plugins = ["tests.console_helpers"]

LEDGER = "/api/v1/audit/ledger"
DEADLINE_DAY = date(2026, 11, 23)
MOMENTS = {
    "01:00 next day in Beijing": (datetime(2026, 11, 23, 17, 0), date(2026, 11, 24)),
    "23:59 same day in Beijing": (datetime(2026, 11, 23, 15, 59), date(2026, 11, 23)),
}


@pytest.fixture(params=MOMENTS.values(), ids=MOMENTS.keys())
def pinned(request, monkeypatch):
    """Stop the clock at a moment; return (that naive-UTC moment, the county's day then)."""
    moment, county_day = request.param
    for module in (county_clock, sync, ledger):
        monkeypatch.setattr(module, "utcnow", lambda: moment)
    return moment, county_day


def test_the_county_clock_turns_the_day_at_local_midnight(app, pinned):
    """today() and day_of() read the county's calendar; another offset moves the day."""
    moment, county_day = pinned
    assert county_clock.today() == county_day
    assert county_clock.day_of(moment) == county_day
    app.config["COUNTY_UTC_OFFSET_HOURS"] = 0
    assert county_clock.today() == date(2026, 11, 23)


def test_the_old_console_setting_still_names_the_offset(app):
    """Without the new key, CONSOLE_UTC_OFFSET_HOURS (its old name) is read."""
    app.config["COUNTY_UTC_OFFSET_HOURS"] = None
    app.config["CONSOLE_UTC_OFFSET_HOURS"] = -5
    assert county_clock.day_of(datetime(2026, 11, 24, 3, 0)) == date(2026, 11, 23)


def test_a_ledger_entry_from_a_surveys_checks_is_dated_by_the_county(api, demo, pinned):
    """A survey received at the pinned moment with a failed check: found on the county's day."""
    _, county_day = pinned
    target = covered(demo.households_in(TOWNSHIP_1))[0]
    with_death = answers()
    with_death["members"][2]["died_on"] = "2026-01-15"
    team = [demo.user("inv1").id, demo.user("inv2").id]
    body = survey(target, with_death, investigators=team,
                  form_id="dibao_household_survey", form_version="2026.1")
    response = api.as_user("inv1").post("/api/v1/submissions", json=body)
    assert response.status_code == 201, response.get_json()
    entry = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.household_id == target.id,
                                  LedgerEntry.source == "check")
    ).one()
    assert entry.found_on == county_day


def test_a_hand_made_entry_is_found_today_in_the_county(api, demo, pinned):
    """Without a date given, an entry is found on the county's day; its deadline follows."""
    _, county_day = pinned
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    response = api.as_user("sup1").post(LEDGER, json={
        "household_id": household.id, "category": "unreported_change",
        "actions": ["resurvey"], "description": "长期外出务工未报告"})
    assert response.status_code == 201, response.get_json()
    entry = response.get_json()
    assert entry["found_on"] == county_day.isoformat()
    assert entry["due_on"] == (county_day + timedelta(days=30)).isoformat()


def test_an_entry_is_overdue_once_its_deadline_day_has_ended_in_the_county(api, demo, pinned):
    """Due on the 23rd: at 01:00 on the 24th in Beijing it is overdue, at 23:59 on the 23rd not."""
    _, county_day = pinned
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    response = api.as_user("sup1").post(LEDGER, json={
        "household_id": household.id, "category": "unreported_change",
        "actions": ["resurvey"], "description": "长期外出务工未报告",
        "due_on": DEADLINE_DAY.isoformat()})
    assert response.status_code == 201, response.get_json()
    entry_id = response.get_json()["id"]
    overdue = county_day > DEADLINE_DAY
    shown = api.as_user("sup1").get(f"{LEDGER}/{entry_id}").get_json()
    assert shown["overdue"] is overdue
    listed = api.as_user("sup1").get(f"{LEDGER}?state=overdue").get_json()["entries"]
    assert [e["id"] for e in listed] == ([entry_id] if overdue else [])
    assert ledger.is_overdue(db.session.get(LedgerEntry, entry_id)) is overdue


def test_the_review_calendar_counts_from_the_county_day_of_the_last_visit(api, demo, pinned):
    """A survey completed a year before the pinned moment: due a year after its county day,
    and a household due on the 23rd is overdue once the county's 23rd has ended."""
    moment, county_day = pinned
    last_visited, recorded = covered(demo.households_in(TOWNSHIP_1))[:2]
    for household in (last_visited, recorded):
        household.next_review_on = None
        household.staff_relative = False
        for member in household.members:
            member.work_ability = "none"
    recorded.next_review_on = DEADLINE_DAY
    recorded.created_at = datetime(2026, 1, 1)
    merged_survey(last_visited, demo.user("inv1"), completed_at=moment.replace(year=2025),
                  assessment={})
    db.session.commit()
    response = api.as_user("sup1").get("/api/v1/audit/reviews?within_days=30")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    by_id = {h["household_id"]: h for h in body["households"]}
    assert by_id[last_visited.id]["last_reviewed_on"] == county_day.replace(year=2025).isoformat()
    assert by_id[last_visited.id]["due_on"] == county_day.isoformat()
    assert by_id[last_visited.id]["overdue"] is False
    assert by_id[recorded.id]["overdue"] is (county_day > DEADLINE_DAY)


def test_export_file_names_carry_the_county_day(api, console, pinned):
    """A console download and the ledger workbook are named by the county's day."""
    _, county_day = pinned
    response = console.as_user("sup1").get("/console/exports/households.csv")
    assert response.status_code == 200 and response.data  # the streamed file, read through
    assert f"-{county_day:%Y%m%d}.csv" in response.headers["Content-Disposition"]
    response = api.as_user("sup1").get(f"{LEDGER}/export.xlsx")
    assert response.status_code == 200, response.data[:200]
    assert f'ledger-{county_day.isoformat()}.xlsx"' in response.headers["Content-Disposition"]


def test_a_surveys_visit_day_without_an_answer_is_the_county_day(app, pinned):
    """Without a visit_date answer, the visit day is the county's day it was completed, or
    the county's today when it has no completion time."""
    moment, county_day = pinned
    completed = Submission(completed_at=moment)
    assert forms.visit_date({}, completed) == county_day
    assert forms.visit_date({}, None) == county_day
    assert forms.visit_date({"visit_date": "2026-11-20"}, completed) == date(2026, 11, 20)
