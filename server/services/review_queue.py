"""The review queue: submissions in scope, filtered, counted and paged in SQL; decisions.

Flags the queue filters on (open conflict, failed checks, county review, missing photos)
are kept in ReviewFlags (models/review_flags.py), brought up to date before each query from
the submissions whose outcome moved. Decisions go through services.review (the sync issue's
review state machine); this module only adds what the console asks before calling it.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Conflict,
    Household,
    Region,
    ReviewFlags,
    Submission,
    SubmissionInvestigator,
    SubmissionMedia,
    User,
)
from ..models.submission import REVIEW_STATES
from . import review
from .errors import Invalid, ServiceError
from .household_directory import head_name
from .pagination import Page, paginate
from .region_tree import names, village_filter
from .scope import scoped_households

QUEUE_FLAGS = ("open_conflict", "failed_checks", "county_review", "missing_photos")
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
    offset = timedelta(hours=current_app.config.get("CONSOLE_UTC_OFFSET_HOURS", 8))
    moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    return moment - offset


def _filtered(user: User, filters: QueueFilters, *, with_state: bool, with_flags: bool):
    """Return the select of (Submission, ReviewFlags, Household) matching the filters."""
    query = (
        select(Submission, ReviewFlags, Household)
        .join(ReviewFlags, ReviewFlags.submission_id == Submission.id)
        .join(Household, Household.id == Submission.household_id)
        .where(Household.id.in_(scoped_households(user).with_only_columns(Household.id)))
    )
    if filters.township or filters.village:
        query = query.where(
            Household.village_id.in_(village_filter(user, filters.township, filters.village))
        )
    if filters.investigator:
        query = query.where(
            Submission.id.in_(
                select(SubmissionInvestigator.submission_id).where(
                    SubmissionInvestigator.user_id == filters.investigator
                )
            )
        )
    if filters.date_from:
        query = query.where(Submission.completed_at >= _local_day_bounds(filters.date_from, False))
    if filters.date_to:
        query = query.where(Submission.completed_at < _local_day_bounds(filters.date_to, True))
    if with_state and filters.state in REVIEW_STATES:
        query = query.where(Submission.review_state == filters.state)
    if with_flags:
        for flag in filters.flags:
            query = query.where(_flag_condition(flag))
    return query


def _flag_condition(flag: str):
    """Return the SQL condition of one queue flag."""
    return {
        "open_conflict": ReviewFlags.open_conflicts > 0,
        "failed_checks": ReviewFlags.failed_checks > 0,
        "county_review": ReviewFlags.county_review.is_(True),
        "missing_photos": ReviewFlags.missing_media > 0,
    }[flag]


def queue(user: User, filters: QueueFilters, *, page: int = 1, per_page: int = 50) -> Queue:
    """Return one page of the queue with its counts (each a single GROUP BY query)."""
    refresh_flags()
    order = {
        "completed_at": Submission.completed_at,
        "received_at": Submission.received_at,
        "household": Household.code,
        "failed_checks": ReviewFlags.failed_checks,
    }.get(filters.sort, Submission.completed_at)
    query = _filtered(user, filters, with_state=True, with_flags=True).order_by(
        order.desc() if filters.descending else order.asc(), Submission.id
    )
    result = paginate(
        query.options(selectinload(Household.members)), page, per_page, scalars=False
    )

    by_state = _filtered(user, filters, with_state=False, with_flags=True).subquery()
    state_counts = dict.fromkeys(REVIEW_STATES, 0)
    state_counts.update(
        db.session.execute(
            select(by_state.c.review_state, func.count()).group_by(by_state.c.review_state)
        ).all()
    )
    by_flag = _filtered(user, filters, with_state=True, with_flags=False).subquery()
    row = db.session.execute(
        select(
            *(
                func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
                for condition in (
                    by_flag.c.open_conflicts > 0,
                    by_flag.c.failed_checks > 0,
                    by_flag.c.county_review.is_(True),
                    by_flag.c.missing_media > 0,
                )
            )
        )
    ).one()
    flag_counts = dict(zip(QUEUE_FLAGS, (int(n) for n in row), strict=True))

    people_ids = set()
    for submission, _, _ in result.items:
        people_ids.update(i for i in submission.investigator_ids or [] if isinstance(i, int))
    people = {
        u.id: u.display_name or u.username
        for u in db.session.scalars(select(User).where(User.id.in_(people_ids)))
    }
    region_names = names({h.village_id for _, _, h in result.items})
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
        )
        for submission, flags, household in result.items
    ]
    return Queue(page=result, state_counts=state_counts, flag_counts=flag_counts)


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
    user: User, instance_id: str, state: str, comment: str, *, ip: str | None = None
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
    return review.review(user, instance_id, state, comment, ip=ip)


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
