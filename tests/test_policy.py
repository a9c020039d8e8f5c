"""The policy engine: worked examples by hand, boundaries, the shared vectors, policy data."""

import copy
import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from server.domain import policy as pol
from server.domain.assessment import facts_from_record

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "forms" / "vectors" / "assessment.json").read_text("utf-8"))


def load(policy_id: str) -> pol.Policy:
    """Load a shipped policy file."""
    path = ROOT / "forms" / "policies" / f"{policy_id}.yaml"
    return pol.Policy.from_dict(yaml.safe_load(path.read_text("utf-8")))


KESHAN = load("keshan-2022")
XINMI = load("xinmi-2015")


def member(member_id: str, **fields) -> dict:
    """Return a co-resident living member unable to work, with overrides."""
    return {"id": member_id, "co_resident": True, "died_on": None, "work_ability": "none",
            **fields}


def income(item_id: str, member_id, category: str, amount, period: str = "month") -> dict:
    """Return one income line."""
    return {"id": item_id, "member_id": member_id, "category": category, "amount": amount,
            "period": period}


def test_keshan_urban_worked_example():
    """Keshan urban, 3 people, May 2026.

    wage 900 + pension 300 = 1200 yuan this month (the child's 200 scholarship is excluded);
    per capita 1200 / 3 = 400 < 637, eligible; benefit (637 - 400) × 3 = 237 × 3 = 711 a
    month. One member can work, so the review is in 6 months: 2026-05-22 → 2026-11-22.
    """
    facts = {
        "area_type": "urban", "visit_date": "2026-05-22",
        "members": [member("m1", work_ability="full"), member("m2"), member("m3")],
        "incomes": [income("i1", "m1", "wage", 900), income("i2", "m2", "pension", 300),
                    income("i3", "m3", "scholarship", 200)],
    }
    result = pol.assess_money(KESHAN, facts)
    assert result["household_income"] == 1200
    assert result["per_capita_income"] == 400
    assert result["standard"] == 637 and result["unit"] == "month"
    assert result["income_eligible"] is True and result["near_poverty"] is False
    assert result["benefit"] == 711
    assert result["next_review_on"] == "2026-11-22"
    assert result["reference_period"] == {"kind": "current_month", "from": "2026-05-01",
                                          "to": "2026-05-31"}


def test_keshan_rural_worked_example():
    """Keshan rural, 2 elderly people, visited May 2026: last year's income counts.

    farming 4000 + land rent 1200 + wage 150/month × 12 = 1800 → 7000 a year.
    A son's household of 3 earns 2500 a month; it keeps 3 × 2 × (4812 / 12 = 401) = 2406,
    so 94 a month is imputed support: 94 × 12 = 1128 a year. Household income 8128;
    per capita 8128 / 2 = 4064 < 4812. Benefit (4812 - 4064) × 2 = 1496 a year,
    1496 / 12 = 124.666… → 124.67 a month. Nobody can work: review in 12 months.
    """
    facts = {
        "area_type": "rural", "visit_date": "2026-05-22",
        "members": [member("m1"), member("m2")],
        "incomes": [income("i1", "m1", "farming", 4000, "year"),
                    income("i2", None, "property", 1200, "year"),
                    income("i3", "m2", "wage", 150, "month")],
        "supporters": [{"id": "s1", "household_size": 3, "monthly_income": 2500}],
    }
    result = pol.assess_money(KESHAN, facts)
    assert result["imputed_support"] == 1128
    assert result["household_income"] == 8128
    assert result["per_capita_income"] == 4064
    assert result["unit"] == "year" and result["benefit_unit"] == "month"
    assert result["benefit"] == 124.67
    assert result["next_review_on"] == "2027-05-22"
    assert result["reference_period"] == {"kind": "previous_year", "from": "2025-01-01",
                                          "to": "2025-12-31"}


@pytest.mark.parametrize(("klass", "expected"), [("A", 624), ("B", 468), ("C", 312)])
def test_xinmi_rural_classes_worked_example(klass, expected):
    """Xinmi rural, 3 people, 600 a month: per capita 200 < 260.

    A: 260 × 80% = 208 × 3 = 624; B: 260 × 60% = 156 × 3 = 468; C: 260 × 40% = 104 × 3 = 312.
    """
    facts = {"area_type": "rural", "visit_date": "2026-05-22",
             "members": [member("m1"), member("m2"), member("m3")],
             "incomes": [income("i1", "m1", "farming", 600)], "benefit_class": klass}
    result = pol.assess_money(XINMI, facts)
    assert result["per_capita_income"] == 200
    assert result["benefit_class"] == klass
    assert result["benefit"] == expected


def test_xinmi_rural_without_class_has_no_benefit():
    """A class-ratio policy cannot pay without a class: benefit None, not a guess."""
    facts = {"area_type": "rural", "visit_date": "2026-05-22", "members": [member("m1")],
             "incomes": [], "benefit_class": "D"}
    result = pol.assess_money(XINMI, facts)
    assert result["income_eligible"] is True
    assert result["benefit_class"] is None and result["benefit"] is None


