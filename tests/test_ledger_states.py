"""The ledger's 问题销号 state machine, with plain values (server/domain/audit_ledger.py)."""

from datetime import date

import pytest

from server.domain import audit_ledger as ledger
from server.domain.audit_ledger import TransitionRefused

NOTE = [{"kind": "note", "text": "入户核实:已停发"}]
SHA = "a" * 64


@pytest.mark.parametrize(
    "from_state,to_state",
    [("open", "in_progress"), ("in_progress", "rectified"), ("rectified", "closed")],
)
def test_the_normal_path_is_allowed(from_state, to_state):
    """open → in_progress → rectified → closed, closing with evidence."""
    step = ledger.transition(from_state, to_state, evidence=NOTE if to_state == "closed" else [])
    assert (step.from_state, step.to_state) == (from_state, to_state)
    assert step.resolution == ("rectified" if to_state == "closed" else None)


@pytest.mark.parametrize(
    "from_state,to_state",
    [
        ("open", "rectified"),  # nothing rectified without working on it
        ("open", "open"),
        ("in_progress", "open"),
        ("rectified", "open"),
        ("closed", "open"),  # 销号 is final
        ("closed", "in_progress"),
    ],
)
def test_other_moves_are_refused(from_state, to_state):
    """Skipping a step, going back to open, or leaving closed is refused with a code."""
    with pytest.raises(TransitionRefused) as caught:
        ledger.transition(from_state, to_state, evidence=NOTE, comment="x")
    assert caught.value.code == "ledger.transition_refused"
    assert caught.value.reason["zh"] and caught.value.reason["en"]


@pytest.mark.parametrize("evidence", [None, []])
def test_closing_without_evidence_is_refused(evidence):
    """销号 needs the verifying evidence."""
    with pytest.raises(TransitionRefused) as caught:
        ledger.transition("rectified", "closed", evidence=evidence, comment="looks fine")
    assert caught.value.code == "ledger.evidence_required"


@pytest.mark.parametrize(
    "item",
    [
        {"kind": "survey", "instance_id": "6f1c2f0e-1111-4c1a-9a51-6c1f0f1d2a3b"},
        {"kind": "document", "sha256": SHA, "caption": "死亡证明"},
        {"kind": "note", "text": "经村委会核实，已于3月停发"},
    ],
)
def test_any_one_kind_of_evidence_closes(item):
    """A new survey, a document photo or a supervisor's note each verify a fix."""
    step = ledger.transition("rectified", "closed", evidence=[item])
    assert step.evidence == [item]


@pytest.mark.parametrize(
    "item,message",
    [
        ({"kind": "survey"}, "instance_id"),
        ({"kind": "document", "sha256": "not-a-hash"}, "sha256"),
        ({"kind": "note", "text": "   "}, "text"),
        ({"kind": "rumour", "text": "x"}, "kind"),
        ("a string", "kind"),
    ],
)
def test_bad_evidence_is_refused(item, message):
    """Evidence items are checked for their kind and what each kind names."""
    with pytest.raises(TransitionRefused) as caught:
        ledger.transition("rectified", "closed", evidence=[item])
    assert caught.value.code == "ledger.evidence_invalid"
    assert message in caught.value.reason["en"]


def test_evidence_keeps_only_known_keys():
    """Unknown keys in an evidence item are not stored."""
    step = ledger.transition(
        "rectified", "closed", evidence=[{"kind": "note", "text": " ok ", "secret": "x"}]
    )
    assert step.evidence == [{"kind": "note", "text": "ok"}]


def test_an_unfounded_problem_closes_from_open_only_when_said_so():
    """A namesake on a weak match is closed as unfounded, explicitly, with evidence."""
    with pytest.raises(TransitionRefused) as caught:
        ledger.transition("open", "closed", evidence=NOTE)
    assert caught.value.code == "ledger.resolution_required"
    step = ledger.transition("in_progress", "closed", evidence=NOTE, resolution="unfounded")
    assert step.resolution == "unfounded"
    with pytest.raises(TransitionRefused):
        ledger.transition("open", "closed", resolution="unfounded")  # still needs evidence


def test_a_rectified_entry_is_not_closed_as_unfounded():
    """Once rectified, the close is a verified rectification."""
    with pytest.raises(TransitionRefused) as caught:
        ledger.transition("rectified", "closed", evidence=NOTE, resolution="unfounded")
    assert caught.value.code == "ledger.resolution_mismatch"


def test_failed_verification_goes_back_with_a_reason():
    """rectified → in_progress needs a comment saying what is still wrong."""
    with pytest.raises(TransitionRefused) as caught:
        ledger.transition("rectified", "in_progress")
    assert caught.value.code == "ledger.comment_required"
    assert (
        ledger.transition("rectified", "in_progress", comment="仍在领取").to_state == "in_progress"
    )


def test_resolution_only_when_closing():
    """A resolution on any other move is a mistake."""
    with pytest.raises(TransitionRefused) as caught:
        ledger.transition("open", "in_progress", resolution="rectified")
    assert caught.value.code == "ledger.resolution_unexpected"


def test_overdue_and_revisit():
    """Past the deadline and not rectified is overdue; a re-survey to do sends a visit."""
    today = date(2026, 5, 1)
    assert ledger.is_overdue("open", date(2026, 4, 30), today)
    assert ledger.is_overdue("in_progress", date(2026, 4, 30), today)
    assert not ledger.is_overdue("open", date(2026, 5, 1), today)  # due today is not late
    assert not ledger.is_overdue("rectified", date(2026, 1, 1), today)
    assert not ledger.is_overdue("closed", date(2026, 1, 1), today)
    assert ledger.needs_revisit("open", ["resurvey", "reduce"])
    assert not ledger.needs_revisit("open", ["stop"])
    assert not ledger.needs_revisit("rectified", ["resurvey"])


def test_progress_counts_by_township_and_category():
    """Progress rows: totals per state, overdue, and the share closed."""
    today = date(2026, 5, 1)
    late, later = date(2026, 4, 1), date(2026, 6, 1)
    rows = ledger.progress(
        [
            {
                "township": "北兴镇",
                "category": "deceased_receiving",
                "state": "open",
                "due_on": late,
            },
            {
                "township": "北兴镇",
                "category": "deceased_receiving",
                "state": "closed",
                "due_on": late,
            },
            {
                "township": "克山镇",
                "category": "public_payroll",
                "state": "in_progress",
                "due_on": later,
            },
        ],
        today,
    )
    assert [(r["township"], r["category"]) for r in rows] == [
        ("克山镇", "public_payroll"),
        ("北兴镇", "deceased_receiving"),
    ]
    beixing = next(r for r in rows if r["township"] == "北兴镇")
    assert (beixing["total"], beixing["open"], beixing["closed"], beixing["overdue"]) == (
        2,
        1,
        1,
        1,
    )
    assert beixing["closed_share"] == 0.5
