"""The rectification ledger (整改台账) and its 问题销号 state machine.

Keshan's plan: 对清查工作中发现的问题,要建立整改台帐,实行问题销号管理,确保整改到位. Every
problem is an entry that moves open → in_progress → rectified → closed; closing is the 销号
and needs the evidence that verified the fix (a new survey, a document photo or a
supervisor's note). A verification that fails sends the entry back to in_progress. A problem
that turns out not to exist (a namesake on a weak match) is closed from open or in_progress
as "unfounded", with the same evidence requirement: a closed entry always says why.

Pure: the service stores each transition with actor, time, comment and evidence.
"""

import re
from dataclasses import dataclass
from datetime import date

STATES = ("open", "in_progress", "rectified", "closed")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("in_progress", "closed"),
    "in_progress": ("rectified", "closed"),
    "rectified": ("closed", "in_progress"),
    "closed": (),
}
# Where a problem was found.
SOURCES = ("check", "crosscheck", "payment_roll", "manual")
# How a closed entry ended: fixed and verified, or verified not to be a problem at all.
RESOLUTIONS = ("rectified", "unfounded")
EVIDENCE_KINDS = ("survey", "document", "note")
# States in which the deadline still runs.
ACTIVE_STATES = ("open", "in_progress")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class TransitionRefused(ValueError):
    """A state change the ledger does not allow; `code` is stable, `reason` is {"zh", "en"}."""

    def __init__(self, code: str, zh: str, en: str):
        super().__init__(en)
        self.code = code
        self.reason = {"zh": zh, "en": en}


@dataclass(frozen=True)
class Transition:
    """An allowed state change, with how it ends the entry when it closes it."""

    from_state: str
    to_state: str
    resolution: str | None
    evidence: list[dict]


def evidence_problems(evidence: object) -> list[str]:
    """Say what is wrong with an evidence list (each item one survey, document or note)."""
    if not isinstance(evidence, list):
        return ["evidence must be a list"]
    problems = []
    for index, item in enumerate(evidence):
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind not in EVIDENCE_KINDS:
            problems.append(f"evidence[{index}]: kind must be one of {', '.join(EVIDENCE_KINDS)}")
        elif kind == "survey" and not str(item.get("instance_id") or "").strip():
            problems.append(f"evidence[{index}]: a survey names its instance_id")
        elif kind == "document" and not _SHA256.match(str(item.get("sha256") or "")):
            problems.append(f"evidence[{index}]: a document names its photo's sha256")
        elif kind == "note" and not str(item.get("text") or "").replace("\x00", "").strip():
            problems.append(f"evidence[{index}]: a note has text")
    return problems


def clean_evidence(evidence: list[dict]) -> list[dict]:
    """Return evidence items with only their known keys, text stripped (valid input only)."""
    keys = {"survey": ("instance_id",), "document": ("sha256", "caption"), "note": ("text",)}
    cleaned = []
    for item in evidence:
        kept = {"kind": item["kind"]}
        for key in keys[item["kind"]]:
            if item.get(key) not in (None, ""):
                # NUL characters cannot be stored (PostgreSQL) and mean nothing in a note.
                kept[key] = str(item[key]).replace("\x00", "").strip()
        cleaned.append(kept)
    return cleaned


def transition(
    from_state: str,
    to_state: str,
    *,
    evidence: list[dict] | None = None,
    comment: str = "",
    resolution: str | None = None,
) -> Transition:
    """Check a state change; return it, or raise TransitionRefused saying why not."""
    evidence = evidence or []
    if to_state not in STATES:
        raise TransitionRefused(
            "ledger.state_unknown", f"未知状态 {to_state}", f"unknown state {to_state}"
        )
    if to_state not in TRANSITIONS.get(from_state, ()):
        raise TransitionRefused(
            "ledger.transition_refused",
            f"不能从“{from_state}”改为“{to_state}”",
            f"cannot move from {from_state} to {to_state}",
        )
    problems = evidence_problems(evidence)
    if problems:
        raise TransitionRefused("ledger.evidence_invalid", "佐证材料有误", "; ".join(problems))
    if to_state == "closed":
        if not evidence:
            raise TransitionRefused(
                "ledger.evidence_required",
                "销号须有核实佐证(新的入户调查、证明材料照片或审核人说明)",
                "closing needs verifying evidence (a new survey, a document photo or a "
                "supervisor's note)",
            )
        if from_state == "rectified":
            if resolution not in (None, "rectified"):
                raise TransitionRefused(
                    "ledger.resolution_mismatch",
                    "已整改的问题以“整改到位”销号",
                    "a rectified entry is closed as rectified",
                )
            return Transition(from_state, to_state, "rectified", clean_evidence(evidence))
        # Closing without a rectification must be said explicitly, never by accident.
        if resolution != "unfounded":
            raise TransitionRefused(
                "ledger.resolution_required",
                "未经整改直接销号须注明“核实无问题”(unfounded)",
                "closing an entry that was never rectified needs resolution 'unfounded'",
            )
        return Transition(from_state, to_state, "unfounded", clean_evidence(evidence))
    if resolution is not None:
        raise TransitionRefused(
            "ledger.resolution_unexpected",
            "只有销号时才填写结论",
            "a resolution is given only when closing",
        )
    if from_state == "rectified" and to_state == "in_progress" and not comment.strip():
        raise TransitionRefused(
            "ledger.comment_required",
            "核实未通过须说明原因",
            "sending a rectified entry back needs a comment saying why",
        )
    return Transition(from_state, to_state, None, clean_evidence(evidence))


def is_overdue(state: str, due_on: date | None, today: date) -> bool:
    """Tell whether an entry is past its deadline and still not rectified."""
    return state in ACTIVE_STATES and due_on is not None and due_on < today


def needs_revisit(state: str, actions: list[str]) -> bool:
    """Tell whether an entry sends investigators back to the household (a re-survey to do)."""
    return state in ACTIVE_STATES and "resurvey" in (actions or [])


def progress(entries: list[dict], today: date) -> list[dict]:
    """Count entries by township and category: per state, overdue, and the closed share.

    `entries` are {"township", "category", "state", "due_on"}; the result is one row per
    (township, category) sorted by both, each {"township", "category", "total", "open",
    "in_progress", "rectified", "closed", "overdue", "closed_share"}.
    """
    rows: dict[tuple, dict] = {}
    for entry in entries:
        key = (entry["township"], entry["category"])
        row = rows.setdefault(
            key,
            {
                "township": key[0],
                "category": key[1],
                "total": 0,
                "overdue": 0,
                **{state: 0 for state in STATES},
            },
        )
        row["total"] += 1
        row[entry["state"]] += 1
        if is_overdue(entry["state"], entry.get("due_on"), today):
            row["overdue"] += 1
    for row in rows.values():
        row["closed_share"] = round(row["closed"] / row["total"], 4)
    return [rows[key] for key in sorted(rows, key=lambda k: (str(k[0]), k[1]))]
