"""Local 低保 policy as data, and the money rules computed from it.

A policy (forms/policies/*.yaml) holds one region's standards and rules from one effective
date: urban and rural standards with their unit and reference period, counted and excluded
income categories, the benefit rule (difference, floor, or class ratios), the near-poverty
multiple, support imputation, review intervals, sampling and quality thresholds, and the
disqualifiers it applies. Nothing numeric lives in code (docs/domain.md).

The money part is computed identically by pwa/js/policy.js (same order of operations, same
rounding) so the investigator sees the server's numbers before submitting; the shared
vectors in forms/vectors/assessment.json hold both to that. The steps follow how a person
writes the calculation on paper: household income rounded to the fen, per-capita income
rounded to the fen, then the benefit from that per-capita figure, rounded to the fen.
"""

import calendar
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

UNITS = ("month", "year")
REFERENCE_PERIODS = ("current_month", "previous_year")
BENEFIT_RULES = ("difference", "class_ratio")
REVIEW_FLAGS = ("unstable_income", "able_to_work", "separately_registered")
CASE_FLAGS = ("staff_relative", "disputed", "reported")
WORK_ABLE = ("full", "partial")


class PolicyError(ValueError):
    """A policy file does not describe a usable policy; `errors` lists each problem."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class AreaRule:
    """The standard and benefit rule for urban or rural households."""

    standard: float
    unit: str
    reference_period: str
    benefit: str
    class_ratios: dict[str, float]
    rule: str


@dataclass(frozen=True)
class Disqualifier:
    """One disqualifier: a yes/no question whose "yes" is a hit, with its rule and reason."""

    question: str
    rule: str
    reason: dict


@dataclass(frozen=True)
class SixNoItem:
    """One 六不批 item: a yes/no question hit on "yes", or a choice that must be ticked."""

    question: str
    reason: dict
    missing_choice: str | None = None


@dataclass(frozen=True)
class Policy:
    """One region's 低保 policy from an effective date (see module docstring)."""

    id: str
    title: dict
    source: dict
    regions: tuple[str, ...]
    effective_from: date
    effective_to: date | None
    areas: dict[str, AreaRule]
    money_decimals: int = 2
    benefit_paid_per: str = "month"
    benefit_floor_share: float | None = None
    benefit_rule: str = ""
    near_poverty_multiplier: float = 1.5
    counted_income: tuple[str, ...] = ()
    excluded_income: tuple[str, ...] = ()
    deductible_spending: tuple[str, ...] = ()
    income_rule: str = ""
    support_threshold_multiplier: float | None = None
    support_share: float = 1.0
    support_rule: str = ""
    review_months: int = 12
    review_short_months: int = 6
    review_short_when: tuple[str, ...] = ()
    review_rule: str = ""
    sampling_village_share: float = 1.0
    sampling_always_visit: tuple[str, ...] = ()
    sampling_rule: str = ""
    submission_pass_rate: float | None = None
    sampled_pass_rate_min: float | None = None
    quality_rule: str = ""
    photo_max_distance_m: float = 500.0
    county_review_when: tuple[str, ...] = ()
    county_review_rule: str = ""
    disqualifiers: tuple[Disqualifier, ...] = ()
    six_no_items: tuple[SixNoItem, ...] = ()
    six_no_rule: str = ""
    raw: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data: dict) -> "Policy":
        """Build a policy from its YAML/JSON data; raise PolicyError listing every problem."""
        return _PolicyReader(data).read()

    def area(self, area_type: str) -> AreaRule:
        """Return the rule for "urban" or "rural"; raise KeyError for an area it lacks."""
        return self.areas[area_type]

    def applies_to(self, region_code: str, on: date) -> bool:
        """Tell whether the policy covers a region code (by prefix) on a date."""
        in_force = self.effective_from <= on and (self.effective_to is None
                                                   or on <= self.effective_to)
        return in_force and any(region_code.startswith(code) for code in self.regions)


