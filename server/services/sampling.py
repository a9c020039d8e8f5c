"""Sampling draws (抽查): whole villages at random, at least the policy's share of each
township, plus the households that must always be visited; and the assignments this puts
on investigators' phones.

A draw is reproducible: for each township, ``random.Random(f"{seed}:{township code}")``
samples k of the township's village codes sorted, with k = ceil(share × villages). The seed,
the candidates and the result are recorded (SamplingRun.params), so `redraw` recomputes it
and anyone can check that nobody chose the villages by hand (Xinmi 2015, 五(一): not less
than 30% of villages, whole villages, every household of a sampled village; relatives of
staff and committee members, disputed and reported cases always visited).
"""

import math
import random
import secrets
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from .. import county_clock
from ..extensions import db
from ..models import Household, Region, SampleHousehold, SampleVillage, SamplingRun, User
from ..models.sampling import SAMPLE_REASONS
from . import audit, policies
from .errors import Forbidden, Invalid, NotFound
from .scope import scoped_households, village_ids

ALGORITHM = "python-random.sample/v1: Random(f'{seed}:{township_code}').sample(sorted codes, k)"
MAX_SEED_LENGTH = 64


@dataclass
class TownshipPlan:
    """One township's part of a draw."""

    township: Region
    policy_id: str | None
    policy_share: float
    candidates: list[str] = field(default_factory=list)
    drawn: list[str] = field(default_factory=list)


def villages_to_draw(count: int, share: float) -> int:
    """Return how many whole villages a share of `count` needs (rounded up, at least one)."""
    if count == 0:
        return 0
    return min(count, max(1, math.ceil(count * share - 1e-9)))


def draw_villages(seed: str, township_code: str, candidates: list[str], k: int) -> list[str]:
    """Return the k village codes the seed draws from a township's candidates (sorted)."""
    rng = random.Random(f"{seed}:{township_code}")
    return sorted(rng.sample(sorted(candidates), k))


def may_draw(user: User) -> bool:
    """Tell whether the user may draw: a draw is a whole township's (or the county's), and
    the newest draw of a township is the one in force, so only a user whose region holds
    whole townships may make one (not the supervisor of one village)."""
    region = db.session.get(Region, user.region_id)
    return region is not None and region.level != "village"


def _townships(user: User, region_code: str) -> list[Region]:
    """Return the townships of a region that lie wholly in the user's region (the region
    itself if a township)."""
    region = db.session.scalar(select(Region).where(Region.code == region_code))
    if region is None or region.level == "village":
        raise NotFound("地区不存在 / no such township or county")
    own = db.session.get(Region, user.region_id)
    visible = select(Region.parent_id).where(Region.id.in_(village_ids(user)))
    townships = db.session.scalars(
        select(Region)
        .where(Region.level == "township", Region.id.in_(visible),
               Region.path.startswith(region.path), Region.path.startswith(own.path))
        .order_by(Region.code)
    ).all()
    if not townships:
        raise NotFound("地区不存在或不在您的范围内 / no such region in your scope")
    return list(townships)


def plan(user: User, region_code: str, *, on: date | None = None) -> list[TownshipPlan]:
    """Return each township of the region with its policy's share and candidate villages."""
    on = on or county_clock.today()
    plans = []
    for township in _townships(user, region_code):
        policy = policies.policy_for(township.code, on)
        codes = db.session.scalars(
            select(Region.code)
            .where(Region.parent_id == township.id, Region.id.in_(village_ids(user)))
            .order_by(Region.code)
        ).all()
        plans.append(
            TownshipPlan(
                township=township,
                policy_id=policy.id if policy else None,
                policy_share=policy.sampling_village_share if policy else 1.0,
                candidates=list(codes),
            )
        )
    return plans


