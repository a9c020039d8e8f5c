"""The review queue: submissions in scope, filtered, counted and paged in SQL; decisions.

Flags the queue filters on (open conflict, failed checks, county review, missing photos)
are kept in ReviewFlags (models/review_flags.py), brought up to date before each query from
the submissions whose outcome moved. Decisions go through services.review (the sync issue's
review state machine); this module only adds what the console asks before calling it.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import county_clock
from ..extensions import db
from ..models import (
    Conflict,
    CrosscheckFlag,
    Household,
    Region,
    ReviewFlags,
    Submission,
    SubmissionInvestigator,
    SubmissionMedia,
    User,
)
from ..models.submission import REVIEW_STATES
from . import crosscheck, review
from .errors import Invalid, NotFound, ServiceError
from .household_directory import head_name
from .pagination import Page, paginate
from .region_tree import names, village_filter
from .scope import household_condition, household_ids, scoped_households

QUEUE_FLAGS = ("open_conflict", "failed_checks", "county_review", "missing_photos",
               "audit_flagged")
SORTS = ("completed_at", "received_at", "household", "failed_checks")
REFRESH_BATCH = 500
# Decisions that send the submission back to the investigator need a reason they can read.
NEEDS_COMMENT = ("has_issues", "rejected")


@dataclass
class QueueFilters:
    """What the supervisor asked the queue for."""

    township: str | None = None
    village: str | None = None
    investigator: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    state: str | None = "received"
    flags: tuple[str, ...] = ()
    sort: str = "completed_at"
    descending: bool = False


@dataclass
class QueueRow:
    """One line of the queue."""

    submission: Submission
    flags: ReviewFlags
    household: Household
    township: str
    village: str
    head_name: str = ""
    investigators: list[str] = field(default_factory=list)
    audit_flagged: bool = False


@dataclass
class Queue:
    """A page of the queue with the counts per review state and per flag."""

    page: Page
    state_counts: dict[str, int]
    flag_counts: dict[str, int]


# --- the summary kept for filtering ----------------------------------------------------------


def summarise(
    assessment: dict | None,
    *,
    review_state: str,
    merge_state: str,
    status: str,
    missing_media: int,
    open_conflicts: int,
) -> dict:
    """Return the queue's flags of one submission (plain values, no database)."""
    assessment = assessment or {}
    failed = sum(
        1 for check in assessment.get("checks") or [] if isinstance(check, dict) and
        check.get("passed") is False
    )
    county = bool(assessment.get("county_review"))
    clean = (
        review_state == "received"
        and merge_state == "merged"
        and status == "complete"
        and failed == 0
        and not county
        and missing_media == 0
        and open_conflicts == 0
    )
    return {
        "failed_checks": failed,
        "county_review": county,
        "missing_media": missing_media,
        "open_conflicts": open_conflicts,
        "clean": clean,
    }


def _count_by_submission(query) -> dict[int, int]:
    """Run a (submission_id, count) GROUP BY over some submissions."""
    return dict(db.session.execute(query.group_by(query.selected_columns[0])).all())