def test_xinmi_urban_major_illness_spending_is_deducted():
    """Xinmi 三(三): 1200 income - 600 major-illness spending = 600; / 2 = 300 < 470;
    benefit (470 - 300) × 2 = 340. Education spending is not deductible."""
    facts = {"area_type": "urban", "visit_date": "2026-05-22",
             "members": [member("m1"), member("m2")], "incomes": [income("i", "m1", "wage", 1200)],
             "spending": [{"category": "major_illness", "amount": 600, "period": "month"},
                          {"category": "education", "amount": 100, "period": "month"}]}
    result = pol.assess_money(XINMI, facts)
    assert result["deducted_spending"] == 600
    assert result["per_capita_income"] == 300
    assert result["benefit"] == 340


def test_income_exactly_at_standard_is_not_eligible():
    """637 for one person is *at* the standard: not eligible, but near poverty; no review."""
    facts = {"area_type": "urban", "visit_date": "2026-05-22", "members": [member("m1")],
             "incomes": [income("i", "m1", "pension", 637)]}
    result = pol.assess_money(KESHAN, facts)
    assert result["income_eligible"] is False
    assert result["near_poverty"] is True
    assert result["benefit"] == 0
    assert result["next_review_on"] is None


def test_one_member_household():
    """One person with 300: per capita 300, benefit 637 - 300 = 337."""
    facts = {"area_type": "urban", "visit_date": "2026-05-22", "members": [member("m1")],
             "incomes": [income("i", "m1", "pension", 300)]}
    assert pol.assess_money(KESHAN, facts)["benefit"] == 337


def test_deceased_member_not_counted():
    """3 registered, one died: 800 / 2 = 400 (the dead member's pension not counted);
    benefit (637 - 400) × 2 = 474."""
    facts = {"area_type": "urban", "visit_date": "2026-05-22",
             "members": [member("m1"), member("m2"), member("m3", died_on="2026-01-03")],
             "incomes": [income("i1", "m1", "wage", 800), income("i2", "m3", "pension", 500)]}
    result = pol.assess_money(KESHAN, facts)
    assert result["counted_members"] == 2
    assert result["per_capita_income"] == 400
    assert result["benefit"] == 474


def test_floor_share_raises_small_differences():
    """With a 20% floor: 637 - 600 = 37 < 637 × 20% = 127.4, so 127.4 is paid."""
    data = copy.deepcopy(KESHAN.raw)
    data["benefit"]["floor_share"] = 0.2
    floored = pol.Policy.from_dict(data)
    assert pol.benefit(floored, "urban", 600.0, 1, None) == 127.4
    assert pol.benefit(floored, "urban", 100.0, 1, None) == 537


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.005, 1.01), (2.675, 2.68), (-1.005, -1.01), (0.125, 0.13), (636.666666, 636.67),
     (0.0, 0.0), (1e7 + 0.005, 10000000.01)],
)
def test_round_money_half_away_from_zero(value, expected):
    """Money rounds half away from zero on the decimal figure, not on its binary error."""
    assert pol.round_money(value) == expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [(date(2026, 8, 31), 6, date(2027, 2, 28)), (date(2027, 8, 31), 6, date(2028, 2, 29)),
     (date(2026, 1, 31), 1, date(2026, 2, 28)), (date(2026, 12, 15), 12, date(2027, 12, 15))],
)
def test_add_months_clamps_to_month_end(day, months, expected):
    """Adding months keeps the day, or the month's last day when it is shorter."""
    assert pol.add_months(day, months) == expected


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_assessment_vector_in_python(vector):
    """Every shared money vector gives its expected values (the browser runs the same)."""
    policy = pol.Policy.from_dict(VECTORS["policies"][vector["policy"]])
    result = pol.assess_money(policy, vector["facts"])
    assert {k: result[k] for k in vector["expected"]} == vector["expected"]


@pytest.mark.parametrize("vector", VECTORS["from_record"], ids=lambda v: v["name"])
def test_from_record_vector_in_python(vector):
    """The facts taken from a record and answers give the same money on both sides."""
    policy = pol.Policy.from_dict(VECTORS["policies"][vector["policy"]])
    facts = facts_from_record(vector["record"], vector["answers"],
                              date.fromisoformat(vector["visit_date"]))
    result = pol.assess_money(policy, facts)
    assert {k: result[k] for k in vector["expected"]} == vector["expected"]


@pytest.mark.parametrize("policy_id", ["keshan-2022", "xinmi-2015"])
def test_vector_policies_equal_the_policy_files(policy_id):
    """The policies inside the vectors file are the shipped YAML files, unchanged."""
    path = ROOT / "forms" / "policies" / f"{policy_id}.yaml"
    assert VECTORS["policies"][policy_id] == yaml.safe_load(path.read_text("utf-8"))


