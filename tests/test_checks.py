"""Submission checks, each failing and passing, and the assessment that gathers them."""

from datetime import date
from pathlib import Path

import pytest
import yaml

from server.domain import checks
from server.domain.assessment import AssessmentContext, assess
from server.domain.idcard import check_character
from server.domain.policy import Policy
from tests.forms_helpers import HEAD_ID, HOME, SURVEY, answers, photo, signature

ROOT = Path(__file__).resolve().parent.parent
KESHAN = Policy.from_dict(yaml.safe_load(
    (ROOT / "forms" / "policies" / "keshan-2022.yaml").read_text("utf-8")))
XINMI = Policy.from_dict(yaml.safe_load(
    (ROOT / "forms" / "policies" / "xinmi-2015.yaml").read_text("utf-8")))
VISIT = date(2026, 5, 22)
RECORD = {"household": {"lat": HOME["lat"], "lon": HOME["lon"]}, "members": {},
          "supporters": {}, "assets": {}, "incomes": {}}


def run(given: dict | None = None, policy: Policy | None = KESHAN, **context) -> dict:
    """Assess answers (complete ones by default) against the Keshan policy."""
    context.setdefault("investigator_ids", [2, 3])
    return assess(SURVEY, given or answers(), RECORD, policy,
                  AssessmentContext(visit_date=VISIT, **context))


def check(assessment: dict, check_id: str) -> dict:
    """Return one check of an assessment by id."""
    return next(c for c in assessment["checks"] if c["id"] == check_id)


def test_complete_survey_passes_every_check():
    """The complete helper answers pass every check and give Keshan's worked example."""
    result = run()
    assert [c["id"] for c in result["checks"] if not c["passed"]] == []
    assert (result["per_capita_income"], result["benefit"], result["eligible"]) == (400, 711, True)
    assert result["next_review_on"] == "2026-11-22"  # the head can work: 6 months
    assert all(set(c) == {"id", "passed", "rule", "reason"} for c in result["checks"])
    assert all(c["reason"]["zh"] and c["reason"]["en"] and c["rule"] for c in result["checks"])


# ---- two investigators ----


def test_two_distinct_investigators_pass():
    """Ids 2 and 3 are two investigators."""
    assert checks.two_investigators([2, 3], [])["passed"] is True


@pytest.mark.parametrize("ids", [[2], [2, 2], []])
def test_fewer_than_two_distinct_investigators_fail(ids):
    """One investigator, the same twice, or nobody fails."""
    assert checks.two_investigators(ids, [])["passed"] is False


def test_investigators_taken_from_signatures_when_ids_unknown():
    """Without the submission's ids, the investigators' signatures count."""
    signed = [signature(1, "investigator", "王", 2), signature(2, "investigator", "李", 3)]
    assert checks.two_investigators(None, signed)["passed"] is True
    assert checks.two_investigators(None, signed[:1])["passed"] is False


# ---- signatures ----


def test_same_investigator_signing_twice_fails():
    """Two investigator signatures by one person are one signer."""
    given = answers()
    given["sig_investigator_2"] = signature(2, "investigator", "王调查", 2)
    result = check(run(given), "signatures")
    assert result["passed"] is False
    assert result["reason"]["en"] == "only 1 different investigator signer(s)"


def test_missing_household_signature_fails_but_thumbprint_passes():
    """No signature of the person surveyed fails; a thumbprint photo stands for it."""
    given = answers()
    del given["sig_household"]
    assert check(run(given), "signatures")["passed"] is False
    given["photo_thumbprint"] = [photo(30, "thumbprint")]
    assert check(run(given), "signatures")["passed"] is True


# ---- photos ----


def test_required_photo_set_short_fails():
    """One interior photo where two are required fails, naming the question."""
    given = answers()
    given["photo_housing_interior"] = given["photo_housing_interior"][:1]
    result = check(run(given), "photo_set")
    assert result["passed"] is False
    assert "1 of 2" in result["reason"]["en"]


