"""The review queue's and the progress dashboard's figures equal a straightforward count.

The queue counts from its summary (review_flags, with the submission's household, review
state and visit time copied in) and skips the scope filter when the supervisor's region holds
every household. Here each figure it shows is checked against a plain count in Python over
every submission, for the county and a township supervisor, before and after reviews move
submissions between states, and with the "flagged by audit" filter. The progress dashboard
(which likewise skips the scope filter for such a supervisor and counts each household's
surveys in one pass) is checked the same way, village by village and day by day.
"""

import io
import re
import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import (
    Conflict,
    CrosscheckFlag,
    Household,
    LedgerEntry,
    Region,
    Submission,
    SubmissionMedia,
    SubmissionReview,
    User,
)
from server.models.submission import REVIEW_STATES
from server.services import progress, review_queue
from server.services.errors import NotFound
from server.services.regions import add_region
from server.services.scope import covers_everything
from tests.audit_helpers import covered, csv_bytes, living_member
from tests.conftest import TOWNSHIP_1, TOWNSHIP_2
from tests.console_data import assessment, set_assessment
from tests.sync_helpers import survey

pytest_plugins = ["tests.console_helpers"]

DEATH_HEADER = ["身份证号码", "姓名", "死亡日期", "殡仪馆"]
# The county_work surveys are all of May 2026: the periods are fixed, not "this year", so
# that the counts still compare something after New Year.
YEAR_OF_THE_SURVEYS = (date(2026, 1, 1), date(2026, 12, 31))


def _flags_of(submission: Submission) -> set[str]:
    """Return the queue flags of one submission, read straight from their tables."""
    checks = (submission.assessment or {}).get("checks") or []
    flags = set()
    if any(isinstance(c, dict) and c.get("passed") is False for c in checks):
        flags.add("failed_checks")
    if (submission.assessment or {}).get("county_review"):
        flags.add("county_review")
    if db.session.scalar(select(SubmissionMedia.submission_id).where(
            SubmissionMedia.submission_id == submission.id,
            SubmissionMedia.received_at.is_(None)).limit(1)) is not None:
        flags.add("missing_photos")
    if db.session.scalar(select(Conflict.id).where(
            Conflict.submission_id == submission.id, Conflict.status == "open").limit(1)):
        flags.add("open_conflict")
    if db.session.scalar(
        select(CrosscheckFlag.id)
        .join(LedgerEntry, LedgerEntry.id == CrosscheckFlag.ledger_entry_id)
        .where(CrosscheckFlag.household_id == submission.household_id,
               LedgerEntry.state != "closed").limit(1)
    ):
        flags.add("audit_flagged")
    return flags


def expected(user: User, filters: review_queue.QueueFilters):
    """Return (state counts, flag counts, instance ids) by looking at every submission."""
    db.session.expire_all()
    scope = db.session.get(Region, user.region_id)
    offset = timedelta(hours=8)
    rows = []
    for submission in db.session.scalars(select(Submission)):
        if submission.household_id is None:
            continue
        household = db.session.get(Household, submission.household_id)
        village = household.village
        if village.level != "village" or not village.path.startswith(scope.path):
            continue
        if filters.township and village.parent.code != filters.township:
            continue
        if filters.village and village.code != filters.village:
            continue
        people = {submission.submitted_by, *(submission.investigator_ids or [])}
        if filters.investigator and filters.investigator not in people:
            continue
        local = submission.completed_at + offset
        if filters.date_from and local.date() < filters.date_from:
            continue
        if filters.date_to and local.date() > filters.date_to:
            continue
        rows.append((submission, _flags_of(submission)))
    wanted = set(filters.flags)
    state_counts = dict.fromkeys(REVIEW_STATES, 0)
    flag_counts = dict.fromkeys(review_queue.QUEUE_FLAGS, 0)
    ids = set()
    for submission, flags in rows:
        state_ok = filters.state not in REVIEW_STATES or submission.review_state == filters.state
        if wanted <= flags:
            state_counts[submission.review_state] += 1
            if state_ok:
                ids.add(submission.instance_id)
        if state_ok:
            for flag in flags:
                flag_counts[flag] += 1
    return state_counts, flag_counts, ids


