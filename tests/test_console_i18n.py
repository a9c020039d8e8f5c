"""The console's catalogue: every text a template or screen names exists in both languages."""

import re
from pathlib import Path

import pytest

from server.console import i18n
from tests.conftest import TOWNSHIP_1, TOWNSHIP_2

pytest_plugins = ["tests.console_helpers"]

CONSOLE = Path(__file__).resolve().parent.parent / "server" / "console"
KEY_IN_TEMPLATE = re.compile(r"""_\(\s*["']([a-z0-9_.]+)["']""")
KEY_IN_PYTHON = re.compile(r"""(?:translate|_t|NavItem\([^)]*?,)\s*\(?\s*["']([a-z0-9_.]+)["']""")


def _used_keys() -> set[str]:
    """Collect the literal message keys of the console's templates and modules."""
    keys = set()
    for path in CONSOLE.rglob("*.html"):
        keys |= set(KEY_IN_TEMPLATE.findall(path.read_text(encoding="utf-8")))
    for path in CONSOLE.rglob("*.py"):
        keys |= set(KEY_IN_PYTHON.findall(path.read_text(encoding="utf-8")))
    # `_("role." ~ user.role)` builds its key at run time: only the literal prefix is seen.
    return {key for key in keys if not key.endswith(".")}


def _declared_keys() -> set[str]:
    """Return the keys every console module passes to add_messages, read without importing
    (a screen still being written is not imported by the app yet)."""
    import ast

    keys = set()
    for path in CONSOLE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "add_messages"
                    and node.args and isinstance(node.args[0], ast.Dict)):
                keys |= {k.value for k in node.args[0].keys if isinstance(k, ast.Constant)}
    return keys


def test_every_used_key_has_both_languages(app):
    """No page ever shows a bare key or a blank in either language."""
    catalogue = i18n.catalogue()
    used = _used_keys()
    assert used, "the scan found no keys: the pattern is broken"
    missing = sorted(key for key in used if key not in catalogue and key not in _declared_keys())
    assert not missing
    for key, (zh, en) in catalogue.items():
        assert zh.strip() and en.strip(), key


def test_placeholders_match_between_languages(app):
    """A text with {n} in Chinese has {n} in English too."""
    for key, (zh, en) in i18n.catalogue().items():
        assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), key


def test_a_key_cannot_be_defined_twice_differently():
    """Screens adding texts cannot silently overwrite another screen's."""
    with pytest.raises(ValueError):
        i18n.add_messages({"app.name": ("别的", "Other")})


COUNT_NAMES = ("n", "rows", "matched", "new", "count")


def test_english_counts_name_their_noun_by_the_number(app):
    """A count followed by a plural noun in English uses {n:one|many}: never "1 households"
    again. Chinese needs no plural, so no Chinese text uses the spec."""
    plural_noun = re.compile(r"{(\w+)}(?: open| ledger)? ([a-z]+s)\b|\(s\)")
    for key, (zh, en) in i18n.catalogue().items():
        bare = [m.group(0) for m in plural_noun.finditer(en)
                if m.group(0) == "(s)" or m.group(1) in COUNT_NAMES]
        assert not bare, (key, en)
        assert not re.search(r"{\w+:[^}]*\|", zh), key
        for one, many in re.findall(r"{\w+:([^}|]*)\|([^}]*)}", en):
            assert one.strip() and many.strip(), key


@pytest.mark.parametrize(
    "key,params,zh,en",
    [
        ("labels.count", {"n": 1}, "1 户", "1 household"),
        ("labels.count", {"n": 2}, "2 户", "2 households"),
        ("labels.count", {"n": 0}, "0 户", "0 households"),
        ("queue.conflicts_n", {"n": 1}, "1 个冲突", "1 conflict"),
        ("common.results", {"n": 1}, "共 1 条", "1 result"),
        ("rolls.entered", {"n": 1}, "已登记 1 个整改条目。", "1 ledger entry made."),
        ("rolls.entered", {"n": 3}, "已登记 3 个整改条目。", "3 ledger entries made."),
        ("audit.imported", {"rows": 1, "matched": 1, "new": 2},
         "已导入 1 行,命中 1 行,新增疑点 2 个。", "Imported 1 row; 1 matched; 2 new flags."),
    ],
)
def test_one_and_many_in_both_languages(app, key, params, zh, en):
    """The word follows the number in English; Chinese reads the same for any number."""
    from flask import session

    with app.test_request_context():
        assert i18n.translate(key, **params) == zh
        session["lang"] = "en"
        assert i18n.translate(key, **params) == en


def test_a_page_says_one_household_in_english(console, demo):
    """The door-label sheet of a one-household village, rendered: "1 household"."""
    from server.extensions import db
    from server.models import Household

    village = demo.households_in(TOWNSHIP_1)[0].village
    extra = db.session.query(Household).filter(Household.village_id == village.id).all()[1:]
    for household in extra:  # leave the village one household
        household.village_id = demo.households_in(TOWNSHIP_2)[0].village_id
    db.session.commit()
    client = console.as_user("sup1")
    client.post("/console/language", {"lang": "en"})
    page = client.text(f"/console/labels?village={village.code}")
    assert "1 household" in page and "1 households" not in page
