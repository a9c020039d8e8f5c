"""The audit (清查) vocabulary: Keshan's ten problem categories and the required actions.

克山政办发〔2022〕12号 二(二) 清查内容 lists ten problems a county audit looks for; every
cross-check flag, ledger entry and roll mismatch names one of them by its stable id below.
The ids are codes on the wire and in the database: rename a label, never an id.
"""

import re

# (id, Keshan's number, zh label, en label), in the plan's order.
_CATEGORIES = (
    ("income_above_standard", 1, "家庭成员收入超出保障标准", "household income above the standard"),
    ("assets_above_standard", 2, "家庭动产和不动产超出保障标准", "property above the standard"),
    (
        "hidden_land_income",
        3,
        "一人享受多人土地、隐瞒个人收入",
        "one person drawing on several people's land, income hidden",
    ),
    (
        "hidden_support",
        4,
        "子女有固定收入、隐瞒赡养费",
        "children with stable jobs, support hidden",
    ),
    (
        "public_payroll",
        5,
        "家庭成员由财政统发工资或在高收入行业工作",
        "member paid by the public budget or in a high-income sector",
    ),
    ("deceased_receiving", 6, "已死亡人员领取低保金", "deceased person still receiving benefits"),
    ("favour_case", 7, "“按人保”“人情保”“关系保”", "benefit granted per person or as a favour"),
    ("miscalculation", 8, "收入计算不准、补差核定不准", "income or benefit miscalculated"),
    (
        "unreported_change",
        9,
        "长期在外或情况变化未及时告知",
        "long absence or changes not reported",
    ),
    ("separate_hukou", 10, "户口分开但实际共同生活", "separate hukou but living together"),
)

CATEGORIES: dict[str, dict] = {
    cid: {"id": cid, "number": number, "label": {"zh": zh, "en": en}}
    for cid, number, zh, en in _CATEGORIES
}
CATEGORY_IDS = tuple(CATEGORIES)

# What rectification a problem requires (整改措施); an entry may require several.
_ACTIONS = (
    ("stop", "停发", "stop the benefit"),
    ("reduce", "减发", "reduce the benefit"),
    ("raise", "增发", "raise the benefit"),
    ("resurvey", "重新入户调查", "re-survey the household"),
    ("recover", "追回违规资金", "recover money paid wrongly"),
)
ACTIONS: dict[str, dict] = {
    aid: {"id": aid, "label": {"zh": zh, "en": en}} for aid, zh, en in _ACTIONS
}
ACTION_IDS = tuple(ACTIONS)


def category_label(category: str) -> dict:
    """Return the {"zh", "en"} label of a category id (the id itself when unknown)."""
    entry = CATEGORIES.get(category)
    return dict(entry["label"]) if entry else {"zh": category, "en": category}


# ---- problems found by the automatic checks of a survey (domain/checks.py) ----------------

# Checks that always point to one category, and what their entry requires.
CHECK_CATEGORIES = {
    "deceased_member": ("deceased_receiving", ("reduce", "recover")),
    "conclusion": ("miscalculation", ("resurvey",)),
}
# A disqualifier's rule cites the plan's item, e.g. "克山政办发〔2022〕12号 二(二)五": the
# number after 二(二) is the category's.
_PLAN_ITEM = re.compile(r"二[(（]二[)）]\s*([一二三四五六七八九十]+)")
_NUMERALS = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)}
_BY_NUMBER = {entry["number"]: cid for cid, entry in CATEGORIES.items()}


def _numeral(text: str) -> int | None:
    """Return the value of a Chinese numeral from 一 to 十."""
    return _NUMERALS.get(text) if len(text) == 1 else None


def category_of_check(check: dict) -> tuple[str, tuple[str, ...]] | None:
    """Return (category, actions) for a failed check that is an audit problem, else None.

    Signature, photo and ID-format checks are survey quality, not 清查 problems: None.
    """
    if check.get("passed", True):
        return None
    check_id = str(check.get("id") or "")
    if check_id in CHECK_CATEGORIES:
        return CHECK_CATEGORIES[check_id]
    if check_id.startswith("disqualifier."):
        found = _PLAN_ITEM.search(str(check.get("rule") or ""))
        number = _numeral(found.group(1)) if found else None
        if number in _BY_NUMBER:
            return _BY_NUMBER[number], ("stop",)
    return None
