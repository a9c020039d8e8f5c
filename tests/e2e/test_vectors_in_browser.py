"""The shared JsonLogic, assessment and ID number vectors, run in the real browser through
the app's own modules (pwa/js/logic.js over the served json-logic-js, pwa/js/policy.js and
pwa/js/idcard.js)."""

import json
import math
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
VECTORS = Path(__file__).resolve().parents[2] / "forms" / "vectors"

RUN = """async ({logicVectors, assessment, ids}) => {
    const logic = await import("/js/logic.js");
    const policy = await import("/js/policy.js");
    const idcard = await import("/js/idcard.js");
    const run = (fn) => { try { return fn(); } catch (error) { return "error: " + error.message; } };
    return {
        logic: logicVectors.map((v) => run(() => logic.evaluate(v.rule, v.data))),
        assessment: assessment.vectors.map((v) => run(() => {
            const full = policy.assessMoney(assessment.policies[v.policy], v.facts);
            return Object.fromEntries(Object.keys(v.expected).map((k) => [k, full[k]]));
        })),
        ids: ids.vectors.map((v) => run(() => idcard.problems(v.number,
            {birthDate: v.birth_date ?? null, sex: v.sex ?? null, today: ids.today}))),
        shared: ids.shared.map((v) => run(() => idcard.shared(v.people))),
    };
}"""


def same(a, b) -> bool:
    """Deep equality where numbers compare by value and missing equals null."""
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return not isinstance(b, bool) and math.isclose(a, b, abs_tol=1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return all(same(a.get(k), b.get(k)) for k in a.keys() | b.keys())
    return a == b


def test_the_shared_vectors_pass_in_the_browser(page, live_server):
    """Every JsonLogic, assessment and ID number vector gives the expected value in Chromium."""
    logic_vectors = json.loads((VECTORS / "jsonlogic.json").read_text())["vectors"]
    assessment = json.loads((VECTORS / "assessment.json").read_text())
    ids = json.loads((VECTORS / "idcard.json").read_text())
    page.goto("/")
    page.wait_for_selector("#username")
    results = page.evaluate(
        RUN, {"logicVectors": logic_vectors, "assessment": assessment, "ids": ids})
    failures = [
        (v["name"], v["expected"], got)
        for v, got in zip(logic_vectors, results["logic"], strict=True)
        if not same(got, v["expected"])
    ]
    failures += [
        (v["name"], v["expected"], got)
        for v, got in zip(assessment["vectors"], results["assessment"], strict=True)
        if not same(got, v["expected"])
    ]
    failures += [
        (v["name"], v["expected"], got)
        for v, got in zip(ids["vectors"], results["ids"], strict=True)
        if got != v["expected"]
    ]
    failures += [
        (v["name"], v["expected"], got)
        for v, got in zip(ids["shared"], results["shared"], strict=True)
        if got != v["expected"]
    ]
    assert not failures, json.dumps(failures, ensure_ascii=False, indent=1)
    assert len(results["logic"]) > 20 and len(results["assessment"]) > 5
    assert len(results["ids"]) > 20 and len(results["shared"]) >= 5
