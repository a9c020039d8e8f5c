"""The review calendar: the policy's intervals, overdue first, region scope, assignments."""

from datetime import date, datetime, timedelta

from server import county_clock
from server.domain.policy import add_months
from server.extensions import db

from .audit_helpers import covered, merged_survey, township_supervisor
from .conftest import TOWNSHIP_1, TOWNSHIP_2

REVIEWS = "/api/v1/audit/reviews"


def seven_months_ago() -> date:
    """Return the county's day seven months ago (the county's calendar, not the server's)."""
    return add_months(county_clock.today(), -7)


def prepare(household, *, able: bool = False, relative: bool = False, reviewed=None):
    """Make a household's facts plain: no recorded date, last reviewed on a given day
    (seven months ago unless given)."""
    reviewed = reviewed or seven_months_ago()
    household.next_review_on = None
    household.staff_relative = relative
    household.created_at = datetime.combine(reviewed, datetime.min.time())
    for member in household.members:
        member.work_ability = "none"
    if able:
        household.members[0].work_ability = "full"


def due_list(api, user="sup1", **query):
    """Return the calendar's households keyed by id, and in order."""
    params = "&".join(f"{k}={v}" for k, v in query.items())
    response = api.as_user(user).get(f"{REVIEWS}?{params}")
    assert response.status_code == 200, response.get_json()
    households = response.get_json()["households"]
    return {h["household_id"]: h for h in households}, households


def test_the_review_calendar_follows_the_policys_intervals(api, demo):
    """12 months; 6 with a member able to work, a separately registered relative, or
    unstable income (Keshan 四(五)); overdue ones first."""
    yearly, able, relative, unstable = covered(demo.households_in(TOWNSHIP_1))[:4]
    prepare(yearly)
    prepare(able, able=True)
    prepare(relative, relative=True)
    prepare(unstable)
    today = county_clock.today()
    reviewed_on = add_months(today, -8)
    merged_survey(unstable, demo.user("inv1"), answers={"income_unstable": True},
                  completed_at=datetime.combine(reviewed_on, datetime.min.time()),
                  assessment={"assessed_for": reviewed_on.isoformat()})
    db.session.commit()

    by_id, ordered = due_list(api, within_days=200)
    assert by_id[yearly.id]["due_on"] == add_months(seven_months_ago(), 12).isoformat()
    assert (by_id[yearly.id]["interval_months"], by_id[yearly.id]["reasons"]) == (12, [])
    assert by_id[yearly.id]["overdue"] is False and by_id[yearly.id]["basis"] == "computed"
    assert by_id[able.id]["due_on"] == add_months(seven_months_ago(), 6).isoformat()
    assert (by_id[able.id]["interval_months"], by_id[able.id]["reasons"]) == (6, ["able_to_work"])
    assert by_id[able.id]["overdue"] is True and by_id[able.id]["days_overdue"] > 0
    assert by_id[relative.id]["reasons"] == ["separately_registered"]
    assert by_id[relative.id]["due_on"] == add_months(seven_months_ago(), 6).isoformat()
    assert by_id[unstable.id]["reasons"] == ["unstable_income"]
    assert by_id[unstable.id]["last_reviewed_on"] == add_months(today, -8).isoformat()
    assert by_id[unstable.id]["due_on"] == add_months(add_months(today, -8), 6).isoformat()

    # Overdue first, then by due date.
    dues = [h["due_on"] for h in ordered]
    assert dues == sorted(dues)
    flags = [h["overdue"] for h in ordered]
    assert flags == sorted(flags, reverse=True)
    # The 30-day default leaves out the household due in five months.
    by_id, _ = due_list(api)
    assert yearly.id not in by_id and able.id in by_id


