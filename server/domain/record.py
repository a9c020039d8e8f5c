"""The household record as plain data: the shape shared by prefill, merge and history.

A record is a dict::

    {"household": {field: value, ...},
     "members":    {member_uuid: {field: value, ...}, ...},
     "supporters": {...}, "assets": {...}, "incomes": {...}}

Values are JSON-native (dates as ISO strings, money as numbers). A *path* names one field:
``household.address`` or ``members.<uuid>.occupation``; ``members.<uuid>`` names a whole item
(added when its old value is None, removed when its new value is None).
"""

import copy
from typing import Any

HOUSEHOLD_FIELDS = (
    "code",
    "village_id",
    "area_type",
    "address",
    "phone",
    "lat",
    "lon",
    "status",
    "benefit_class",
    "hardship_cause",
    "staff_relative",
    "disputed",
    "next_review_on",
)

COLLECTION_FIELDS = {
    "members": (
        "position",
        "name",
        "id_number",
        "relation",
        "sex",
        "birth_date",
        "health",
        "disability_grade",
        "work_ability",
        "occupation",
        "co_resident",
        "died_on",
    ),
    "supporters": (
        "position",
        "name",
        "id_number",
        "relation",
        "household_size",
        "monthly_income",
    ),
    "assets": ("position", "category", "description", "quantity", "value"),
    "incomes": ("position", "member_id", "category", "amount", "period", "note"),
}

COLLECTIONS = tuple(COLLECTION_FIELDS)

# What the record's sections and fields are called (the console's `section.*` and
# `field.*` texts, the built-in record form's labels: domain/record_form.py).
SECTION_LABELS = {
    "household": {"zh": "户基本信息", "en": "Household"},
    "members": {"zh": "家庭成员", "en": "Members"},
    "supporters": {"zh": "赡(抚、扶)养义务人", "en": "Legal supporters"},
    "assets": {"zh": "家庭财产", "en": "Property"},
    "incomes": {"zh": "家庭收入", "en": "Income"},
}
FIELD_LABELS = {
    "code": {"zh": "户编号", "en": "Household code"},
    "village_id": {"zh": "村(社区)", "en": "Village"},
    "area_type": {"zh": "城乡", "en": "Urban/rural"},
    "address": {"zh": "住址", "en": "Address"},
    "phone": {"zh": "电话", "en": "Phone"},
    "lat": {"zh": "纬度", "en": "Latitude"},
    "lon": {"zh": "经度", "en": "Longitude"},
    "status": {"zh": "保障状态", "en": "Status"},
    "benefit_class": {"zh": "保障类别", "en": "Benefit class"},
    "hardship_cause": {"zh": "主要致困原因", "en": "Main cause of hardship"},
    "staff_relative": {"zh": "干部职工近亲属", "en": "Relative of staff"},
    "disputed": {"zh": "有争议/举报", "en": "Disputed"},
    "next_review_on": {"zh": "下次复核", "en": "Next review"},
    "position": {"zh": "序号", "en": "No."},
    "name": {"zh": "姓名", "en": "Name"},
    "id_number": {"zh": "身份证号", "en": "ID number"},
    "relation": {"zh": "与户主关系", "en": "Relation"},
    "sex": {"zh": "性别", "en": "Sex"},
    "birth_date": {"zh": "出生日期", "en": "Born"},
    "health": {"zh": "健康状况", "en": "Health"},
    "disability_grade": {"zh": "残疾等级", "en": "Disability grade"},
    "work_ability": {"zh": "劳动能力", "en": "Ability to work"},
    "occupation": {"zh": "就业/就学", "en": "Work or school"},
    "co_resident": {"zh": "共同生活", "en": "Lives in household"},
    "died_on": {"zh": "死亡日期", "en": "Died on"},
    "household_size": {"zh": "其家庭人口", "en": "Their household size"},
    "monthly_income": {"zh": "月收入(元)", "en": "Monthly income (yuan)"},
    "category": {"zh": "类别", "en": "Category"},
    "description": {"zh": "描述", "en": "Description"},
    "quantity": {"zh": "数量/面积", "en": "Quantity/area"},
    "value": {"zh": "价值(元)", "en": "Value (yuan)"},
    "member_id": {"zh": "成员", "en": "Member"},
    "amount": {"zh": "金额(元)", "en": "Amount (yuan)"},
    "period": {"zh": "周期", "en": "Period"},
    "note": {"zh": "备注", "en": "Note"},
}

