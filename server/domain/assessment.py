"""The assessment of one submitted survey: money, eligibility, review date and checks.

`assess(form, answers, record, policy, context)` returns the assessment shape of
docs/architecture.md. It works on the household record as the answers leave it (the record
with the answers' bound values applied), so the phone, which computes the money part from
its answers with pwa/js/policy.js, sees the same numbers. Facts from outside the
submission come in `context` (the sync service gathers them from the database).
"""

from dataclasses import dataclass, field
from datetime import date

from . import checks, forms
from .binding import bound_changes
from .logic import LogicError, evaluate, truthy
from .policy import Policy, assess_money, benefit_class
from .record import COLLECTIONS, copy_json, empty_record


@dataclass
class AssessmentContext:
    """Facts from outside the submission that the checks need."""

    visit_date: date
    # The submission's investigator_ids; None: take them from the investigators' signatures.
    investigator_ids: list[int] | None = None
    # The submission's started_at / completed_at (ISO 8601); None: the whole visit day.
    visit_start: str | None = None
    visit_end: str | None = None
    # (lat, lon) of the household; None: the record's lat/lon.
    household_location: tuple[float, float] | None = None
    # sha256 → code of another household whose submission already used that photo.
    photo_hashes_elsewhere: dict[str, str] = field(default_factory=dict)
    # ID number → code of another household where that person is registered.
    id_numbers_elsewhere: dict[str, str] = field(default_factory=dict)
    # ID numbers reported deceased (e.g. by the civil registry or the funeral office).
    deceased_id_numbers: set[str] = field(default_factory=set)
    # Metres; None: the policy's photo_max_distance_m (500 by default).
    max_photo_distance_m: float | None = None
    window_slack_minutes: int = 0
    utc_offset_hours: int = 8  # China Standard Time: times without a zone are local


MONEY_KEYS = ("policy_id", "area_type", "unit", "reference_period", "household_income",
              "imputed_support", "deducted_spending", "counted_members", "per_capita_income",
              "standard", "income_eligible", "near_poverty", "benefit", "benefit_unit",
              "benefit_class", "next_review_on")


def apply_changes(record: dict, partial: dict) -> dict:
    """Return a copy of `record` with a partial record (from binding) applied."""
    result = copy_json(record) if record else empty_record()
    result.setdefault("household", {}).update(partial.get("household", {}))
    for collection in COLLECTIONS:
        items = result.setdefault(collection, {})
        for item_id, fields in partial.get(collection, {}).items():
            if fields is None:
                items.pop(item_id, None)
            else:
                items.setdefault(item_id, {}).update(fields)
    return result


def record_after(form: dict, answers: dict, record: dict | None,
                 changes: dict | None = None) -> dict:
    """Return the household record as the answers leave it (`changes`: the answers' bound
    changes, binding.bound_changes(form, answers), when the caller has them already)."""
    if changes is None:
        changes = bound_changes(form, answers)
    return apply_changes(record or empty_record(), changes)


def _items(record: dict, collection: str) -> list[dict]:
    """Return a collection's items as dicts with their ids."""
    return [{**fields, "id": item_id} for item_id, fields in record.get(collection, {}).items()]


def facts_from_record(record: dict, answers: dict, visit_date: date) -> dict:
    """Return the facts the money part needs (same as pwa/js/policy.js factsFromRecord)."""
    household = record.get("household", {})
    spending = [i for i in answers.get("spending") or [] if isinstance(i, dict)
                and not i.get("_removed")]
    # The spending repeat is not bound to the record: its answer names are the fields.
    spending = [{"id": i.get("id"), "category": i.get("spending_category"),
                 "amount": i.get("spending_amount"), "period": i.get("spending_period")}
                for i in spending]
    return {
        "area_type": household.get("area_type"),
        "visit_date": visit_date.isoformat(),
        "members": _items(record, "members"),
        "incomes": _items(record, "incomes"),
        "supporters": _items(record, "supporters"),
        "spending": spending,
        "benefit_class": household.get("benefit_class"),
        "unstable_income": bool(answers.get("income_unstable")),
        "separately_registered": bool(household.get("staff_relative")),
    }