def refresh_flags() -> int:
    """Summarise every submission whose outcome changed since the last refresh. Commits.

    `outcome_seq` is taken from the commit-ordered change counter, so "greater than the
    newest summarised" finds every change exactly once, through an index. Rows are read and
    written in bulk (no ORM objects): the first view of a big county summarises them all.
    """
    done = 0
    while True:
        watermark = db.session.scalar(select(func.max(ReviewFlags.outcome_seq)))
        batch = db.session.execute(
            select(
                Submission.id, Submission.outcome_seq, Submission.assessment,
                Submission.review_state, Submission.merge_state, Submission.status,
                Submission.submitted_by, Submission.investigator_ids,
                Submission.household_id, Submission.completed_at,
            )
            .where(Submission.outcome_seq > (watermark if watermark is not None else -1))
            .order_by(Submission.outcome_seq)
            .limit(REFRESH_BATCH)
        ).all()
        if not batch:
            return done
        ids = [row.id for row in batch]
        missing = _count_by_submission(
            select(SubmissionMedia.submission_id, func.count()).where(
                SubmissionMedia.submission_id.in_(ids), SubmissionMedia.received_at.is_(None)
            ),
        )
        open_counts = _count_by_submission(
            select(Conflict.submission_id, func.count()).where(
                Conflict.submission_id.in_(ids), Conflict.status == "open"
            ),
        )
        existing = set(db.session.scalars(
            select(ReviewFlags.submission_id).where(ReviewFlags.submission_id.in_(ids))))
        known = set(db.session.scalars(
            select(SubmissionInvestigator.submission_id).where(
                SubmissionInvestigator.submission_id.in_(ids))))
        inserts, updates, people = [], [], []
        for row in batch:
            values = {
                "submission_id": row.id,
                "outcome_seq": row.outcome_seq,
                "household_id": row.household_id,
                "review_state": row.review_state,
                "completed_at": row.completed_at,
                **summarise(
                    row.assessment, review_state=row.review_state,
                    merge_state=row.merge_state, status=row.status,
                    missing_media=missing.get(row.id, 0),
                    open_conflicts=open_counts.get(row.id, 0),
                ),
            }
            (updates if row.id in existing else inserts).append(values)
            if row.id not in known:
                named = {row.submitted_by} | {
                    i for i in row.investigator_ids or [] if isinstance(i, int)}
                people.extend({"submission_id": row.id, "user_id": i} for i in named)
        try:
            if inserts:
                db.session.execute(insert(ReviewFlags), inserts)
            if updates:
                db.session.execute(update(ReviewFlags), updates)
            if people:
                db.session.execute(insert(SubmissionInvestigator), people)
            db.session.commit()
        except IntegrityError:
            # Another request summarised the same submissions at the same moment.
            db.session.rollback()
        done += len(batch)


# --- reading the queue -----------------------------------------------------------------------


def _local_day_bounds(day: date, end: bool) -> datetime:
    """Return the naive-UTC instant where a local calendar day starts (or ends)."""
    return county_clock.day_start(day + timedelta(days=1) if end else day)


def _scope(user: User, filters: QueueFilters) -> list:
    """Return the scope condition on ReviewFlags: the households the user may see (a
    township or village filter only narrows it); none at all for a supervisor whose region
    holds every household, only "has a household" (household_condition). Worked out once per queue view:
    its counts and its page both use it."""
    if filters.township or filters.village:
        return [ReviewFlags.household_id.in_(
            select(Household.id).where(
                Household.village_id.in_(village_filter(user, filters.township, filters.village))
            )
        )]
    return household_condition(ReviewFlags.household_id, household_ids(user))


def _conditions(scope: list, filters: QueueFilters, *, with_state: bool,
                with_flags: bool) -> list:
    """Return the WHERE conditions on ReviewFlags (and only it) matching the filters, within
    `scope` (from `_scope`).

    The summary carries the submission's household, review state and visit time, so the
    queue counts without the submission table.
    """
    conditions = [ReviewFlags.household_id.is_not(None), *scope]
    if filters.investigator:
        conditions.append(
            ReviewFlags.submission_id.in_(
                select(SubmissionInvestigator.submission_id).where(
                    SubmissionInvestigator.user_id == filters.investigator
                )
            )
        )
    if filters.date_from:
        conditions.append(
            ReviewFlags.completed_at >= _local_day_bounds(filters.date_from, False))
    if filters.date_to:
        conditions.append(ReviewFlags.completed_at < _local_day_bounds(filters.date_to, True))
    if with_state and filters.state in REVIEW_STATES:
        conditions.append(ReviewFlags.review_state == filters.state)
    if with_flags:
        conditions.extend(_flag_condition(flag) for flag in filters.flags)
    return conditions


def _flag_condition(flag: str):
    """Return the SQL condition of one queue flag."""
    if flag == "audit_flagged":
        return ReviewFlags.household_id.in_(crosscheck.active_flag_households())
    return {
        "open_conflict": ReviewFlags.open_conflicts > 0,
        "failed_checks": ReviewFlags.failed_checks > 0,
        "county_review": ReviewFlags.county_review.is_(True),
        "missing_photos": ReviewFlags.missing_media > 0,
    }[flag]