def test_photo_set_follows_relevance():
    """Vehicle photos are required once a vehicle is ticked."""
    given = answers()
    given["vehicles"] = ["motorbike"]
    assert "Photos of vehicles" in check(run(given), "photo_set")["reason"]["en"]
    given["photo_vehicles"] = [photo(40, "vehicles")]
    assert check(run(given), "photo_set")["passed"] is True


def test_photo_outside_visit_window_fails():
    """A photo taken the day before the visit fails; inside started..completed passes."""
    given = answers()
    given["photo_documents"] = [photo(5, "documents", at="2026-05-21T16:00:00+08:00")]
    assert check(run(given), "photo_time")["passed"] is False
    inside = run(visit_start="2026-05-22T09:30:00+08:00", visit_end="2026-05-22T11:00:00+08:00")
    assert check(inside, "photo_time")["passed"] is True
    late = run(visit_start="2026-05-22T10:30:00+08:00", visit_end="2026-05-22T11:00:00+08:00")
    assert check(late, "photo_time")["passed"] is False


def test_photo_without_time_fails():
    """A photo with no capture time cannot be placed in the visit."""
    given = answers()
    given["photo_documents"][0]["captured_at"] = None
    assert check(run(given), "photo_time")["passed"] is False


def test_utc_photo_time_compared_as_an_instant():
    """02:05Z is 10:05 in China: inside the visit day."""
    given = answers()
    given["photo_documents"][0]["captured_at"] = "2026-05-22T02:05:00Z"
    assert check(run(given), "photo_time")["passed"] is True


def test_photo_far_from_home_fails():
    """A photo 1.1 km north of the home (0.01° of latitude) fails the 500 m default."""
    given = answers()
    given["photo_documents"] = [photo(5, "documents", lat=HOME["lat"] + 0.01, lon=HOME["lon"])]
    result = check(run(given), "photo_location")
    assert result["passed"] is False
    assert "1112 m" in result["reason"]["en"]


def test_photo_distance_is_configurable():
    """The same photo passes with a 2 km limit."""
    given = answers()
    given["photo_documents"] = [photo(5, "documents", lat=HOME["lat"] + 0.01, lon=HOME["lon"])]
    assert check(run(given, max_photo_distance_m=2000), "photo_location")["passed"] is True


def test_photo_location_not_checked_without_household_location():
    """With no location on record the check passes and says it did not look."""
    result = checks.photo_locations([photo(1, "documents")], None, 500)
    assert result["passed"] is True and "not checked" in result["reason"]["en"]


def test_distance_of_one_degree_of_latitude():
    """One degree of latitude is about 111.2 km."""
    assert round(checks.distance_m((48.0, 125.0), (49.0, 125.0))) == 111195


def test_photo_used_for_another_household_fails():
    """A photo hash already used by household KS-0042 fails, naming that household."""
    used = {photo(2, "housing_interior")["sha256"]: "KS-0042"}
    result = check(run(photo_hashes_elsewhere=used), "photo_reuse")
    assert result["passed"] is False
    assert "KS-0042" in result["reason"]["en"]
    assert check(run(photo_hashes_elsewhere={"f" * 64: "KS-0042"}), "photo_reuse")["passed"]


# ---- people ----


def test_invalid_id_number_fails_with_member_name():
    """A wrong check character fails, naming the member."""
    given = answers()
    given["members"][0]["member_id_number"] = HEAD_ID[:17] + "0"
    result = check(run(given), "id_numbers")
    assert result["passed"] is False
    assert result["reason"]["en"] == "王建国: check character should be 5, not 0"


def test_id_number_disagreeing_with_sex_and_birth_date_fails():
    """The head's number says male, born 1970-01-01; recording female, 1971 fails twice."""
    given = answers()
    given["members"][0].update(sex="female", birth_date="1971-01-01")
    reason = check(run(given), "id_numbers")["reason"]["en"]
    assert "birth date recorded as 1971-01-01, the ID number says 1970-01-01" in reason
    assert "recorded as female, the ID number says male" in reason