@dataclass(frozen=True)
class FormPlan:
    """What an assessment reads of a form definition, worked out once per definition."""

    # The photo and signature questions in form order, each with its repeat as a place to
    # take the answered items of (None: a question at the answers' top level).
    media: tuple[tuple[forms.Located, forms.Located | None], ...]
    # The names of the photo questions at the answers' top level.
    photo_names: tuple[str, ...]
    # (repeat name, question name) of each question binding a member's ID number.
    member_id_numbers: tuple[tuple[str, str], ...]


# plan_of(): the plan of each definition seen, by identity. The entry holds the definition
# itself, so its id cannot be reused while cached. Bounded: definitions made on the fly
# (tests) push old entries out (forms.kept_per_definition).
_PLANS: dict[int, tuple[dict, FormPlan]] = {}


def plan_of(form: dict) -> FormPlan:
    """Return the plan of a definition, computed once per definition object (treated as
    read-only once loaded, as for forms.places)."""
    def compute() -> FormPlan:
        located = forms.places(form)
        return FormPlan(
            media=tuple((place, None if place.repeat is None
                         else forms.Located(place.repeat, "", None, ()))
                        for place in located if place.question.get("type") in ("photo", "signature")),
            photo_names=tuple(place.question["name"] for place in located
                              if place.question.get("type") == "photo" and place.repeat is None),
            member_id_numbers=tuple((place.repeat["name"], place.question["name"])
                                    for place in located
                                    if place.repeat is not None
                                    and place.repeat.get("bind") == "members"
                                    and place.question.get("bind") == "id_number"),
        )

    return forms.kept_per_definition(_PLANS, form, compute)


def photo_hashes(form: dict, answers: dict) -> list:
    """Return the SHA-256 of every photo given to a top-level photo question (None for a
    photo without one), in form order."""
    return [p.get("sha256") for name in plan_of(form).photo_names
            for p in answers.get(name) or [] if isinstance(p, dict)]


def member_id_numbers(form: dict, answers: dict) -> list:
    """Return the answers given to the members' ID number questions, as given, item by
    item (removed items too)."""
    return [item.get(question) for repeat, question in plan_of(form).member_id_numbers
            for item in answers.get(repeat) or [] if isinstance(item, dict)]


def _answered_media(form: dict, answers: dict) -> tuple[list, list, list]:
    """Return (photos, signatures, photo requirements) from the relevant questions."""
    photos: list[dict] = []
    signatures: list[dict] = []
    requirements: list[tuple[dict, dict, int]] = []

    def collect(place: forms.Located, value, data: dict) -> None:
        """Take one relevant question's media answer."""
        kind = place.question["type"]
        required = place.question.get("required", False)
        if isinstance(required, dict):
            required = _truth(required, data)
        if kind == "photo":
            given = [p for p in value or [] if isinstance(p, dict)]
            photos.extend(given)
            # The minimum applies to a required question, or once any photo is given.
            if given or required:
                requirements.append((place.question["label"], place.question["photo"],
                                     len(given)))
        elif kind == "signature" and isinstance(value, dict):
            signatures.append(value)

    for place, repeat in plan_of(form).media:
        if repeat is None:
            if _relevant(place, answers):
                collect(place, answers.get(place.question["name"]), answers)
            continue
        for item in forms.answered_items(repeat, answers):
            data = {**answers, "item": item}
            if _relevant(place, data):
                collect(place, item.get(place.question["name"]), data)
    return photos, signatures, requirements


def _relevant(place: forms.Located, data: dict) -> bool:
    """Tell whether a question applies; a rule that fails to evaluate counts as applying."""
    try:
        return forms.is_relevant(place, data)
    except LogicError:
        # A broken rule must not hide evidence from the checks.
        return True


