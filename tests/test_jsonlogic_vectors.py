"""The shared JsonLogic vectors: the Python wrapper here, the browser wrapper through node."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from server.domain import logic

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "forms" / "vectors" / "jsonlogic.json").read_text("utf-8"))


def _same(actual, expected) -> bool:
    """Deep equality where numbers compare by value (3 equals 3.0) but not with booleans."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return abs(actual - expected) < 1e-9
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(map(_same, actual, expected))
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = actual.keys() | expected.keys()
        return all(_same(actual.get(k), expected.get(k)) for k in keys)
    return actual == expected


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_vector_in_python(vector):
    """Every vector gives its expected value through server.domain.logic."""
    assert _same(logic.evaluate(vector["rule"], vector["data"]), vector["expected"])


def test_unknown_operator_raises_logic_error():
    """An operator neither side knows is an error, not a silent null."""
    with pytest.raises(logic.LogicError):
        logic.evaluate({"foo": [1]}, {})


def _json_logic_js() -> str | None:
    """Return where json-logic-js is installed for node, or None."""
    candidates = [os.environ.get("JSON_LOGIC_JS", ""),
                  str(ROOT / "pwa" / "node_modules" / "json-logic-js" / "logic.js")]
    return next((c for c in candidates if c and Path(c).is_file()), None)


def test_vectors_in_node():
    """The same vectors (and the assessment vectors) pass through pwa/js/*.js in node."""
    library = _json_logic_js()
    if not shutil.which("node") or not library:
        pytest.skip("node or json-logic-js not installed (see tests/js/run_vectors.mjs)")
    result = subprocess.run(
        ["node", str(ROOT / "tests" / "js" / "run_vectors.mjs")],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "JSON_LOGIC_JS": library},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout
