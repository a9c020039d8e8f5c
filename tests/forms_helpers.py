"""A complete, valid set of answers to the shipped survey, for tests to start from."""

import copy
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FORM_PATH = ROOT / "forms" / "dibao_household_survey" / "2026.1.yaml"
SURVEY = yaml.safe_load(FORM_PATH.read_text("utf-8"))
VISIT_DATE = "2026-05-22"
HOME = {"lat": 48.036, "lon": 125.884}
HEAD_ID = "230229197001010015"  # valid: check character 5


def sha(n: int) -> str:
    """Return a distinct fake SHA-256 hex digest."""
    return f"{n:064x}"


def photo(n: int, category: str, *, at: str = "2026-05-22T10:05:00+08:00",
          lat: float = 48.0361, lon: float = 125.8841) -> dict:
    """Return one photo answer taken at the home during the visit."""
    return {"sha256": sha(n), "category": category, "caption": "", "captured_at": at,
            "location": {"lat": lat, "lon": lon, "accuracy": 8}}


def signature(n: int, role: str, name: str, user_id: int | None = None) -> dict:
    """Return one signature answer."""
    value = {"sha256": sha(1000 + n), "role": role, "signer_name": name}
    if user_id is not None:
        value["user_id"] = user_id
    return value


def answers() -> dict:
    """Return complete answers for a Keshan urban household of three (a fresh copy)."""
    disqualifiers = {q["name"]: False for section in SURVEY["sections"]
                     if section["name"] == "disqualifier_checklist"
                     for q in section["children"] if q["type"] == "yes_no"}
    return copy.deepcopy({
        "application_type": "review", "visit_date": VISIT_DATE, "respondent_name": "王建国",
        "area_type": "urban", "address": "城东社区3组12号", "phone": "13800001234",
        "location": {**HOME, "accuracy": 5}, "staff_relative": False, "disputed": False,
        "reported": False,
        "members": [
            {"id": "m-head", "member_name": "王建国", "member_id_number": HEAD_ID,
             "relation": "self", "sex": "male", "birth_date": "1970-01-01", "health": "healthy",
             "work_ability": "full", "occupation": "灵活就业", "co_resident": True},
            {"id": "m-wife", "member_name": "李秀英", "relation": "spouse", "sex": "female",
             "birth_date": "1972-03-04", "health": "disabled", "disability_grade": "2",
             "work_ability": "none", "co_resident": True},
            {"id": "m-son", "member_name": "王小明", "relation": "child", "sex": "male",
             "birth_date": "2012-09-01", "health": "healthy", "work_ability": "none",
             "occupation": "在校学生", "co_resident": True},
        ],
        "member_count": 3,
        "supporters": [],
        "incomes": [
            {"id": "i-wage", "income_member": "m-head", "income_category": "wage",
             "income_amount": 900, "income_period": "month"},
            {"id": "i-pension", "income_member": "m-wife", "income_category": "pension",
             "income_amount": 300, "income_period": "month"},
            {"id": "i-grant", "income_member": "m-son", "income_category": "scholarship",
             "income_amount": 200, "income_period": "month"},
        ],
        "declared_income_monthly": 1400,
        "assets": [{"id": "a-home", "asset_category": "housing", "asset_description": "平房",
                    "asset_quantity": 55}],
        "spending": [],
        "housing_type": "bungalow", "housing_area": 55, "housing_condition": "fair",
        "housing_decoration": "simple", "appliances": ["tv", "fridge"], "vehicles": ["none"],
        "big_purchase": False,
        "photo_housing_exterior": [photo(1, "housing_exterior")],
        "photo_housing_interior": [photo(2, "housing_interior"), photo(3, "housing_interior")],
        "photo_appliances": [photo(4, "appliances")],
        "committee_informant": "张主任(社区主任)", "committee_statement": "家庭确有困难",
        "neighbours": [{"id": "n1", "neighbour_name": "赵大妈", "neighbour_statement": "妻子常年患病"}],
        "applicant_account": "丈夫打零工,妻子残疾", "applicant_stated_income": 1200,
        "employment_checked": "向用工单位核实", "migrant_work": False, "farming": False,
        "side_business": False, "income_unstable": False,
        "documents_seen": ["hukou_original", "id_cards", "disability_certificate"],
        "photo_documents": [photo(5, "documents")],
        **disqualifiers,
        "hardship_cause": "disability", "verdict": "eligible",
        "conclusion_reason": "人均收入400元低于标准637元",
        "sig_investigator_1": signature(1, "investigator", "王调查", 2),
        "sig_investigator_2": signature(2, "investigator", "李调查", 3),
        "sig_household": signature(3, "household", "王建国"),
    })