def shown(user: User, filters: review_queue.QueueFilters):
    """Return what the queue shows: (state counts, flag counts, instance ids, total)."""
    db.session.expire_all()
    result = review_queue.queue(user, filters, per_page=200)
    ids = {row.submission.instance_id for row in result.page.items}
    assert len(ids) == len(result.page.items)
    return result.state_counts, result.flag_counts, ids, result.page.total


def filter_cases(demo) -> list[review_queue.QueueFilters]:
    """Return filters touching every condition the queue has, alone and together."""
    village = demo.households_in(TOWNSHIP_1)[0].village.code
    inv2 = demo.user("inv2").id
    cases = []
    for state in (*REVIEW_STATES, "all"):
        cases.append(review_queue.QueueFilters(state=state))
        for flag in review_queue.QUEUE_FLAGS:
            cases.append(review_queue.QueueFilters(state=state, flags=(flag,)))
    cases += [
        review_queue.QueueFilters(state="all", flags=("failed_checks", "audit_flagged")),
        review_queue.QueueFilters(state="all", township=TOWNSHIP_1),
        review_queue.QueueFilters(state="all", township=TOWNSHIP_2,
                                  flags=("audit_flagged",)),
        review_queue.QueueFilters(state="received", village=village),
        review_queue.QueueFilters(state="all", investigator=inv2),
        review_queue.QueueFilters(state="all", date_from=date(2026, 5, 3)),
        review_queue.QueueFilters(state="all", date_to=date(2026, 5, 2),
                                  flags=("missing_photos",)),
        review_queue.QueueFilters(state="received", date_from=date(2026, 5, 1),
                                  date_to=date(2026, 5, 3), sort="household",
                                  descending=True),
        review_queue.QueueFilters(state="all", sort="received_at"),
        review_queue.QueueFilters(state="all", sort="failed_checks", descending=True),
    ]
    return cases


def outside_scope(user: User, filters: review_queue.QueueFilters) -> bool:
    """Tell whether a filter names a township or village outside the user's region."""
    scope = db.session.get(Region, user.region_id)
    for code in (filters.township, filters.village):
        region = code and db.session.scalar(select(Region).where(Region.code == code))
        if region and not region.path.startswith(scope.path):
            return True
    return False


def assert_all_filters_match(users: list[User], demo) -> None:
    """Compare the queue with the plain count for every user and filter; a filter naming
    another region is refused as NotFound (as an unknown code), never an empty queue."""
    for user in users:
        for filters in filter_cases(demo):
            if outside_scope(user, filters):
                with pytest.raises(NotFound):
                    shown(user, filters)
                continue
            state_counts, flag_counts, ids, total = shown(user, filters)
            want_states, want_flags, want_ids = expected(user, filters)
            where = (user.username, filters)
            assert state_counts == want_states, where
            assert flag_counts == want_flags, where
            assert ids == want_ids, where
            assert total == len(want_ids), where