def _counts(scope: list, filters: QueueFilters) -> tuple[dict[str, int], dict[str, int]]:
    """Return (per review state, per flag) in one GROUP BY over the summary.

    Per state: with the flag filters, not the state's; per flag: with the state filter, not
    the flags'. Grouping by state gives both: a flag's count is the sum over the states the
    filter keeps.
    """
    chosen = [_flag_condition(flag) for flag in filters.flags]
    matching = and_(*chosen) if chosen else true()
    rows = db.session.execute(
        select(
            ReviewFlags.review_state,
            func.sum(case((matching, 1), else_=0)),
            *(func.sum(case((_flag_condition(flag), 1), else_=0)) for flag in QUEUE_FLAGS),
        )
        .where(*_conditions(scope, filters, with_state=False, with_flags=False))
        .group_by(ReviewFlags.review_state)
    ).all()
    state_counts = dict.fromkeys(REVIEW_STATES, 0)
    flag_counts = dict.fromkeys(QUEUE_FLAGS, 0)
    for state, n, *per_flag in rows:
        if n:
            state_counts[state] = int(n)
        if filters.state in REVIEW_STATES and state != filters.state:
            continue
        for flag, count in zip(QUEUE_FLAGS, per_flag, strict=True):
            flag_counts[flag] += int(count or 0)
    return state_counts, flag_counts


def _sort_column(filters: QueueFilters):
    """Return the column the queue is sorted by."""
    return {
        "completed_at": ReviewFlags.completed_at,
        "received_at": Submission.received_at,
        "household": Household.code,
        "failed_checks": ReviewFlags.failed_checks,
    }.get(filters.sort, ReviewFlags.completed_at)


def _rows_in_order(filters: QueueFilters):
    """Return the select of the queue's rows (summary, submission, household) in the
    queue's order, ties broken by submission id. Rows without the sorted value (a survey
    without its completion time) come last either way, on both engines (SQLite put them
    first, PostgreSQL last): "next in queue" walks this same order (`_after`)."""
    order = _sort_column(filters)
    return (
        select(Submission, ReviewFlags, Household)
        .select_from(ReviewFlags)
        .join(Submission, Submission.id == ReviewFlags.submission_id)
        .join(Household, Household.id == ReviewFlags.household_id)
        .order_by((order.desc() if filters.descending else order.asc()).nulls_last(),
                  ReviewFlags.submission_id)
    )


def queue(user: User, filters: QueueFilters, *, page: int = 1, per_page: int = 50) -> Queue:
    """Return one page of the queue with its counts (one GROUP BY, then the page's rows)."""
    refresh_flags()
    scope = _scope(user, filters)
    state_counts, flag_counts = _counts(scope, filters)
    total = (state_counts.get(filters.state, 0) if filters.state in REVIEW_STATES
             else sum(state_counts.values()))
    result = paginate(
        _rows_in_order(filters)
        .where(*_conditions(scope, filters, with_state=True, with_flags=True))
        .options(selectinload(Household.members)),
        page, per_page, scalars=False, total=total,
    )

    people_ids = set()
    for submission, _, _ in result.items:
        people_ids.update(i for i in submission.investigator_ids or [] if isinstance(i, int))
    people = {
        u.id: u.display_name or u.username
        for u in db.session.scalars(select(User).where(User.id.in_(people_ids)))
    } if people_ids else {}
    region_names = names({h.village_id for _, _, h in result.items})
    on_page = {h.id for _, _, h in result.items}
    flagged = set(db.session.scalars(
        crosscheck.active_flag_households()
        .where(CrosscheckFlag.household_id.in_(on_page)).distinct()
    )) if on_page else set()
    result.items = [
        QueueRow(
            submission=submission,
            flags=flags,
            household=household,
            township=region_names.get(household.village_id, ("", ""))[0],
            village=region_names.get(household.village_id, ("", ""))[1],
            head_name=head_name(household),
            investigators=[
                people.get(i, str(i)) for i in submission.investigator_ids or []
            ],
            audit_flagged=household.id in flagged,
        )
        for submission, flags, household in result.items
    ]
    return Queue(page=result, state_counts=state_counts, flag_counts=flag_counts)


# --- next in queue ---------------------------------------------------------------------------


def _waiting(scope: list, filters: QueueFilters) -> list:
    """Return the conditions of a submission "next in queue" may offer: what the queue shows
    with these filters, and in the all-states view only those still waiting for a decision
    (an approved or rejected one is no next thing to decide)."""
    conditions = _conditions(scope, filters, with_state=True, with_flags=True)
    if filters.state not in REVIEW_STATES:
        conditions.append(ReviewFlags.review_state == "received")
    return conditions


def _after(column, value, submission_id: int, descending: bool):
    """Return the condition of the rows after (value, submission_id) in the queue's order
    (`_rows_in_order`: the sorted column, empty values last, then the submission id)."""
    if value is None:
        return and_(column.is_(None), ReviewFlags.submission_id > submission_id)
    return or_(
        column < value if descending else column > value,
        and_(column == value, ReviewFlags.submission_id > submission_id),
        column.is_(None),
    )


