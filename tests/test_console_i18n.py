"""The console's catalogue: every text a template or screen names exists in both languages."""

import re
from pathlib import Path

from server.console import i18n

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
    import pytest

    with pytest.raises(ValueError):
        i18n.add_messages({"app.name": ("别的", "Other")})