def test_shipped_policy_numbers_come_from_the_notices():
    """Keshan: 637/month urban, 4812/year rural (previous year); Xinmi: 470 and 260/month,
    rural classes 80/60/40%, 30% sampling, 96% / 80% pass rates."""
    assert (KESHAN.area("urban").standard, KESHAN.area("urban").unit) == (637, "month")
    assert (KESHAN.area("rural").standard, KESHAN.area("rural").unit) == (4812, "year")
    assert KESHAN.area("rural").reference_period == "previous_year"
    assert KESHAN.review_months == 12 and KESHAN.review_short_months == 6
    assert XINMI.area("urban").standard == 470 and XINMI.area("rural").standard == 260
    assert XINMI.area("rural").class_ratios == {"A": 0.8, "B": 0.6, "C": 0.4}
    assert XINMI.sampling_village_share == 0.3
    assert (XINMI.submission_pass_rate, XINMI.sampled_pass_rate_min) == (0.96, 0.8)
    assert len(XINMI.disqualifiers) == 18
    assert len(KESHAN.six_no_items) == 6


def test_policy_for_picks_region_prefix_and_date():
    """A village code under 230229 gets Keshan from 2022-03-20 on; nothing before; Xinmi
    never applies to Keshan."""
    policies = [KESHAN, XINMI]
    assert pol.policy_for(policies, "230229100201", date(2026, 5, 22)) is KESHAN
    assert pol.policy_for(policies, "230229100201", date(2022, 3, 19)) is None
    assert pol.policy_for(policies, "410183001", date(2026, 5, 22)) is XINMI
    assert pol.policy_for(policies, "110105", date(2026, 5, 22)) is None


def test_policy_for_prefers_newer_and_more_specific():
    """A newer policy replaces an older one; a township-specific one beats the county's."""
    newer = pol.Policy.from_dict({**KESHAN.raw, "id": "keshan-2024",
                                  "effective_from": "2024-01-01"})
    township = pol.Policy.from_dict({**KESHAN.raw, "id": "keshan-town",
                                     "regions": ["230229100"]})
    policies = [KESHAN, newer, township]
    assert pol.policy_for(policies, "230229101201", date(2026, 1, 1)).id == "keshan-2024"
    assert pol.policy_for(policies, "230229100201", date(2026, 1, 1)).id == "keshan-town"
    assert pol.policy_for(policies, "230229101201", date(2023, 1, 1)).id == "keshan-2022"


def test_malformed_policy_lists_every_problem():
    """A broken policy names each bad field by its path."""
    data = copy.deepcopy(KESHAN.raw)
    data["areas"]["urban"]["unit"] = "week"
    data["areas"]["rural"]["standard"] = -1
    data["effective_from"] = "2022-13-01"
    data["income"]["excluded"].append("wage")
    data["review"]["short_when"] = ["rainy_days"]
    data["disqualifiers"][0].pop("rule")
    with pytest.raises(pol.PolicyError) as caught:
        pol.Policy.from_dict(data)
    errors = caught.value.errors
    assert "areas.urban.unit: one of month, year" in errors
    assert "areas.rural.standard: must be positive" in errors
    assert "effective_from: not an ISO date (YYYY-MM-DD)" in errors
    assert "income: both counted and excluded: wage" in errors
    assert any(e.startswith("review.short_when: unknown 'rainy_days'") for e in errors)
    assert "disqualifiers[0].rule: required" in errors


def test_class_ratio_area_needs_ratios():
    """benefit class_ratio without ratios is refused."""
    data = copy.deepcopy(XINMI.raw)
    del data["areas"]["rural"]["class_ratios"]
    with pytest.raises(pol.PolicyError, match="class_ratios: required"):
        pol.Policy.from_dict(data)


@pytest.mark.parametrize(("count", "expected"), [(10, 3), (11, 4), (1, 1), (0, 0), (3, 1)])
def test_xinmi_samples_at_least_30_percent_of_villages(count, expected):
    """At least 30% of villages, rounded up to whole villages."""
    assert pol.villages_to_sample(XINMI, count) == expected


def test_keshan_visits_every_village():
    """Keshan's 一个100%: every village is visited."""
    assert pol.villages_to_sample(KESHAN, 17) == 17


def test_township_quality_thresholds():
    """Below 96% submitted pass rate is flagged; below 80% sampled means re-survey all."""
    assert pol.township_quality(XINMI, 0.97, 0.85) == {
        "submission_pass_rate_ok": True, "resurvey_all": False, "rule": XINMI.quality_rule}
    assert pol.township_quality(XINMI, 0.95, 0.80)["submission_pass_rate_ok"] is False
    assert pol.township_quality(XINMI, 0.99, 0.79)["resurvey_all"] is True
    assert pol.township_quality(KESHAN, 0.5, 0.5)["resurvey_all"] is False
