"""The review calendar: covered households due for their periodic review (定期核查).

Keshan's plan (四(五)): every covered household is reviewed once a year, every six months
when its income is unstable, a member is able to work, or it is separately registered (a
staff or committee member's relative). The interval is the policy's (domain/policy.py:
`review_flags`, `next_review_on`); this module only applies it to the master record:

- the last review is the visit day of the household's last survey that reached the record
  (else the day it was registered);
- the computed due date is that day plus the policy's interval for the household as it is
  recorded now (with the last survey's answer on unstable income);
- a date already recorded on the household (`next_review_on`, set by the last assessment or
  carried over from the previous system) counts when it is earlier.

Households are listed by township and village, overdue first, each with the investigator
assigned (if any). Assigning marks the household for that investigator in the app.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import county_clock
from ..domain import policy as policy_rules
from ..domain.assessment import facts_from_record
from ..extensions import MAX_DB_INT, db
from ..models import Household, Region, ReviewAssignment, Submission, User
from ..models.clock import utcnow
from . import audit, ledger, policies
from .errors import Forbidden, Invalid, NotFound
from .household_record import to_record
from .region_tree import village_filter
from .scope import covers_region, covers_village, region_ids_under, scoped_households

REVIEWED_STATUSES = ("covered",)
MAX_WINDOW_DAYS = 400


@dataclass
class ReviewDue:
    """One household's place in the calendar."""

    household_id: int
    household_code: str
    township_code: str
    township: str
    village_code: str
    village: str
    due_on: date
    overdue: bool
    days_overdue: int
    interval_months: int | None
    reasons: list[str]
    basis: str  # "recorded" | "computed"
    last_reviewed_on: date | None
    assigned_to: int | None = None
    assigned_name: str | None = None


def last_surveys(household_ids: list[int]) -> dict[int, Submission]:
    """Return each household's newest survey that reached the record."""
    newest = (
        select(func.max(Submission.id))
        .where(Submission.household_id.in_(household_ids), Submission.merge_state == "merged")
        .group_by(Submission.household_id)
    )
    return {
        s.household_id: s
        for s in db.session.scalars(select(Submission).where(Submission.id.in_(newest)))
    }


def visit_day(submission: Submission) -> date:
    """Return the day a survey was made: the day it was assessed for, else completed."""
    assessed = (submission.assessment or {}).get("assessed_for")
    if isinstance(assessed, str):
        try:
            return date.fromisoformat(assessed)
        except ValueError:
            pass
    return county_clock.day_of(submission.completed_at or submission.received_at)


def review_schedule(household: Household, survey: Submission | None, today: date) -> dict:
    """Return when a household is due: {"due_on", "basis", "interval_months", "reasons",
    "last_reviewed_on"}, by the policy in force for its village."""
    last = visit_day(survey) if survey else county_clock.day_of(household.created_at)
    policy = policies.policy_for(household.village.code, today)
    computed = interval = None
    reasons: list[str] = []
    if policy is not None:
        answers = survey.answers if survey else {}
        facts = facts_from_record(to_record(household), answers or {}, last)
        flags = policy_rules.review_flags(facts)
        reasons = [name for name in policy.review_short_when if flags.get(name)]
        interval = policy.review_short_months if reasons else policy.review_months
        computed = policy_rules.next_review_on(policy, last, flags)
    recorded = household.next_review_on
    if recorded is not None and (computed is None or recorded <= computed):
        due, basis = recorded, "recorded"
    else:
        due, basis = computed, "computed"
    return {
        "due_on": due,
        "basis": basis,
        "interval_months": interval,
        "reasons": reasons,
        "last_reviewed_on": last if survey else None,
    }