@pytest.fixture
def county_work(api, scenario, demo, sup2):
    """Surveys in both townships with every kind of flag, and two households on a death list."""
    one, two = demo.households_in(TOWNSHIP_1), demo.households_in(TOWNSHIP_2)
    inv1, inv2, inv3 = (demo.user(n).id for n in ("inv1", "inv2", "inv3"))
    made = {}
    made["plain"] = scenario.record_edit("inv1", one[0], {"address": "一组"},
                                         investigators=[inv1, inv2])
    made["failed"] = scenario.record_edit("inv1", one[1], {"address": "二组"},
                                          completed_at="2026-05-03T01:00:00+08:00")
    set_assessment(made["failed"], assessment(failed=2))
    made["county"] = scenario.record_edit("inv2", one[2], {"address": "三组"},
                                          investigators=[inv2])
    set_assessment(made["county"], assessment(county_review=True))
    made["missing"] = scenario.record_edit(
        "inv1", one[3], {"address": "四组"}, photos=[scenario.photo(near=one[3])], upload=False,
        completed_at="2026-05-01T23:30:00+08:00")
    base = one[4].version
    scenario.record_edit("inv1", one[4], {"phone": "13911111111"}, base_version=base)
    made["conflict"] = scenario.record_edit("inv2", one[4], {"phone": "13922222222"},
                                            base_version=base, investigators=[inv2])
    for i, household in enumerate(two[:4]):
        made[f"t2_{i}"] = scenario.record_edit("inv3", household, {"address": f"北兴{i}"},
                                               investigators=[inv3])
    set_assessment(made["t2_1"], assessment(failed=1))
    # Two households on a death list: flagged by the audit (an open ledger entry each).
    people = [living_member(covered(one)[0]), living_member(covered(two)[0])]
    rows = [[m.id_number, m.name, "2026-02-11", "县殡仪馆"] for m in people]
    response = api.as_user("sup1").post(
        "/api/v1/audit/crosscheck/lists",
        data={"kind": "deaths", "source": "县殡仪馆",
              "file": (io.BytesIO(csv_bytes(DEATH_HEADER, rows)), "deaths.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    # A new household's second link, held (no household yet) until its first link arrives.
    member = str(uuid.uuid4())
    made["new_first"] = survey(None, {"village_id": one[0].village_id, "address": "新申请",
                                      "members": [{"id": member, "name": "申请人"}]},
                               investigators=[inv1])
    second = survey(None, {"address": "新申请二", "members": [{"id": member, "name": "申请人"}]},
                    investigators=[inv1], previous_instance_id=made["new_first"]["instance_id"])
    response = api.as_user("inv1").post("/api/v1/submissions", json=second)
    assert response.get_json()["merge_state"] == "held", response.get_json()
    made["held"] = second["instance_id"]
    flagged = [covered(one)[0], covered(two)[0]]
    for household in flagged:
        made[f"flagged_{household.id}"] = scenario.record_edit(
            "inv1" if household in one else "inv3", household, {"address": "疑点户"})
    return made


def test_queue_counts_equal_a_plain_count(app, demo, sup2, county_work):
    """Every state count, flag count and row, for the county and a township supervisor."""
    _, flag_counts, _ = expected(demo.user("sup1"), review_queue.QueueFilters(state="all"))
    assert all(flag_counts.values()), flag_counts  # every flag is there to be counted
    assert_all_filters_match([demo.user("sup1"), sup2], demo)


def test_counts_follow_reviews(app, demo, sup2, county_work):
    """Approvals, a send-back and a rejection move the counts as a plain count says."""
    sup1 = demo.user("sup1")
    review_queue.decide(sup1, county_work["plain"], "approved", "")
    review_queue.decide(sup1, county_work["failed"], "has_issues", "核查未通过的项目请补充")
    review_queue.decide(sup1, county_work["conflict"], "rejected", "冲突")
    review_queue.decide(sup2, county_work["t2_0"], "approved", "")
    assert_all_filters_match([sup1, sup2], demo)
    # The decisions show in the counts the page reads.
    state_counts, _, _, _ = shown(sup1, review_queue.QueueFilters(state="all"))
    assert state_counts["approved"] == 2
    assert state_counts["has_issues"] == 1
    assert state_counts["rejected"] == 1


def test_closing_the_audit_entry_drops_the_audit_flag(app, demo, sup2, county_work):
    """An audit flag whose ledger entry is closed no longer marks the household."""
    sup1 = demo.user("sup1")
    before = shown(sup1, review_queue.QueueFilters(state="all", flags=("audit_flagged",)))
    assert before[3] == 4  # the two flagged households' own surveys and the earlier ones
    entry = db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.id))
    entry.state = "closed"
    db.session.commit()
    assert_all_filters_match([sup1, sup2], demo)
    after = shown(sup1, review_queue.QueueFilters(state="all", flags=("audit_flagged",)))
    assert after[3] < before[3]


def test_scope_shortcut_only_for_a_region_holding_everything(app, demo, sup2, county_work):
    """The county supervisor skips the scope filter, a township supervisor never does, and
    a second county anywhere turns the shortcut off with the same figures."""
    sup1 = demo.user("sup1")
    assert covers_everything(sup1)
    assert not covers_everything(sup2)
    assert not covers_everything(demo.user("inv1"))
    add_region(name="另一县", code="230230", level="county", parent=None)
    db.session.commit()
    assert not covers_everything(sup1)
    assert_all_filters_match([sup1], demo)


def test_township_supervisor_never_counts_township_1(console, sup2, county_work):
    """The counts and the flagged-by-audit filter stay inside township 2."""
    page = console.as_user("sup2").text("/console/queue?state=all&flag=audit_flagged")
    ids = set(re.findall(r"/console/submissions/([0-9a-f-]{36})", page))
    township_1 = {v for k, v in county_work.items()
                  if isinstance(v, str) and not k.startswith(("t2_", "flagged_"))}
    assert ids and not ids & township_1
    db.session.expire_all()
    for instance_id in ids:
        submission = db.session.scalar(
            select(Submission).where(Submission.instance_id == instance_id))
        household = db.session.get(Household, submission.household_id)
        assert household.village.parent.code == TOWNSHIP_2


def test_old_review_flags_rows_are_filled_by_the_migration(app, demo, county_work):
    """Migration 0702 fills the copied columns of the rows summarised before it."""
    from alembic import command
    from sqlalchemy import inspect, text

    from server import migrate
    from server.models import ReviewFlags

    review_queue.refresh_flags()
    db.session.remove()
    cfg = migrate.alembic_config()
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0701_scale_indexes")
    with db.engine.begin() as connection:
        assert "household_id" not in {
            c["name"] for c in inspect(connection).get_columns("review_flags")}
        assert connection.execute(text("SELECT count(*) FROM review_flags")).scalar() > 0
    migrate.upgrade(app)
    db.session.remove()
    rows = db.session.execute(
        select(ReviewFlags, Submission).join(
            Submission, Submission.id == ReviewFlags.submission_id)).all()
    assert rows
    for flags, submission in rows:
        assert flags.household_id == submission.household_id
        assert flags.review_state == submission.review_state
        assert flags.completed_at == submission.completed_at
    assert isinstance(rows[0][0].completed_at, datetime)


# --- the progress dashboard ------------------------------------------------------------------


def expected_progress(user: User, date_from: date, date_to: date) -> dict:
    """Return {village_id: figures} and the daily points, counted plainly in Python."""
    db.session.expire_all()
    scope = db.session.get(Region, user.region_id)
    offset = timedelta(hours=8)

    def in_scope(household: Household) -> bool:
        village = household.village
        return village.level == "village" and village.path.startswith(scope.path)

    def in_period(moment: datetime) -> bool:
        return date_from <= (moment + offset).date() <= date_to

    villages: dict[int, dict] = {}

    def figures(village_id: int) -> dict:
        return villages.setdefault(village_id, {
            "households": 0, "visited": 0, "submitted": 0,
            **dict.fromkeys(REVIEW_STATES, 0)})

    for household in db.session.scalars(select(Household)):
        if in_scope(household) and household.status != "closed":
            figures(household.village_id)["households"] += 1
    submitted, firsts, visited = {}, {}, {}
    for submission in db.session.scalars(select(Submission)):
        if submission.household_id is None or not in_period(submission.completed_at):
            continue
        household = db.session.get(Household, submission.household_id)
        if not in_scope(household):
            continue
        row = figures(household.village_id)
        row["submitted"] += 1
        row[submission.review_state] += 1
        day = (submission.completed_at + offset).date()
        submitted[day] = submitted.get(day, 0) + 1
        if submission.review_state != "rejected":
            visited.setdefault(household.village_id, set()).add(household.id)
            first = firsts.get(household.id)
            firsts[household.id] = day if first is None else min(first, day)
    for village_id, ids in visited.items():
        figures(village_id)["visited"] = len(ids)
    approved = {}
    for review in db.session.scalars(select(SubmissionReview)):
        submission = db.session.get(Submission, review.submission_id)
        if (review.to_state != "approved" or submission.household_id is None
                or not in_period(review.at)
                or not in_scope(db.session.get(Household, submission.household_id))):
            continue
        day = (review.at + offset).date()
        approved[day] = approved.get(day, 0) + 1
    first_days = {}
    for day in firsts.values():
        first_days[day] = first_days.get(day, 0) + 1
    daily, running, day = [], 0, date_from
    while day <= date_to:
        running += first_days.get(day, 0)
        daily.append((day, submitted.get(day, 0), approved.get(day, 0), running))
        day += timedelta(days=1)
    return {"villages": villages, "daily": daily}


def assert_progress_matches(user: User, date_from: date, date_to: date) -> None:
    """Compare the dashboard's village figures, totals and chart with the plain count."""
    db.session.expire_all()
    report = progress.report(user, date_from=date_from, date_to=date_to)
    want = expected_progress(user, date_from, date_to)
    names = ("households", "visited", "submitted", *REVIEW_STATES)
    shown_villages = {}
    for township in report.townships:
        for village in township.villages:
            shown_villages[village.village.id] = {n: getattr(village.counts, n) for n in names}
        for name in names:
            assert getattr(township.counts, name) == sum(
                getattr(v.counts, name) for v in township.villages)
    blank = dict.fromkeys(names, 0)
    for village_id in set(shown_villages) | set(want["villages"]):
        assert shown_villages.get(village_id, blank) == want["villages"].get(
            village_id, blank), (user.username, village_id)
    assert [(p.day, p.submitted, p.approved, p.visited_total) for p in report.daily] == \
        want["daily"]


def test_progress_equals_a_plain_count(app, demo, sup2, county_work):
    """Per village, per township and day by day, for the county and a township supervisor,
    before and after reviews (a rejected survey no longer counts as a visit)."""
    sup1 = demo.user("sup1")
    periods = [YEAR_OF_THE_SURVEYS, (date(2026, 5, 2), date(2026, 5, 2))]
    for user in (sup1, sup2):
        for date_from, date_to in periods:
            assert_progress_matches(user, date_from, date_to)
    review_queue.decide(sup1, county_work["plain"], "approved", "")
    review_queue.decide(sup1, county_work["failed"], "rejected", "不符合")
    review_queue.decide(sup2, county_work["t2_0"], "has_issues", "补充照片")
    for user in (sup1, sup2):
        for date_from, date_to in periods:
            assert_progress_matches(user, date_from, date_to)
    totals = progress.report(sup1, date_from=YEAR_OF_THE_SURVEYS[0],
                             date_to=YEAR_OF_THE_SURVEYS[1]).total
    assert (totals.approved, totals.rejected, totals.has_issues) == (1, 1, 1)
    add_region(name="另一县", code="230230", level="county", parent=None)
    db.session.commit()
    assert_progress_matches(sup1, *periods[0])  # the scope filter is back: same figures


def test_a_held_link_counts_once_it_lands_in_its_household(app, api, demo, sup2, county_work):
    """A held link has no household: not counted; when its chain's first link creates the
    household, both are counted (the merge moves their outcome, refreshing the summary)."""
    sup1 = demo.user("sup1")
    held = db.session.scalar(
        select(Submission).where(Submission.instance_id == county_work["held"]))
    assert held.household_id is None
    year = {"date_from": YEAR_OF_THE_SURVEYS[0], "date_to": YEAR_OF_THE_SURVEYS[1]}
    before = progress.report(sup1, **year).total.submitted
    assert_all_filters_match([sup1], demo)
    response = api.as_user("inv1").post("/api/v1/submissions", json=county_work["new_first"])
    assert response.status_code == 201, response.get_json()
    db.session.expire_all()
    assert db.session.scalar(select(Submission.household_id).where(
        Submission.instance_id == county_work["held"])) is not None
    assert_all_filters_match([sup1, sup2], demo)
    assert_progress_matches(sup1, *YEAR_OF_THE_SURVEYS)
    assert progress.report(sup1, **year).total.submitted == before + 2