def draw(
    user: User,
    region_code: str,
    *,
    seed: str | None = None,
    share: float | None = None,
    reported: list[str] | None = None,
    note: str = "",
    ip: str | None = None,
) -> SamplingRun:
    """Draw and record a sample over a township or the whole county in scope. Commits.

    `share` may raise the policy's share, never lower it. `reported` lists the codes of
    households reported (举报) that must be visited whatever the draw.
    """
    if not may_draw(user):
        raise Forbidden(
            "抽查由乡镇或县级督导员抽取 / draws are made by township or county supervisors",
            code="sampling.forbidden",
        )
    plans = plan(user, region_code)
    seed = (seed or "").strip() or secrets.token_hex(8)
    if len(seed) > MAX_SEED_LENGTH:
        raise Invalid("种子太长 / seed too long", errors={"seed": [f"at most {MAX_SEED_LENGTH}"]})
    floor = max(p.policy_share for p in plans)
    if share is None:
        share = floor
    if not 0 < share <= 1:
        raise Invalid("比例须在0到1之间 / share must be in (0, 1]", errors={"share": ["(0, 1]"]})
    if share + 1e-9 < floor:
        raise Invalid(
            f"不得低于政策规定的 {floor:.0%} / at least the policy's {floor:.0%}",
            code="sampling.share_below_policy",
            errors={"share": [f">= {floor}"]},
        )
    reported_households = _reported(user, reported or [], {p.township.id for p in plans})
    region = db.session.scalar(select(Region).where(Region.code == region_code))
    run = SamplingRun(
        region_id=region.id,
        policy_id=",".join(sorted({p.policy_id for p in plans if p.policy_id})) or None,
        village_share=share,
        seed=seed,
        note=note.strip()[:2000] or None,
        drawn_by=user.id,
    )
    params = {"algorithm": ALGORITHM, "townships": {}, "reported": []}
    for township_plan in plans:
        k = villages_to_draw(len(township_plan.candidates), share)
        township_plan.drawn = draw_villages(seed, township_plan.township.code,
                                            township_plan.candidates, k)
        params["townships"][township_plan.township.code] = {
            "candidates": township_plan.candidates,
            "k": k,
            "drawn": township_plan.drawn,
            "policy_id": township_plan.policy_id,
            "policy_share": township_plan.policy_share,
        }
        villages = db.session.scalars(
            select(Region).where(Region.code.in_(township_plan.drawn))
        ).all()
        run.villages.extend(
            SampleVillage(township_id=township_plan.township.id, village_id=v.id)
            for v in villages
        )
    township_ids = {p.township.id for p in plans}
    always = _always_visit(user, township_ids, plans)
    for household, reason in [*always, *((h, "reported") for h in reported_households)]:
        run.households.append(
            SampleHousehold(
                township_id=household.village.parent_id, household_id=household.id,
                reason=reason,
            )
        )
    params["reported"] = sorted(h.code for h in reported_households)
    run.params = params
    db.session.add(run)
    db.session.flush()
    audit.record(
        "sampling.draw",
        actor=user,
        object_type="sampling_run",
        object_id=run.id,
        ip=ip,
        detail={"region": region_code, "seed": seed, "share": share,
                "villages": sum(len(t["drawn"]) for t in params["townships"].values()),
                "households": len(run.households)},
    )
    db.session.commit()
    return run


def _reported(user: User, codes: list[str], township_ids: set[int]) -> list[Household]:
    """Return the households of the reported codes; every code must be in the drawn region."""
    wanted = sorted({c.strip() for c in codes if c and c.strip()})
    if not wanted:
        return []
    found = db.session.scalars(
        scoped_households(user)
        .where(Household.code.in_(wanted))
        .options(joinedload(Household.village))
    ).all()
    found = [h for h in found if h.village.parent_id in township_ids]
    missing = sorted(set(wanted) - {h.code for h in found})
    if missing:
        raise Invalid(
            "以下户编号不存在或不在抽查范围内 / unknown household codes: " + ", ".join(missing),
            errors={"reported": missing},
        )
    return found


def _always_visit(user: User, township_ids: set[int], plans: list[TownshipPlan]):
    """Return (household, reason) for the households the policy says are always visited."""
    reasons = set()
    for township_plan in plans:
        policy = policies.policy_for(township_plan.township.code, county_clock.today())
        reasons |= set(policy.sampling_always_visit) if policy else {"staff_relative", "disputed"}
    in_townships = select(Region.id).where(Region.parent_id.in_(township_ids))
    found = []
    for reason, column in (("staff_relative", Household.staff_relative),
                           ("disputed", Household.disputed)):
        if reason not in reasons:
            continue
        found.extend(
            (h, reason)
            for h in db.session.scalars(
                scoped_households(user)
                .where(column.is_(True), Household.village_id.in_(in_townships))
                .options(joinedload(Household.village))
                .order_by(Household.code)
            )
        )
    return found