# Fields that identify a person's sensitive data (个人信息保护法): masked where not needed.
SENSITIVE_FIELDS = frozenset(
    {"id_number", "health", "disability_grade", "amount", "monthly_income"}
)


def shows_sensitive(path: str, *values) -> bool:
    """Tell whether values at a record path show sensitive data: the path is a sensitive
    field, or a whole item (a member, an income ...) whose values hold one filled in."""
    field = path.rpartition(".")[2]
    if field in SENSITIVE_FIELDS:
        return True
    return any(
        isinstance(value, dict)
        and any(value.get(name) not in (None, "") for name in SENSITIVE_FIELDS)
        for value in values
    )


def empty_record() -> dict:
    """Return a record with no fields and no items."""
    return {"household": {}, **{name: {} for name in COLLECTIONS}}


def field_path(section: str, field: str, item_id: str | None = None) -> str:
    """Return the path of one field, e.g. ``members.<uuid>.name``."""
    return f"{section}.{item_id}.{field}" if item_id else f"{section}.{field}"


def split_path(path: str) -> tuple[str, str | None, str | None]:
    """Split a path into (section, item_id, field); raise ValueError when malformed."""
    parts = path.split(".")
    if parts[0] == "household" and len(parts) == 2 and parts[1] in HOUSEHOLD_FIELDS:
        return "household", None, parts[1]
    if parts[0] in COLLECTION_FIELDS and len(parts) in (2, 3) and parts[1]:
        if len(parts) == 3 and parts[2] not in COLLECTION_FIELDS[parts[0]]:
            raise ValueError(f"unknown field in path: {path}")
        return parts[0], parts[1], parts[2] if len(parts) == 3 else None
    raise ValueError(f"unknown path: {path}")


def get_value(record: dict, path: str) -> Any:
    """Return the value at a path (None when absent)."""
    section, item_id, field = split_path(path)
    if item_id is None:
        return record.get("household", {}).get(field)
    item = record.get(section, {}).get(item_id)
    if field is None or item is None:
        return item
    return item.get(field)


def diff(old: dict, new: dict) -> list[dict]:
    """List the changes from `old` to `new` as ``{"path", "old", "new"}``, in a stable order."""
    changes: list[dict] = []
    old_h, new_h = old.get("household", {}), new.get("household", {})
    for field in HOUSEHOLD_FIELDS:
        if old_h.get(field) != new_h.get(field):
            changes.append(
                {"path": f"household.{field}", "old": old_h.get(field), "new": new_h.get(field)}
            )
    for section, fields in COLLECTION_FIELDS.items():
        old_items, new_items = old.get(section, {}), new.get(section, {})
        for item_id in sorted(old_items.keys() | new_items.keys()):
            before, after = old_items.get(item_id), new_items.get(item_id)
            if before is None or after is None:
                changes.append({"path": f"{section}.{item_id}", "old": before, "new": after})
                continue
            for field in fields:
                if before.get(field) != after.get(field):
                    changes.append(
                        {
                            "path": f"{section}.{item_id}.{field}",
                            "old": before.get(field),
                            "new": after.get(field),
                        }
                    )
    return changes


_ATOMS = (str, int, float, bool, type(None))


def copy_json(value: Any) -> Any:
    """Return a deep copy of JSON-shaped data (dicts, lists, scalars).

    A record is copied on every merge and assessment; this is several times faster than
    ``copy.deepcopy`` on such data (no memo: JSON has no shared or cyclic parts). Anything
    else is handed to deepcopy.
    """
    if isinstance(value, _ATOMS):
        return value
    if type(value) is dict:
        return {key: item if isinstance(item, _ATOMS) else copy_json(item)
                for key, item in value.items()}
    if type(value) is list:
        return [item if isinstance(item, _ATOMS) else copy_json(item) for item in value]
    return copy.deepcopy(value)