def test_an_earlier_recorded_date_counts(api, demo):
    """A review date recorded on the household (the last assessment's) wins when earlier."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    prepare(household)
    household.next_review_on = county_clock.today() - timedelta(days=3)
    db.session.commit()
    by_id, _ = due_list(api)
    assert by_id[household.id]["basis"] == "recorded"
    assert by_id[household.id]["due_on"] == household.next_review_on.isoformat()
    assert by_id[household.id]["days_overdue"] == 3


def test_the_calendar_is_filtered_by_region_and_scope(api, demo):
    """By township and village; investigators see only their own region."""
    one = covered(demo.households_in(TOWNSHIP_1))
    two = covered(demo.households_in(TOWNSHIP_2))
    for household in one + two:
        prepare(household, able=True)
    db.session.commit()
    all_ids = set(due_list(api)[0])
    assert {h.id for h in one + two} <= all_ids
    township_two = set(due_list(api, township_code=TOWNSHIP_2)[0])
    assert township_two == {h.id for h in two}
    village = two[0].village.code
    assert set(due_list(api, village_code=village)[0]) == {
        h.id for h in two if h.village.code == village
    }
    assert set(due_list(api, user="inv3")[0]) == {h.id for h in two}


def test_reviews_are_assigned_to_investigators_of_the_region(api, demo):
    """An assignment shows in the calendar and on the investigator's phone; scope holds."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    prepare(household, able=True)
    db.session.commit()
    inv1 = api.as_user("inv1")
    cursor = inv1.get("/api/v1/households?limit=500").get_json()["cursor"]
    investigator = demo.user("inv1")
    sup1 = api.as_user("sup1")
    assign = "/api/v1/audit/reviews/assignments"

    response = sup1.post(
        assign, json={"household_ids": [household.id], "investigator_id": investigator.id}
    )
    assert response.status_code == 200 and response.get_json() == {"changed": 1}
    entry = due_list(api)[0][household.id]
    assert (entry["assigned_to"], entry["assigned_name"]) == (investigator.id, "王调查")
    assert set(due_list(api, user="inv1", assigned_to=investigator.id)[0]) == {household.id}
    page = inv1.get(f"/api/v1/households?since={cursor}&limit=500").get_json()
    assert [(h["id"], h["revisit"]["assigned_to"]) for h in page["households"]] == [
        (household.id, investigator.id)
    ]

    # Not to an investigator of another township, not by one, not across townships.
    away = sup1.post(
        assign, json={"household_ids": [household.id], "investigator_id": demo.user("inv3").id}
    )
    assert away.status_code == 422
    assert (
        inv1.post(
            assign, json={"household_ids": [household.id], "investigator_id": investigator.id}
        ).status_code
        == 403
    )
    township_supervisor("sup2", TOWNSHIP_2, demo.password)
    across = api.as_user("sup2").post(
        assign, json={"household_ids": [household.id], "investigator_id": None}
    )
    assert across.status_code == 403
    assert (
        sup1.post(
            assign, json={"household_ids": [household.id], "investigator_id": 999999}
        ).status_code
        == 404
    )
    # Another county's investigator is as unknown as no investigator (it was a 422 telling
    # that this id is an active investigator somewhere else).
    from server.services import users
    from server.services.regions import add_region

    county = add_region(name="另一县", code="230230", level="county", parent=None)
    add_region(name="另一镇", code="230230100", level="township", parent=county)
    db.session.commit()
    elsewhere = users.add_user(
        "inv9", role="investigator", region_code="230230100", password=demo.password
    )
    unknown = sup1.post(assign, json={"household_ids": [household.id], "investigator_id": 999999})
    other = sup1.post(
        assign, json={"household_ids": [household.id], "investigator_id": elsewhere.id}
    )
    assert (other.status_code, other.get_json()) == (404, unknown.get_json())

    # Unassigning takes the marker off the phone.
    cursor = page["cursor"]
    assert sup1.post(
        assign, json={"household_ids": [household.id], "investigator_id": None}
    ).get_json() == {"changed": 1}
    page = inv1.get(f"/api/v1/households?since={cursor}&limit=500").get_json()
    assert [(h["id"], h["revisit"]) for h in page["households"]] == [(household.id, None)]