class _PolicyReader:
    """Reads policy data field by field, collecting every problem before failing."""

    def __init__(self, data: Any):
        self.data = data if isinstance(data, dict) else {}
        self.errors: list[str] = [] if isinstance(data, dict) else ["a policy must be a mapping"]

    def get(self, path: str, kinds: tuple, default: Any = None, required: bool = False) -> Any:
        """Return the value at a path (``a.b``, ``a[0].b``) if it has one of `kinds`."""
        value = _walk(self.data, path)
        if value is None:
            if required:
                self.errors.append(f"{path}: required")
            return default
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            self.errors.append(f"{path}: expected {' or '.join(k.__name__ for k in kinds)}")
            return default
        return value

    def share(self, path: str, default: float | None, required: bool = False) -> float | None:
        """Return a fraction between 0 and 1 (inclusive) at a path."""
        value = self.get(path, (int, float), default, required)
        if value is not None and not 0 <= value <= 1:
            self.errors.append(f"{path}: must be between 0 and 1")
        return value

    def date_at(self, path: str, required: bool) -> date | None:
        """Return an ISO date at a path."""
        value = self.get(path, (str, date), None, required)
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                self.errors.append(f"{path}: not an ISO date (YYYY-MM-DD)")
                return None
        return value

    def strings(self, path: str) -> tuple[str, ...]:
        """Return a list of strings at a path (empty when absent)."""
        value = self.get(path, (list,), [])
        if not all(isinstance(v, str) for v in value):
            self.errors.append(f"{path}: must be a list of strings")
            return ()
        return tuple(value)

    def text(self, path: str, required: bool = False) -> dict:
        """Return a {"zh", "en"} text at a path."""
        value = self.get(path, (dict,), {}, required)
        if value and not all(isinstance(value.get(k), str) and value.get(k) for k in ("zh", "en")):
            self.errors.append(f"{path}: needs zh and en text")
        return value

    def areas(self) -> dict[str, AreaRule]:
        """Return the urban/rural area rules."""
        areas = {}
        for name in self.get("areas", (dict,), {}, required=True):
            if name not in ("urban", "rural"):
                self.errors.append(f"areas.{name}: only urban and rural")
                continue
            prefix = f"areas.{name}"
            standard = self.get(f"{prefix}.standard", (int, float), 0, required=True)
            if standard <= 0:
                self.errors.append(f"{prefix}.standard: must be positive")
            unit = self.get(f"{prefix}.unit", (str,), "month", required=True)
            period = self.get(f"{prefix}.reference_period", (str,), "current_month", True)
            benefit = self.get(f"{prefix}.benefit", (str,), "difference", required=True)
            ratios = self.get(f"{prefix}.class_ratios", (dict,), {})
            for label, wanted in (("unit", (unit, UNITS)), ("reference_period",
                                  (period, REFERENCE_PERIODS)), ("benefit", (benefit,
                                  BENEFIT_RULES))):
                if wanted[0] not in wanted[1]:
                    self.errors.append(f"{prefix}.{label}: one of {', '.join(wanted[1])}")
            if benefit == "class_ratio" and not ratios:
                self.errors.append(f"{prefix}.class_ratios: required for benefit class_ratio")
            for key in ratios:
                self.share(f"{prefix}.class_ratios.{key}", None, required=True)
            areas[name] = AreaRule(float(standard), unit, period, benefit,
                                   {str(k): float(v) for k, v in ratios.items()
                                    if isinstance(v, int | float)},
                                   self.get(f"{prefix}.rule", (str,), "", required=True))
        if not areas:
            self.errors.append("areas: needs urban or rural")
        return areas

    def flags(self, path: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        """Return a list of known flag names at a path."""
        values = self.strings(path)
        for value in values:
            if value not in allowed:
                self.errors.append(f"{path}: unknown {value!r} (one of {', '.join(allowed)})")
        return values

    def disqualifiers(self) -> tuple[Disqualifier, ...]:
        """Return the disqualifier list."""
        result = []
        for index, _ in enumerate(self.get("disqualifiers", (list,), [])):
            prefix = f"disqualifiers[{index}]"
            result.append(Disqualifier(
                question=self.get(f"{prefix}.question", (str,), "", required=True),
                rule=self.get(f"{prefix}.rule", (str,), "", required=True),
                reason=self.text(f"{prefix}.reason", required=True)))
        return tuple(result)

    def six_no(self) -> tuple[SixNoItem, ...]:
        """Return the 六不批 items (none when the policy has no such list)."""
        result = []
        for index, _ in enumerate(self.get("six_no.items", (list,), [])):
            prefix = f"six_no.items[{index}]"
            result.append(SixNoItem(
                question=self.get(f"{prefix}.question", (str,), "", required=True),
                reason=self.text(f"{prefix}.reason", required=True),
                missing_choice=self.get(f"{prefix}.missing_choice", (str,), None)))
        return tuple(result)

    def read(self) -> Policy:
        """Read the whole policy."""
        policy = Policy(
            id=self.get("id", (str,), "", required=True),
            title=self.text("title", required=True),
            source=self.text("source", required=True),
            regions=self.strings("regions"),
            effective_from=self.date_at("effective_from", True) or date.min,
            effective_to=self.date_at("effective_to", False),
            areas=self.areas(),
            money_decimals=self.get("money_decimals", (int,), 2),
            benefit_paid_per=self.get("benefit.paid_per", (str,), "month"),
            benefit_floor_share=self.share("benefit.floor_share", None),
            benefit_rule=self.get("benefit.rule", (str,), ""),
            near_poverty_multiplier=float(self.get("near_poverty_multiplier", (int, float), 1.5)),
            counted_income=self.strings("income.counted"),
            excluded_income=self.strings("income.excluded"),
            deductible_spending=self.strings("income.deductible_spending"),
            income_rule=self.get("income.rule", (str,), ""),
            support_threshold_multiplier=self.get(
                "support_imputation.threshold_multiplier", (int, float), None),
            support_share=float(self.share("support_imputation.share", 1.0) or 0.0),
            support_rule=self.get("support_imputation.rule", (str,), ""),
            review_months=self.get("review.months", (int,), 12, required=True),
            review_short_months=self.get("review.short_months", (int,), 6),
            review_short_when=self.flags("review.short_when", REVIEW_FLAGS),
            review_rule=self.get("review.rule", (str,), ""),
            sampling_village_share=self.share("sampling.village_share", 1.0) or 0.0,
            sampling_always_visit=self.flags("sampling.always_visit", CASE_FLAGS),
            sampling_rule=self.get("sampling.rule", (str,), ""),
            submission_pass_rate=self.share("quality.submission_pass_rate", None),
            sampled_pass_rate_min=self.share("quality.sampled_pass_rate_min", None),
            quality_rule=self.get("quality.rule", (str,), ""),
            photo_max_distance_m=float(self.get("photo_max_distance_m", (int, float), 500)),
            county_review_when=self.flags("county_review.when", CASE_FLAGS),
            county_review_rule=self.get("county_review.rule", (str,), ""),
            disqualifiers=self.disqualifiers(),
            six_no_items=self.six_no(),
            six_no_rule=self.get("six_no.rule", (str,), ""),
            raw=self.data,
        )
        if not policy.regions:
            self.errors.append("regions: needs at least one region code")
        if policy.benefit_paid_per not in UNITS:
            self.errors.append(f"benefit.paid_per: one of {', '.join(UNITS)}")
        if policy.effective_to and policy.effective_to < policy.effective_from:
            self.errors.append("effective_to: before effective_from")
        overlap = set(policy.counted_income) & set(policy.excluded_income)
        if overlap:
            self.errors.append(f"income: both counted and excluded: {', '.join(sorted(overlap))}")
        if self.errors:
            raise PolicyError(self.errors)
        return policy


def _walk(data: Any, path: str) -> Any:
    """Return the value at a path like ``six_no.items[2].reason`` (None when absent)."""
    value = data
    for part in path.replace("[", ".").replace("]", "").split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


# ---- money ---------------------------------------------------------------------------------


def round_money(value: float, decimals: int = 2) -> float:
    """Round half away from zero to `decimals` places (as pwa/js/policy.js does).

    The tiny epsilon absorbs binary representation error (1.005 is stored as 1.00499...),
    so the result is what a person rounding the decimal figure would write.
    """
    factor = 10**decimals
    rounded = math.floor(abs(value) * factor + 0.5 + 1e-9) / factor
    return -rounded if value < 0 else rounded


def _amount(value: Any) -> float:
    """Return an amount as a float: None and "" are 0."""
    return 0.0 if value is None or value == "" else float(value)


def to_unit(amount: float, period: str, unit: str) -> float:
    """Convert an amount per month or per year into the standard's unit."""
    if period == unit:
        return amount
    return amount * 12 if unit == "year" else amount / 12


def add_months(day: date, months: int) -> date:
    """Return the same day `months` later, clamped to the month's last day."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def reference_period(policy: Policy, area_type: str, visit_date: date) -> dict:
    """Return the period whose income is counted: {"kind", "from", "to"} as ISO dates."""
    kind = policy.area(area_type).reference_period
    if kind == "previous_year":
        start, end = date(visit_date.year - 1, 1, 1), date(visit_date.year - 1, 12, 31)
    else:
        last = calendar.monthrange(visit_date.year, visit_date.month)[1]
        start, end = visit_date.replace(day=1), visit_date.replace(day=last)
    return {"kind": kind, "from": start.isoformat(), "to": end.isoformat()}


def _ordered(items: list[dict]) -> list[dict]:
    """Sort items by position then id, so both sides add floats in the same order."""
    return sorted(items, key=lambda i: (i.get("position") or 0, str(i.get("id") or "")))


def counted_members(members: list[dict]) -> list[dict]:
    """Return the co-resident members who are alive: the people income is divided by."""
    return [m for m in _ordered(members)
            if m.get("co_resident") is not False and not m.get("died_on")]


def income_counted(policy: Policy, category: str) -> bool:
    """Tell whether an income category counts (everything not excluded counts)."""
    return category not in policy.excluded_income


def imputed_support(policy: Policy, area_type: str, supporters: list[dict]) -> float:
    """Return the support imputed from supporters' households, in the standard's unit.

    Each supporter household keeps ``threshold_multiplier × standard`` per person; `share` of
    what it earns above that counts as support to this household.
    """
    if policy.support_threshold_multiplier is None:
        return 0.0
    area = policy.area(area_type)
    monthly_standard = to_unit(area.standard, area.unit, "month")
    total = 0.0
    for supporter in _ordered(supporters):
        size = _amount(supporter.get("household_size"))
        income = _amount(supporter.get("monthly_income"))
        kept = size * policy.support_threshold_multiplier * monthly_standard
        total += max(0.0, income - kept) * policy.support_share
    return to_unit(total, "month", area.unit)


def household_income(policy: Policy, facts: dict) -> dict:
    """Return the household's counted income, support top-up and deducted spending."""
    area_type = facts["area_type"]
    unit = policy.area(area_type).unit
    counted_ids = {m.get("id") for m in counted_members(facts.get("members", []))}
    known_ids = {m.get("id") for m in facts.get("members", [])}
    income, declared_support = 0.0, 0.0
    for item in _ordered(facts.get("incomes", [])):
        member = item.get("member_id")
        # Income of a member who does not live here (or has died) is not household income;
        # income of an unknown member id is counted rather than silently dropped.
        if member and member in known_ids and member not in counted_ids:
            continue
        if not income_counted(policy, item.get("category") or "other"):
            continue
        amount = to_unit(_amount(item.get("amount")), item.get("period") or "month", unit)
        income += amount
        if item.get("category") == "support":
            declared_support += amount
    # Declared support and imputed support are the same money: count the larger of the two.
    top_up = max(0.0, imputed_support(policy, area_type, facts.get("supporters", []))
                 - declared_support)
    deducted = 0.0
    for item in _ordered(facts.get("spending", [])):
        if item.get("category") in policy.deductible_spending:
            deducted += to_unit(_amount(item.get("amount")), item.get("period") or "month", unit)
    decimals = policy.money_decimals
    return {
        "household_income": round_money(income + top_up, decimals),
        "imputed_support": round_money(top_up, decimals),
        "deducted_spending": round_money(deducted, decimals),
    }


def per_capita_income(policy: Policy, income: float, deducted: float, members: int) -> float | None:
    """Return per-capita income in the standard's unit (None for a household of nobody)."""
    if members <= 0:
        return None
    return round_money(max(0.0, income - deducted) / members, policy.money_decimals)


def income_eligible(policy: Policy, area_type: str, per_capita: float | None) -> bool:
    """Eligible on income: per-capita income strictly below the standard.

    Income *at* the standard is not eligible (新密民字〔2015〕20号 三(三): 实际收入达到或超出).
    """
    return per_capita is not None and per_capita < policy.area(area_type).standard


def near_poverty(policy: Policy, area_type: str, per_capita: float | None) -> bool:
    """低保边缘: at or above the standard but below the near-poverty multiple of it."""
    if per_capita is None:
        return False
    standard = policy.area(area_type).standard
    return standard <= per_capita < standard * policy.near_poverty_multiplier


def benefit_class(policy: Policy, area_type: str, chosen: str | None) -> str | None:
    """Return the class the benefit is paid by (class-ratio areas only; None otherwise)."""
    area = policy.area(area_type)
    if area.benefit != "class_ratio":
        return None
    return chosen if chosen in area.class_ratios else None


def benefit(policy: Policy, area_type: str, per_capita: float | None, covered: int,
            klass: str | None) -> float | None:
    """Return the benefit per payment period (month), or None when the class is missing."""
    area = policy.area(area_type)
    if not income_eligible(policy, area_type, per_capita) or covered <= 0:
        return 0.0
    if area.benefit == "class_ratio":
        if klass not in area.class_ratios:
            return None
        per_person = area.standard * area.class_ratios[klass]
    else:
        per_person = area.standard - per_capita
        if policy.benefit_floor_share is not None:
            per_person = max(per_person, area.standard * policy.benefit_floor_share)
    total = to_unit(per_person * covered, area.unit, policy.benefit_paid_per)
    return round_money(total, policy.money_decimals)


def next_review_on(policy: Policy, visit_date: date, flags: dict) -> date:
    """Return the next review date: the short interval when any of its conditions holds."""
    short = any(flags.get(name) for name in policy.review_short_when)
    return add_months(visit_date, policy.review_short_months if short else policy.review_months)


def review_flags(facts: dict) -> dict:
    """Return the conditions that shorten the review interval, from the facts."""
    return {
        "unstable_income": bool(facts.get("unstable_income")),
        "able_to_work": any(m.get("work_ability") in WORK_ABLE
                            for m in counted_members(facts.get("members", []))),
        "separately_registered": bool(facts.get("separately_registered")),
    }


def assess_money(policy: Policy, facts: dict) -> dict:
    """Compute the money part of an assessment from plain facts (see forms/vectors).

    facts: {"area_type", "visit_date" (ISO), "members": [...], "incomes": [...],
    "supporters": [...], "spending": [...], "benefit_class", "unstable_income",
    "separately_registered"}; items carry the record's item fields plus "id".
    """
    area_type = facts.get("area_type")
    if area_type not in policy.areas:
        raise KeyError(f"policy {policy.id} has no rule for area type {area_type!r}")
    area = policy.area(area_type)
    visit_date = date.fromisoformat(facts["visit_date"])
    members = counted_members(facts.get("members", []))
    money = household_income(policy, facts)
    per_capita = per_capita_income(policy, money["household_income"],
                                   money["deducted_spending"], len(members))
    eligible = income_eligible(policy, area_type, per_capita)
    klass = benefit_class(policy, area_type, facts.get("benefit_class"))
    return {
        "policy_id": policy.id,
        "area_type": area_type,
        "unit": area.unit,
        "reference_period": reference_period(policy, area_type, visit_date),
        **money,
        "counted_members": len(members),
        "per_capita_income": per_capita,
        "standard": area.standard,
        "income_eligible": eligible,
        "near_poverty": near_poverty(policy, area_type, per_capita),
        "benefit": benefit(policy, area_type, per_capita, len(members), klass),
        "benefit_unit": policy.benefit_paid_per,
        "benefit_class": klass,
        "next_review_on": next_review_on(policy, visit_date, review_flags(facts)).isoformat()
        if eligible else None,
    }


def policy_for(policies: list[Policy], region_code: str, on: date) -> Policy | None:
    """Return the policy in force for a region code on a date.

    The most specific region (longest matching code prefix) wins, then the newest start.
    """
    candidates = [p for p in policies if p.applies_to(region_code, on)]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (
        max(len(c) for c in p.regions if region_code.startswith(c)), p.effective_from))


def villages_to_sample(policy: Policy, village_count: int) -> int:
    """Return how many whole villages a sample must include (share rounded up)."""
    return min(village_count, math.ceil(village_count * policy.sampling_village_share - 1e-9))


def township_quality(policy: Policy, submission_pass_rate: float | None,
                     sampled_pass_rate: float | None) -> dict:
    """Judge a township against the pass-rate thresholds; say when all must be re-surveyed."""
    below_submission = (policy.submission_pass_rate is not None
                        and submission_pass_rate is not None
                        and submission_pass_rate < policy.submission_pass_rate)
    resurvey = (policy.sampled_pass_rate_min is not None and sampled_pass_rate is not None
                and sampled_pass_rate < policy.sampled_pass_rate_min)
    return {"submission_pass_rate_ok": not below_submission, "resurvey_all": resurvey,
            "rule": policy.quality_rule}