def next_in_queue(user: User, filters: QueueFilters, after: str) -> str | None:
    """Return the instance id of the submission after `after` in the queue with these
    filters and order, or None when `after` was the last one.

    Read fresh (the summary refreshed first), so a submission someone else decided since
    the queue was shown is not offered; only the user's scope is searched. `after` itself
    need not be in the queue any more (it was just decided), but must be a submission the
    user may see: NotFound otherwise, so its place in the queue says nothing.
    """
    refresh_flags()
    ids = household_ids(user)
    order = _sort_column(filters)
    anchor = db.session.execute(
        select(order, ReviewFlags.submission_id)
        .select_from(ReviewFlags)
        .join(Submission, Submission.id == ReviewFlags.submission_id)
        .join(Household, Household.id == ReviewFlags.household_id)
        .where(Submission.instance_id == str(after)[:36],
               *household_condition(ReviewFlags.household_id, ids))
    ).first()
    if anchor is None:
        raise NotFound("问卷不存在 / no such submission")
    value, anchor_id = anchor
    found = db.session.execute(
        _rows_in_order(filters)
        .with_only_columns(Submission.instance_id)
        .where(*_waiting(_scope(user, filters), filters),
               _after(order, value, anchor_id, filters.descending))
        .limit(1)
    ).scalar()
    return found


def waiting_count(user: User, filters: QueueFilters) -> int:
    """Return how many submissions "next in queue" could still offer from the start of the
    queue (those skipped on the way, once the end is reached)."""
    refresh_flags()
    return db.session.scalar(
        select(func.count()).select_from(ReviewFlags)
        .where(*_waiting(_scope(user, filters), filters))
    ) or 0


def investigators_in_scope(user: User) -> list[User]:
    """Return the investigators whose region lies in the user's scope (the queue's filter)."""
    region = db.session.get(Region, user.region_id)
    return list(
        db.session.scalars(
            select(User)
            .join(Region, Region.id == User.region_id)
            .where(User.role == "investigator", Region.path.startswith(region.path))
            .order_by(User.display_name, User.username)
        )
    )


# --- deciding --------------------------------------------------------------------------------


def decide(
    user: User, instance_id: str, state: str, comment: str, *, seen_state: str | None = None,
    ip: str | None = None
) -> Submission:
    """Record a supervisor's decision on one submission (services.review commits).

    The console asks for a comment the investigator can act on when a decision sends the
    survey back; the county-review rule lives in services.review, shared with the API.
    """
    comment = (comment or "").strip()[:2000]
    if state not in ("approved", "has_issues", "rejected"):
        raise Invalid("无效的审核结果 / unknown decision", errors={"state": ["unknown"]})
    if state in NEEDS_COMMENT and not comment:
        raise Invalid(
            "请填写意见，调查员将在手机上看到 / a comment is required: the investigator sees it",
            code="review.comment_required",
            errors={"comment": ["required"]},
        )
    return review.review(user, instance_id, state, comment, seen_state=seen_state, ip=ip)


def approve_clean(
    user: User, instance_ids: list[str], *, comment: str = "", ip: str | None = None
) -> tuple[list[str], list[str]]:
    """Approve those of the given submissions that are clean and in scope.

    Returns (approved, skipped). Each approval is its own transaction (services.review),
    so one that changed meanwhile is skipped without undoing the others.
    """
    refresh_flags()
    wanted = list(dict.fromkeys(i for i in instance_ids if isinstance(i, str)))[:500]
    clean = set(
        db.session.scalars(
            select(Submission.instance_id)
            .join(ReviewFlags, ReviewFlags.submission_id == Submission.id)
            .join(Household, Household.id == Submission.household_id)
            .where(
                Submission.instance_id.in_(wanted),
                ReviewFlags.clean.is_(True),
                Household.id.in_(scoped_households(user).with_only_columns(Household.id)),
            )
        )
    )
    approved, skipped = [], []
    for instance_id in wanted:
        if instance_id not in clean:
            skipped.append(instance_id)
            continue
        try:
            review.review(user, instance_id, "approved", comment, ip=ip)
        except ServiceError:
            db.session.rollback()
            skipped.append(instance_id)
            continue
        approved.append(instance_id)
    return approved, skipped