def redraw(run: SamplingRun) -> dict[str, list[str]]:
    """Recompute a recorded draw from its seed and candidates: {township code: villages}."""
    return {
        code: draw_villages(run.seed, code, part["candidates"], part["k"])
        for code, part in (run.params or {}).get("townships", {}).items()
    }


def verify(run: SamplingRun) -> bool:
    """Tell whether the recorded villages are exactly what the seed draws."""
    recorded = {code: part["drawn"] for code, part in run.params.get("townships", {}).items()}
    return recorded == redraw(run)


def _visible_townships(user: User) -> Select:
    """Return the select of the ids of the townships with a village in the user's scope."""
    return select(Region.parent_id).where(Region.id.in_(village_ids(user)))


def _touching(user: User):
    """Return the select of the ids of draws touching the user's scope: drawing in a
    township with a village in scope (what of it they see: RunInScope)."""
    return select(SampleVillage.run_id).where(
        SampleVillage.township_id.in_(_visible_townships(user))
    )


@dataclass
class RunInScope:
    """A draw as a user may see it: a draw over a county or township touches townships and
    villages outside a township's or a village's supervisor's scope, and of those they see
    nothing but their township's own figures (k, how many villages it drew; its policy).

    `townships`: {township code: part of run.params["townships"]} of the townships with a
    village in scope, their candidates and drawn codes narrowed to the user's villages;
    `villages`: the drawn villages (SampleVillage, with .village) in the user's villages;
    `households`: the always-visited households (SampleHousehold, with .household) in the
    user's villages.
    """

    run: SamplingRun
    townships: dict[str, dict] = field(default_factory=dict)
    villages: list[SampleVillage] = field(default_factory=list)
    households: list[SampleHousehold] = field(default_factory=list)


def _in_scope(user: User, found: list[SamplingRun]) -> list[RunInScope]:
    """Return each draw as the user may see it: its villages and households narrowed to the
    user's villages in the database (a query for each, not for each draw)."""
    if not found:
        return []
    ids = [run.id for run in found]
    village_codes = set(db.session.scalars(
        select(Region.code).where(Region.id.in_(village_ids(user)))))
    township_codes = set(db.session.scalars(
        select(Region.code).where(Region.id.in_(_visible_townships(user)))))
    views = {run.id: RunInScope(run) for run in found}
    for run in found:
        for code, part in (run.params or {}).get("townships", {}).items():
            if code in township_codes:
                views[run.id].townships[code] = {
                    **part,
                    "candidates": [c for c in part["candidates"] if c in village_codes],
                    "drawn": [c for c in part["drawn"] if c in village_codes],
                }
    for village in db.session.scalars(
        select(SampleVillage)
        .where(SampleVillage.run_id.in_(ids), SampleVillage.village_id.in_(village_ids(user)))
        .options(joinedload(SampleVillage.village))
        .order_by(SampleVillage.id)
    ):
        views[village.run_id].villages.append(village)
    for sample in db.session.scalars(
        select(SampleHousehold)
        .join(Household, Household.id == SampleHousehold.household_id)
        .where(SampleHousehold.run_id.in_(ids), Household.village_id.in_(village_ids(user)))
        .options(joinedload(SampleHousehold.household))
        .order_by(SampleHousehold.id)
    ):
        views[sample.run_id].households.append(sample)
    return [views[run.id] for run in found]


def runs(user: User, limit: int = 20) -> list[RunInScope]:
    """Return the recent draws touching the user's scope, newest first, each as the user may
    see it (RunInScope: its villages and households in the user's villages)."""
    found = db.session.scalars(
        select(SamplingRun)
        .where(SamplingRun.id.in_(_touching(user)))
        .options(joinedload(SamplingRun.region))
        .order_by(SamplingRun.id.desc())
        .limit(limit)
    ).all()
    return _in_scope(user, list(found))


def get_run(user: User, run_id: int) -> RunInScope:
    """Return a draw that touches the user's scope, as the user may see it (RunInScope: its
    townships in scope, and its villages and households in the user's villages)."""
    run = db.session.scalar(
        select(SamplingRun).where(SamplingRun.id == run_id)
        .options(joinedload(SamplingRun.region))
    )
    # Checked directly (one query), however old the draw.
    if run is None or db.session.scalar(
            _touching(user).where(SampleVillage.run_id == run_id).limit(1)) is None:
        raise NotFound("抽查记录不存在 / no such draw")
    return _in_scope(user, [run])[0]