def _truth(rule: dict, data: dict) -> bool:
    """Evaluate a rule to a truth value; a rule that fails to evaluate counts as true."""
    try:
        return truthy(evaluate(rule, data))
    except LogicError:
        return True


def _money(policy: Policy | None, facts: dict) -> tuple[dict, list[dict]]:
    """Return the money part (None values when it cannot be computed) and any check about it."""
    empty = dict.fromkeys(MONEY_KEYS)
    if policy is None:
        return empty, [checks.result("policy", False, "forms/policies",
                                     "该地区和日期没有适用的低保政策",
                                     "no policy applies to this region and date")]
    empty["policy_id"] = policy.id
    if facts["area_type"] not in policy.areas:
        return empty, [checks.result("area_type", False, policy.id,
                                     "未填写城乡类别,无法核算", "urban or rural not given: "
                                     "nothing can be calculated")]
    money = assess_money(policy, facts)
    found = []
    area = policy.area(facts["area_type"])
    if area.benefit == "class_ratio" and money["income_eligible"] \
            and benefit_class(policy, facts["area_type"], facts["benefit_class"]) is None:
        classes = "/".join(area.class_ratios)
        found.append(checks.result("benefit_class", False, area.rule,
                                   f"按类别核定补差,须选择类别({classes})",
                                   f"the benefit is paid by class: choose {classes}"))
    return money, found


def assess(form: dict, answers: dict, record: dict | None, policy: Policy | None,
           context: AssessmentContext, changes: dict | None = None) -> dict:
    """Assess one submission: money part, eligibility, review date and every check
    (`changes` as for record_after)."""
    after = record_after(form, answers, record, changes)
    household = after.get("household", {})
    members = _items(after, "members")
    facts = facts_from_record(after, answers, context.visit_date)
    money, found = _money(policy, facts)

    photos, signatures, requirements = _answered_media(form, answers)
    thumbprints = sum(1 for p in photos if p.get("category") == "thumbprint")
    window = checks.visit_window(context.visit_date, context.visit_start, context.visit_end,
                                 slack_minutes=context.window_slack_minutes,
                                 offset_hours=context.utc_offset_hours)
    home = context.household_location
    if home is None and household.get("lat") is not None and household.get("lon") is not None:
        home = (household["lat"], household["lon"])
    distance = context.max_photo_distance_m or (policy.photo_max_distance_m if policy else 500)
    found += [
        checks.two_investigators(context.investigator_ids, signatures),
        checks.signatures_present(signatures, thumbprints),
        checks.photo_set(requirements),
        checks.photo_times(photos, window, context.utc_offset_hours),
        checks.photo_locations(photos, home, distance),
        checks.photo_reuse(photos, context.photo_hashes_elsewhere),
        checks.id_numbers(members + _items(after, "supporters"), context.visit_date),
        checks.members_elsewhere(members, context.id_numbers_elsewhere),
        checks.deceased_counted(members, context.deceased_id_numbers),
    ]
    refused = []
    county = False
    if policy is not None:
        verdicts = checks.disqualifiers(policy, answers) + checks.six_no(policy, answers)
        refused = [c for c in verdicts if not c["passed"]]
        review = checks.county_review(policy, {
            "staff_relative": household.get("staff_relative"),
            "disputed": household.get("disputed"),
            "reported": answers.get("reported"),
        })
        county = not review["passed"]
        found += verdicts + [review]
    eligible = bool(money["income_eligible"]) and not refused
    if money["income_eligible"] is not None:
        agreement = checks.conclusion_matches(answers.get("verdict"), eligible)
        if agreement:
            found.append(agreement)
    return {
        **money,
        "eligible": eligible,
        "benefit": (None if money["income_eligible"] is None
                    else money["benefit"] if eligible else 0.0),
        "next_review_on": money["next_review_on"] if eligible else None,
        "county_review": county,
        "assessed_for": context.visit_date.isoformat(),
        "checks": found,
    }