def calendar(
    user: User,
    *,
    within_days: int = 30,
    township_code: str | None = None,
    village_code: str | None = None,
    assigned_to: int | None = None,
    today: date | None = None,
    ip: str | None = None,
) -> dict:
    """Return the covered households in scope due within `within_days`, overdue first."""
    if not 0 <= within_days <= MAX_WINDOW_DAYS:
        raise Invalid(
            "天数超出范围 / within_days out of range",
            errors={"within_days": [f"0..{MAX_WINDOW_DAYS}"]},
        )
    today = today or county_clock.today()
    until = today + timedelta(days=within_days)
    query = scoped_households(user).where(Household.status.in_(REVIEWED_STATUSES))
    if township_code or village_code:
        query = query.where(
            Household.village_id.in_(village_filter(user, township_code, village_code))
        )
    if assigned_to is not None:
        query = query.where(
            Household.id.in_(
                select(ReviewAssignment.household_id).where(
                    ReviewAssignment.investigator_id == assigned_to
                )
            )
        )
    households = db.session.scalars(
        query.options(
            selectinload(Household.village).selectinload(Region.parent),
            selectinload(Household.members),
            selectinload(Household.supporters),
            selectinload(Household.incomes),
            selectinload(Household.assets),
        )
    ).all()
    ids = [h.id for h in households]
    surveys = last_surveys(ids)
    assignments = {
        a.household_id: a
        for a in db.session.scalars(
            select(ReviewAssignment)
            .where(ReviewAssignment.household_id.in_(ids))
            .options(selectinload(ReviewAssignment.investigator))
        )
    }
    due = []
    for household in households:
        schedule = review_schedule(household, surveys.get(household.id), today)
        if schedule["due_on"] is None or schedule["due_on"] > until:
            continue
        assignment = assignments.get(household.id)
        township = household.village.parent
        due.append(
            ReviewDue(
                household_id=household.id,
                household_code=household.code,
                township_code=township.code if township else "",
                township=township.name if township else "",
                village_code=household.village.code,
                village=household.village.name,
                overdue=schedule["due_on"] < today,
                days_overdue=max(0, (today - schedule["due_on"]).days),
                assigned_to=assignment.investigator_id if assignment else None,
                assigned_name=assignment.investigator.display_name if assignment else None,
                **schedule,
            )
        )
    due.sort(key=lambda d: (d.due_on, d.township_code, d.village_code, d.household_code))
    audit.record(
        "review.calendar",
        actor=user,
        object_type="household",
        object_id="*",
        ip=ip,
        detail={"count": len(due), "within_days": within_days},
    )
    db.session.commit()
    return {"today": today, "until": until, "households": due}


def assign(
    user: User, household_ids: list[int], investigator_id: int | None, *, ip: str | None = None
) -> int:
    """Assign households' reviews to an investigator (None: unassign). Commits.

    The supervisor's scope must cover every household, and the investigator's too: an
    investigator is only ever sent where their phone downloads.
    """
    ledger.require_supervisor(user)
    investigator = None
    if investigator_id is not None:
        investigator = (
            db.session.get(User, investigator_id) if investigator_id <= MAX_DB_INT else None
        )
        if (
            investigator is None
            or investigator.role != "investigator"
            or not investigator.active
            # One outside the supervisor's region is none of theirs (their list offers only
            # those of the region, investigators_in_scope): unknown, not "outside the
            # investigator's region", which would tell another county's ids apart.
            or not covers_region(user, investigator.region_id)
        ):
            raise NotFound("调查员不存在 / no such investigator")
    households = db.session.scalars(
        select(Household).where(
            Household.id.in_([i for i in household_ids if 0 < i <= MAX_DB_INT])
        )
    ).all()
    if len(households) != len(set(household_ids)):
        raise NotFound("户不存在 / no such household")
    outside = [h.code for h in households if not covers_village(user, h.village_id)]
    if outside:
        raise Forbidden(
            "此户不在您的负责范围内 / household outside your region",
            code="scope.forbidden",
            errors={"household_ids": outside},
        )
    if investigator is not None:
        away = [h.code for h in households if not covers_village(investigator, h.village_id)]
        if away:
            raise Invalid(
                "调查员负责范围之外的户不能分配给他 / household outside the investigator's region",
                errors={"household_ids": away},
            )
    existing = {
        a.household_id: a
        for a in db.session.scalars(
            select(ReviewAssignment).where(
                ReviewAssignment.household_id.in_([h.id for h in households])
            )
        )
    }
    changed = []
    for household in households:
        current = existing.get(household.id)
        if investigator is None:
            if current is not None:
                db.session.delete(current)
                changed.append(household.id)
        elif current is None:
            db.session.add(
                ReviewAssignment(
                    household_id=household.id, investigator_id=investigator.id, assigned_by=user.id
                )
            )
            changed.append(household.id)
        elif current.investigator_id != investigator.id:
            current.investigator_id = investigator.id
            current.assigned_by = user.id
            current.assigned_at = utcnow()
            changed.append(household.id)
    audit.record(
        "review.assign",
        actor=user,
        object_type="household",
        object_id="*",
        ip=ip,
        detail={"households": sorted(changed), "investigator_id": investigator_id},
    )
    ledger.mark_changed(changed)
    db.session.commit()
    return len(changed)


def investigators_in_scope(user: User) -> list[User]:
    """Return the active investigators working inside the user's region, by name."""
    region = db.session.get(Region, user.region_id)
    return db.session.scalars(
        select(User)
        .where(
            User.role == "investigator",
            User.active.is_(True),
            User.region_id.in_(region_ids_under(region)),
        )
        .order_by(User.display_name, User.username)
    ).all()