# --- the draw in force and the assignments it makes ----------------------------------------


def _active_runs():
    """Return a select of (township_id, run_id) of the newest draw per township."""
    return select(SampleVillage.township_id, func.max(SampleVillage.run_id).label("run_id")) \
        .group_by(SampleVillage.township_id)


def _in_force(model: type[SampleVillage] | type[SampleHousehold], *columns) -> Select:
    """Return a select of `columns` over the rows of `model` (SampleVillage or
    SampleHousehold) that belong to the draws in force: joined to each township's newest
    draw (`_active_runs`) on township and draw."""
    active = _active_runs().subquery()
    return select(*columns).join(
        active, (active.c.township_id == model.township_id) & (active.c.run_id == model.run_id))


def active_villages(user: User) -> dict[int, int]:
    """Return {village_id: run_id} of the villages sampled by the draws in force, in scope."""
    rows = db.session.execute(
        _in_force(SampleVillage, SampleVillage.village_id, SampleVillage.run_id)
        .where(SampleVillage.village_id.in_(village_ids(user)))
    ).all()
    return {village_id: run_id for village_id, run_id in rows}


def assignments(user: User) -> list[dict]:
    """Return the households the draws in force ask to visit, in the user's scope.

    ``[{"household_id", "household_code", "village_id", "reasons": [...], "sample_id"}]``:
    every household of a sampled village (reason ``sampled_village``) and every household
    the policy always visits (``staff_relative``, ``disputed``, ``reported``).
    """
    villages = active_villages(user)
    found: dict[int, dict] = {}
    if villages:
        for household_id, code, village_id in db.session.execute(
            scoped_households(user)
            .where(Household.village_id.in_(list(villages)), Household.status != "closed")
            .with_only_columns(Household.id, Household.code, Household.village_id)
            .order_by(Household.code)
        ):
            found[household_id] = {
                "household_id": household_id, "household_code": code, "village_id": village_id,
                "reasons": ["sampled_village"], "sample_id": villages[village_id],
            }
    rows = db.session.execute(
        _in_force(SampleHousehold, SampleHousehold, Household.code, Household.village_id)
        .join(Household, Household.id == SampleHousehold.household_id)
        .where(Household.id.in_(scoped_households(user).with_only_columns(Household.id)))
        .order_by(Household.code)
    ).all()
    for row, code, village_id in rows:
        entry = found.setdefault(row.household_id, {
            "household_id": row.household_id, "household_code": code, "village_id": village_id,
            "reasons": [], "sample_id": row.run_id,
        })
        if row.reason not in entry["reasons"]:
            entry["reasons"].append(row.reason)
    return sorted(found.values(), key=lambda e: e["household_code"])


def always_visited(user: User) -> Select:
    """Return a select of (household_id, township_id), once per household: the households
    in the user's scope that the draws in force always visit outside the villages they drew,
    each under the township of its draw."""
    drawn = _in_force(SampleVillage, SampleVillage.village_id)
    return (
        _in_force(SampleHousehold, SampleHousehold.household_id,
                  func.min(SampleHousehold.township_id).label("township_id"))
        .join(Household, Household.id == SampleHousehold.household_id)
        .where(Household.village_id.in_(village_ids(user)),
               Household.village_id.not_in(drawn))
        .group_by(SampleHousehold.household_id)
    )


def reasons_for(household: Household) -> list[str]:
    """Return why the draws in force ask to visit this household (empty: not asked)."""
    reasons = []
    drawn = db.session.scalar(
        _in_force(SampleVillage, SampleVillage.id)
        .where(SampleVillage.village_id == household.village_id)
        .limit(1)
    )
    if drawn is not None:
        reasons.append("sampled_village")
    for reason in db.session.scalars(
        _in_force(SampleHousehold, SampleHousehold.reason)
        .where(SampleHousehold.household_id == household.id)
    ):
        if reason not in reasons:
            reasons.append(reason)
    return [r for r in SAMPLE_REASONS if r in reasons]