def test_supporter_id_numbers_are_checked_too():
    """A supporter's malformed ID number fails the same check."""
    given = answers()
    given["supporters"] = [{"id": "s1", "supporter_name": "王大", "supporter_relation": "child",
                            "supporter_id_number": "12345", "supporter_household_size": 3,
                            "supporter_monthly_income": 2000}]
    assert check(run(given), "id_numbers")["passed"] is False


def test_one_id_number_given_to_two_people_fails():
    """The head's number typed again for the son (and for a supporter) is one problem naming
    all three, while each number on its own is valid."""
    given = answers()
    given["members"][2]["member_id_number"] = HEAD_ID.lower()
    given["supporters"] = [{"id": "s1", "supporter_name": "王大", "supporter_relation": "child",
                            "supporter_id_number": HEAD_ID, "supporter_household_size": 3,
                            "supporter_monthly_income": 2000}]
    result = check(run(given), "id_numbers")
    assert result["passed"] is False
    assert "王建国、王小明、王大的身份证号码相同" in result["reason"]["zh"]
    assert "王建国, 王小明 and 王大 have the same ID number" in result["reason"]["en"]


def test_member_registered_in_another_household_fails():
    """The head's ID number registered in household KS-0007 fails."""
    result = check(run(id_numbers_elsewhere={HEAD_ID: "KS-0007"}), "member_elsewhere")
    assert result["passed"] is False
    assert result["reason"]["en"] == "王建国 is also registered in household KS-0007"
    other = "230229198001010" + "02" + check_character("23022919800101002")
    assert check(run(id_numbers_elsewhere={other: "KS-0007"}), "member_elsewhere")["passed"]


def test_deceased_member_still_co_resident_fails():
    """A member with a date of death still listed as co-resident fails; money ignores them."""
    given = answers()
    given["members"][1]["died_on"] = "2026-02-01"
    result = run(given)
    assert check(result, "deceased_member")["passed"] is False
    assert result["counted_members"] == 2
    # 900 wage / 2 people = 450 (the wife's pension is no longer household income).
    assert result["per_capita_income"] == 450


def test_member_reported_deceased_but_counted_fails():
    """The registry reports the head dead: still counted, so the check fails."""
    result = check(run(deceased_id_numbers={HEAD_ID}), "deceased_member")
    assert result["passed"] is False
    assert "reported deceased but still counted" in result["reason"]["en"]


def test_deceased_member_removed_passes():
    """A dead member removed from the household (or not co-resident) passes."""
    given = answers()
    given["members"][1] = {"id": "m-wife", "_removed": True}
    given["incomes"] = [i for i in given["incomes"] if i["income_member"] != "m-wife"]
    assert check(run(given), "deceased_member")["passed"] is True


# ---- disqualifiers, 六不批, county review, conclusion ----


def test_disqualifier_hit_makes_household_ineligible():
    """Xinmi item 17 (a second property): not eligible, with Xinmi's rule and reason."""
    given = answers()
    given["dq_second_property"] = True
    result = run(given, XINMI)
    hit = check(result, "disqualifier.dq_second_property")
    assert hit["passed"] is False
    assert hit["rule"] == "新密民字〔2015〕20号 五(四)17"
    assert hit["reason"]["zh"] == "除现住房外另有一处或多处房产"
    assert result["income_eligible"] is True and result["eligible"] is False
    assert result["benefit"] == 0 and result["next_review_on"] is None


def test_disqualifier_not_in_policy_is_ignored():
    """Keshan's policy does not list Xinmi's item 17: no hit there."""
    given = answers()
    given["dq_second_property"] = True
    assert check(run(given), "disqualifiers")["passed"] is True


def test_several_disqualifiers_each_reported():
    """Each hit is its own failed check."""
    given = answers()
    given.update(dq_vice=True, dq_savings=True)
    failed = [c["id"] for c in run(given, XINMI)["checks"] if not c["passed"]]
    assert "disqualifier.dq_vice" in failed and "disqualifier.dq_savings" in failed


