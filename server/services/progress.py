"""Survey progress per township and village: households, visited (入户率), submitted,
approved, has issues, pass rate, against the policy's quality thresholds; day by day.

Every number is a GROUP BY over the region (never a loop over households), so the page
stays fast for a whole county. Pass rate = approved / reviewed (approved + has issues +
rejected) of the surveys in the period; the sampled pass rate is the same over the villages
and households of the sampling draws in force (Xinmi 2015 五(五): a township submits with a
pass rate of at least 96%; below 80% on the sample, all its households are surveyed again).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, func, select

from .. import county_clock
from ..domain.policy import township_quality
from ..extensions import db
from ..models import Household, Region, Submission, SubmissionReview, User
from ..models.submission import REVIEW_STATES
from . import audit, policies, sampling
from .region_tree import require_in_scope, scope_tree
from .scope import household_condition, household_ids

REVIEWED = ("approved", "has_issues", "rejected")
# Shown when a township's policy sets no threshold (Keshan 2022 sets none): the figures of
# the Xinmi notice, marked as defaults on the page.
DEFAULT_PASS_RATE = 0.96
DEFAULT_SAMPLED_PASS_RATE = 0.80


@dataclass
class Counts:
    """The figures of one village, township or the whole region."""

    households: int = 0
    visited: int = 0
    submitted: int = 0
    received: int = 0
    approved: int = 0
    has_issues: int = 0
    rejected: int = 0

    @property
    def reviewed(self) -> int:
        """Return how many surveys have a decision."""
        return self.approved + self.has_issues + self.rejected

    @property
    def visit_rate(self) -> float | None:
        """Return visited / households (入户率)."""
        return self.visited / self.households if self.households else None

    @property
    def pass_rate(self) -> float | None:
        """Return approved / reviewed."""
        return self.approved / self.reviewed if self.reviewed else None

    def add(self, other: "Counts") -> None:
        """Add another's figures to these."""
        for name in ("households", "visited", "submitted", "received", "approved",
                     "has_issues", "rejected"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Thresholds:
    """A township's quality thresholds and where they come from."""

    pass_rate: float
    sampled_pass_rate: float
    policy_id: str | None
    from_policy: bool


@dataclass
class VillageRow:
    """One village's line."""

    village: Region
    counts: Counts
    sampled: bool


@dataclass
class TownshipRow:
    """One township's line with its villages."""

    township: Region
    counts: Counts
    villages: list[VillageRow]
    thresholds: Thresholds
    sampled: Counts | None = None
    quality: dict = field(default_factory=dict)

    @property
    def below_pass_rate(self) -> bool:
        """Tell whether the submission pass rate is under the threshold."""
        rate = self.counts.pass_rate
        return rate is not None and rate < self.thresholds.pass_rate

    @property
    def resurvey(self) -> bool:
        """Tell whether the sampled pass rate says: survey every household again."""
        rate = self.sampled.pass_rate if self.sampled else None
        return rate is not None and rate < self.thresholds.sampled_pass_rate


@dataclass
class DailyPoint:
    """One day of the chart."""

    day: date
    submitted: int
    approved: int
    visited_total: int
    visit_rate: float | None


@dataclass
class Progress:
    """The whole report."""

    date_from: date
    date_to: date
    townships: list[TownshipRow]
    total: Counts
    daily: list[DailyPoint]


def _offset() -> timedelta:
    """Return the county's offset from UTC (China Standard Time unless configured)."""
    return county_clock.utc_offset()


def _bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """Return the naive-UTC instants of the local period [from, to]."""
    start = datetime.combine(date_from, time.min) - _offset()
    end = datetime.combine(date_to + timedelta(days=1), time.min) - _offset()
    return start, end


def _local_day(column):
    """Return an SQL expression of a naive-UTC time's local calendar date."""
    hours = int(_offset().total_seconds() // 3600)
    if db.engine.dialect.name == "sqlite":
        return func.date(column, f"{hours:+d} hours")
    return func.date(column + _offset())


def _thresholds(township: Region, on: date) -> Thresholds:
    """Return the township's thresholds from its policy, or the defaults."""
    policy = policies.policy_for(township.code, on)
    pass_rate = policy.submission_pass_rate if policy else None
    sampled = policy.sampled_pass_rate_min if policy else None
    return Thresholds(
        pass_rate=pass_rate if pass_rate is not None else DEFAULT_PASS_RATE,
        sampled_pass_rate=sampled if sampled is not None else DEFAULT_SAMPLED_PASS_RATE,
        policy_id=policy.id if policy else None,
        from_policy=pass_rate is not None and sampled is not None,
    )


def _per_village_and_first_day(start: datetime, end: datetime, in_scope):
    """Return the select of (village, local day of the first visit, surveys per review state,
    households visited) over the period, grouped by village and that day (None for the
    households whose surveys in the period were all rejected)."""
    state = Submission.review_state
    per_household = (
        select(
            Submission.household_id.label("household_id"),
            *(func.sum(case((state == name, 1), else_=0)).label(name) for name in REVIEW_STATES),
            func.min(case((state != "rejected", Submission.completed_at))).label("first"),
        )
        .where(Submission.completed_at >= start, Submission.completed_at < end,
               *household_condition(Submission.household_id, in_scope))
        .group_by(Submission.household_id)
        .subquery()
    )
    day = _local_day(per_household.c.first)
    return (
        select(
            Household.village_id, day,
            *(func.sum(per_household.c[name]) for name in REVIEW_STATES),
            # Visited households as the denominator counts them: closed ones are neither
            # (a rate above 100% otherwise).
            func.count(case((Household.status != "closed", per_household.c.first))),
        )
        .join(Household, Household.id == per_household.c.household_id)
        .group_by(Household.village_id, day)
    )


def report(
    user: User, *, date_from: date | None = None, date_to: date | None = None,
    township: str | None = None, ip: str | None = None,
) -> Progress:
    """Return the progress of the user's region in a period (default: this year so far),
    or of one township of it (NotFound for one outside it)."""
    require_in_scope(user, township=township)
    date_to = date_to or county_clock.today()
    date_from = date_from or date(date_to.year, 1, 1)
    start, end = _bounds(date_from, date_to)
    in_scope = household_ids(user)

    per_village: dict[int, Counts] = {}

    def counts(village_id: int) -> Counts:
        return per_village.setdefault(village_id, Counts())

    for village_id, n in db.session.execute(
        select(Household.village_id, func.count())
        .where(Household.status != "closed", *household_condition(Household.id, in_scope))
        .group_by(Household.village_id)
    ):
        counts(village_id).households = n
    # One pass over the period's submissions, household by household (from the covering
    # index on household, visit time and state): each household's surveys per state and its
    # first visit not rejected; then summed per village and day of that first visit. It gives
    # the village counts, the villages' visited households and the chart's first visits.
    firsts: dict[str, int] = {}
    for village_id, day, *by_state, visited in db.session.execute(_per_village_and_first_day(
            start, end, in_scope)):
        row = counts(village_id)
        for state, n in zip(REVIEW_STATES, by_state, strict=True):
            setattr(row, state, getattr(row, state) + int(n or 0))
            row.submitted += int(n or 0)
        row.visited += visited
        if day is not None and visited:
            firsts[str(day)] = firsts.get(str(day), 0) + visited

    sampled_villages = sampling.active_villages(user)
    always = _always_visit_counts(user, start, end)

    rows, total = [], Counts()
    for node in scope_tree(user):
        if township and node.region.code != township:
            continue
        village_rows = [
            VillageRow(v, per_village.get(v.id, Counts()), v.id in sampled_villages)
            for v in node.villages
        ]
        township_counts = Counts()
        sampled_counts = Counts()
        any_sample = False
        for village_row in village_rows:
            township_counts.add(village_row.counts)
            if village_row.sampled:
                any_sample = True
                sampled_counts.add(village_row.counts)
        extra = always.get(node.region.id)
        if extra is not None:
            any_sample = True
            sampled_counts.add(extra)
        thresholds = _thresholds(node.region, date_to)
        row = TownshipRow(node.region, township_counts, village_rows, thresholds,
                          sampled_counts if any_sample else None)
        policy = policies.policy_for(node.region.code, date_to)
        if policy is not None:
            row.quality = township_quality(
                policy, township_counts.pass_rate,
                row.sampled.pass_rate if row.sampled else None)
        rows.append(row)
        total.add(township_counts)

    daily = _daily(in_scope, date_from, date_to, start, end, total.households, firsts)
    audit.record("progress.read", actor=user, object_type="region", object_id=user.region_id,
                 ip=ip, detail={"from": date_from.isoformat(), "to": date_to.isoformat()})
    db.session.commit()
    return Progress(date_from, date_to, rows, total, daily)


def _always_visit_counts(user: User, start: datetime, end: datetime) -> dict[int, Counts]:
    """Return {township_id: Counts} of the always-visit households outside sampled villages
    (counted in SQL: one query for the households, one for their surveys of the period)."""
    always = sampling.always_visited(user).subquery()
    result = {
        township_id: Counts(households=n)
        for township_id, n in db.session.execute(
            select(always.c.township_id, func.count()).group_by(always.c.township_id))
    }
    for township_id, state, n in db.session.execute(
        select(always.c.township_id, Submission.review_state, func.count())
        .join(always, always.c.household_id == Submission.household_id)
        .where(Submission.completed_at >= start, Submission.completed_at < end)
        .group_by(always.c.township_id, Submission.review_state)
    ):
        row = result[township_id]
        row.submitted += n
        setattr(row, state, getattr(row, state) + n)
    return result


def _by_day(rows) -> dict[str, int]:
    """Return {ISO day: count} from (day, count) rows."""
    return {str(day): count for day, count in rows}


def _daily(in_scope, date_from: date, date_to: date, start: datetime, end: datetime,
           households: int, firsts: dict[str, int]) -> list[DailyPoint]:
    """Return one point per day: surveys, approvals, households visited so far, visit rate.

    `firsts`: {ISO day: households first visited that day} (from the village counts)."""
    day = _local_day(Submission.completed_at)
    # SQLite's date() gives text, PostgreSQL's a date: keys are ISO text either way.
    submitted = _by_day(db.session.execute(
        select(day, func.count())
        .where(Submission.completed_at >= start, Submission.completed_at < end,
               *household_condition(Submission.household_id, in_scope))
        .group_by(day)
    ).all())
    review_day = _local_day(SubmissionReview.at)
    approved = _by_day(db.session.execute(
        select(review_day, func.count())
        .join(Submission, Submission.id == SubmissionReview.submission_id)
        .where(SubmissionReview.to_state == "approved",
               SubmissionReview.at >= start, SubmissionReview.at < end,
               *household_condition(Submission.household_id, in_scope))
        .group_by(review_day)
    ).all())
    points, running = [], 0
    days = (date_to - date_from).days + 1
    for offset in range(max(0, min(days, 366))):
        current = date_from + timedelta(days=offset)
        key = current.isoformat()
        running += firsts.get(key, 0)
        points.append(DailyPoint(
            day=current, submitted=submitted.get(key, 0), approved=approved.get(key, 0),
            visited_total=running, visit_rate=running / households if households else None,
        ))
    return points