def test_six_no_for_new_application_without_hukou_original():
    """A new application where the original 户口本 was not seen is refused (Keshan)."""
    given = answers()
    given["application_type"] = "new"
    given.update(six_split_household=False, six_altered_documents=False,
                 six_form_irregular=False, six_materials_incomplete=False,
                 six_public_objection=True)
    given["documents_seen"] = ["id_cards"]
    given["verdict"] = "not_eligible"
    result = run(given)
    failed = {c["id"]: c for c in result["checks"] if not c["passed"]}
    assert set(failed) == {"six_no.documents_seen", "six_no.six_public_objection"}
    assert failed["six_no.documents_seen"]["reason"]["en"] == (
        "refuse: the original household register (户口本) was not seen")
    assert result["eligible"] is False


def test_six_no_passes_and_is_skipped_for_reviews():
    """No refusal applies: one passed check; a periodic review has no 六不批 check at all."""
    given = answers()
    given["application_type"] = "new"
    given.update(six_split_household=False, six_altered_documents=False,
                 six_form_irregular=False, six_materials_incomplete=False,
                 six_public_objection=False)
    assert check(run(given), "six_no")["passed"] is True
    assert not [c for c in run()["checks"] if c["id"].startswith("six_no")]


@pytest.mark.parametrize("flag", ["staff_relative", "disputed", "reported"])
def test_staff_relative_disputed_or_reported_goes_to_county_review(flag):
    """Each of the three routes the case to county review, with a failed check saying why."""
    given = answers()
    given[flag] = True
    result = run(given)
    assert result["county_review"] is True
    assert check(result, "county_review")["passed"] is False


def test_separately_registered_household_reviewed_every_six_months():
    """A staff relative's household (单独登记备案) is reviewed after 6 months."""
    given = answers()
    given["members"][0]["work_ability"] = "none"
    assert run(given)["next_review_on"] == "2027-05-22"
    given["staff_relative"] = True
    assert run(given)["next_review_on"] == "2026-11-22"


def test_conclusion_disagreeing_with_calculation_fails():
    """Investigators wrote 'not eligible' but the numbers say eligible."""
    given = answers()
    given["verdict"] = "not_eligible"
    assert check(run(given), "conclusion")["passed"] is False


def test_class_missing_for_xinmi_rural():
    """Xinmi rural pays by class: no class, no benefit, and a failed check says so."""
    given = answers()
    given["area_type"] = "rural"
    given["incomes"][0]["income_amount"] = 300
    given["incomes"][1]["income_amount"] = 150
    # (300 + 150) / 3 = 150 a month < 260: eligible on income.
    result = run(given, XINMI)
    assert result["per_capita_income"] == 150 and result["benefit"] is None
    assert check(result, "benefit_class")["reason"]["en"] == (
        "the benefit is paid by class: choose A/B/C")
    given["benefit_class"] = "B"
    result = run(given, XINMI)
    # Class B: 260 × 60% = 156 per person × 3 = 468.
    assert (result["benefit_class"], result["benefit"]) == ("B", 468)
    assert not [c for c in result["checks"] if c["id"] == "benefit_class"]


def test_no_policy_for_region():
    """Without a policy, the money part is empty and a failed check explains."""
    result = run(policy=None)
    assert result["per_capita_income"] is None and result["benefit"] is None
    assert check(result, "policy")["passed"] is False
    assert result["eligible"] is False


def test_no_area_type():
    """Without urban/rural nothing can be calculated, and the check says so."""
    given = answers()
    del given["area_type"]
    result = run(given)
    assert check(result, "area_type")["passed"] is False
    assert result["benefit"] is None


def test_record_values_fill_unanswered_fields():
    """Fields the answers leave out come from the downloaded record (prefill)."""
    given = answers()
    del given["area_type"]
    record = {**RECORD, "household": {**RECORD["household"], "area_type": "urban"}}
    result = assess(SURVEY, given, record, KESHAN,
                    AssessmentContext(visit_date=VISIT, investigator_ids=[2, 3]))
    assert result["area_type"] == "urban" and result["benefit"] == 711
