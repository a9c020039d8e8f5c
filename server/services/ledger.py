"""The rectification ledger (整改台账, 问题销号): entries, their state changes, progress, export.

Every problem found — by an automatic check, a cross-check match, a payment-roll mismatch or
a supervisor by hand — is an entry here, with its responsible township and deadline; the
state machine and the evidence rule are domain/audit_ledger.py. Township supervisors see the
entries of their own township (households through services.scope), county supervisors and
admins see all. Investigators do not use the ledger: an entry that needs a re-survey marks
its household for a re-visit in the app's download instead (`revisits`).
"""

import io
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from openpyxl import Workbook
from sqlalchemy import Select, and_, bindparam, case, exists, func, insert, literal, or_, select
from sqlalchemy.orm import selectinload

from .. import county_clock
from ..domain import audit_ledger
from ..domain.audit_categories import (
    ACTION_IDS,
    ACTIONS,
    CATEGORY_IDS,
    category_label,
    category_of_check,
)
from ..extensions import MAX_DB_INT, db
from ..models import (
    AuditEntry,
    CrosscheckFlag,
    Household,
    LedgerEntry,
    LedgerTransition,
    MediaObject,
    Region,
    ReviewAssignment,
    Submission,
    SubmissionMedia,
    User,
)
from ..models.clock import utcnow
from . import audit
from .audit_files import plain_text
from .errors import Conflict, Forbidden, Invalid, NotFound
from .plain_sql import Plain
from .region_tree import require_in_scope
from .scope import covers_village, region_ids_under, scoped_households
from .spreadsheet_cells import xlsx_row
from .versions import next_change_seq

STATE_LABELS = {
    "open": {"zh": "待整改", "en": "open"},
    "in_progress": {"zh": "整改中", "en": "in progress"},
    "rectified": {"zh": "已整改待核实", "en": "rectified, to verify"},
    "closed": {"zh": "已销号", "en": "closed"},
}
SOURCE_LABELS = {
    "check": {"zh": "自动核查", "en": "automatic check"},
    "crosscheck": {"zh": "信息比对", "en": "cross-check list"},
    "payment_roll": {"zh": "花名册核对", "en": "payment roll"},
    "manual": {"zh": "人工发现", "en": "found by a supervisor"},
}
MAX_PAGE = 500
# An amount to recover is kept in a Numeric(12, 2) column: below ten billion yuan (a larger
# one went to the database, or past Decimal's 28 digits while rounded to the fen: a 500).
AMOUNT_LIMIT = 10**10

# The household with its village and township, and the transitions, for a page of entries.
_ENTRY_LOAD = (
    selectinload(LedgerEntry.household).selectinload(Household.village),
    selectinload(LedgerEntry.township),
    selectinload(LedgerEntry.transitions),
)


# Built once: the merge opens the entries of a survey's failed checks with these (see
# open_from_checks).
_REFS_TAKEN = Plain(
    select(LedgerEntry.source_ref, LedgerEntry.id).where(
        LedgerEntry.source == "check", LedgerEntry.source_ref.in_(bindparam("refs"))
    )
)
_PLACE = Plain(
    select(Region.id, Region.parent_id, Region.level).where(Region.id == bindparam("region_id"))
)
_INSERT_ENTRY = Plain(insert(LedgerEntry.__table__).returning(LedgerEntry.__table__.c.id))
_INSERT_TRANSITION = Plain(insert(LedgerTransition.__table__))


def require_supervisor(user: User) -> None:
    """Refuse anyone but supervisors and admins."""
    if user.role not in ("supervisor", "admin"):
        raise Forbidden("无权查看整改台账 / the ledger is for supervisors", code="ledger.forbidden")


def entries_in_scope(user: User) -> Select:
    """Return a select of the entries the user may see: their households, or their township."""
    region = db.session.get(Region, user.region_id)
    households = scoped_households(user).with_only_columns(Household.id)
    return select(LedgerEntry).where(
        or_(
            LedgerEntry.household_id.in_(households),
            and_(
                LedgerEntry.household_id.is_(None),
                LedgerEntry.township_id.in_(region_ids_under(region)),
            ),
        )
    )


def township_of(household: Household) -> Region:
    """Return the township a household's village belongs to."""
    village = household.village or db.session.get(Region, household.village_id)
    return db.session.get(Region, _township_id(village.id, village.parent_id, village.level))


def _township_id(region_id: int, parent_id: int | None, level: str) -> int:
    """Return the id of a household's township from its village's region row: the village's
    parent (a household placed directly under a township has that township)."""
    return parent_id if parent_id is not None and level == "village" else region_id


def _opened(*, household_id: int | None, township_id: int, category: str, source: str,
            actions, description: str, source_ref: str | None, member_id: str | None,
            found_by: int | None, found_on: date, due_on: date | None,
            amount_to_recover: Decimal | None, comment: str) -> tuple[dict, dict]:
    """Return the columns of a new open entry, and of its creation transition (without its
    entry_id): the one rule for both ways an entry is opened (open_entry, open_from_checks)."""
    entry = {
        "household_id": household_id, "member_id": member_id, "township_id": township_id,
        "category": category, "source": source, "source_ref": source_ref,
        "description": plain_text(description), "actions": list(actions),
        "found_on": found_on, "found_by": found_by,
        "due_on": due_on or default_due_on(found_on), "state": "open",
        "amount_to_recover": amount_to_recover,
    }
    transition = {"from_state": None, "to_state": "open", "actor_id": found_by,
                  "comment": plain_text(comment) or SOURCE_LABELS[source]["zh"]}
    return entry, transition


def default_due_on(found_on: date) -> date:
    """Return the deadline for a problem found on a day (RUHU_LEDGER_DEADLINE_DAYS later)."""
    return found_on + timedelta(days=current_app.config.get("LEDGER_DEADLINE_DAYS", 30))


def open_entry(
    *,
    household: Household | None,
    category: str,
    source: str,
    actions: list[str],
    description: str = "",
    source_ref: str | None = None,
    township: Region | None = None,
    member_id: str | None = None,
    found_by: User | None = None,
    found_on: date | None = None,
    due_on: date | None = None,
    amount_to_recover: Decimal | None = None,
    comment: str = "",
) -> LedgerEntry:
    """Add an entry (state open, with its creation transition); the caller commits.

    One finding makes one entry: an entry with the same (source, source_ref) is returned as
    it is. Callers whose entry needs a re-visit also call `mark_changed` for the household.
    """
    if source_ref is not None:
        existing = db.session.scalar(
            select(LedgerEntry).where(
                LedgerEntry.source == source, LedgerEntry.source_ref == source_ref
            )
        )
        if existing is not None:
            return existing
    values, opening = _opened(
        household_id=household.id if household else None,
        township_id=(township or township_of(household)).id,
        category=category, source=source, actions=actions, description=description,
        source_ref=source_ref, member_id=member_id,
        found_by=found_by.id if found_by else None, found_on=found_on or county_clock.today(),
        due_on=due_on, amount_to_recover=amount_to_recover, comment=comment,
    )
    entry = LedgerEntry(**values)
    db.session.add(entry)
    db.session.flush()
    db.session.add(LedgerTransition(entry_id=entry.id, **opening))
    return entry


def mark_changed(household_ids) -> None:
    """Give households a new change sequence, so the app's delta carries their new revisit.

    Call last before committing: the counter row stays locked until the commit. One number
    per household, in id order: the delta pages by change_seq and must never split a tie.
    """
    for household_id in sorted({h for h in household_ids if h is not None}):
        household = db.session.get(Household, household_id)
        household.change_seq = next_change_seq()


def _fen(amount: float | int) -> Decimal | None:
    """Return an amount rounded to the fen, or None when it is no amount the column holds
    (a bool, which is an int to Python; not finite; AMOUNT_LIMIT or more once rounded:
    9999999999.999 rounds up to it)."""
    if isinstance(amount, bool) or not math.isfinite(amount) or abs(amount) >= AMOUNT_LIMIT:
        return None
    fen = Decimal(str(amount)).quantize(Decimal("0.01"))
    return fen if abs(fen) < AMOUNT_LIMIT else None


def _validate_fields(data: dict) -> dict[str, list[str]]:
    """Check the category, actions and money of entry fields; return the problems.

    Money arrives as a number and is kept to the fen as a Decimal.
    """
    errors: dict[str, list[str]] = {}
    amount = data.get("amount_to_recover")
    if isinstance(amount, float | int):
        fen = _fen(amount)
        if fen is None:
            errors["amount_to_recover"] = [f"must be a number below {AMOUNT_LIMIT}"]
            data.pop("amount_to_recover")
        else:
            data["amount_to_recover"] = fen
    if "category" in data and data["category"] not in CATEGORY_IDS:
        errors["category"] = [f"one of {', '.join(CATEGORY_IDS)}"]
    if "actions" in data:
        actions = data["actions"]
        if not actions or any(a not in ACTION_IDS for a in actions):
            errors["actions"] = [f"at least one of {', '.join(ACTION_IDS)}"]
    if data.get("amount_to_recover") is not None and data["amount_to_recover"] < 0:
        errors["amount_to_recover"] = ["must not be negative"]
    return errors


def create(user: User, data: dict, *, ip: str | None = None) -> LedgerEntry:
    """Add an entry a supervisor found by hand on a household in their scope. Commits.

    data: {"household_id" (or "household_code"), "category", "actions", "description",
    "member_id"?, "due_on"?, "amount_to_recover"?}.
    """
    require_supervisor(user)
    errors = _validate_fields(data)
    if errors:
        raise Invalid("整改条目有误 / invalid ledger entry", errors=errors)
    code = plain_text(data.get("household_code") or "")
    if code:
        # The console names households by code, as their door labels do.
        household = db.session.scalar(scoped_households(user).where(Household.code == code))
    elif isinstance(data.get("household_id"), int):
        household = (
            db.session.get(Household, data["household_id"])
            if data["household_id"] <= MAX_DB_INT
            else None
        )
    else:
        raise Invalid("请填写户编号 / name the household",
                      errors={"household_code": ["required"]})
    if household is None:
        raise NotFound("户不存在 / no such household")
    if not covers_village(user, household.village_id):
        raise Forbidden(
            "此户不在您的负责范围内 / household outside your region", code="scope.forbidden"
        )
    if data.get("member_id") and data["member_id"] not in {m.id for m in household.members}:
        raise NotFound("此户没有该成员 / no such member in this household")
    entry = open_entry(
        household=household,
        category=data["category"],
        source="manual",
        actions=data["actions"],
        description=data.get("description", ""),
        member_id=data.get("member_id"),
        found_by=user,
        due_on=data.get("due_on"),
        amount_to_recover=data.get("amount_to_recover"),
    )
    audit.record(
        "ledger.create",
        actor=user,
        object_type="ledger_entry",
        object_id=entry.id,
        ip=ip,
        detail={"category": entry.category, "household_id": entry.household_id},
    )
    if audit_ledger.needs_revisit(entry.state, entry.actions):
        mark_changed([entry.household_id])
    db.session.commit()
    return entry


# Households whose failed checks are audit problems: those already receiving benefits (a
# new applicant who fails a check is refused, not rectified).
AUDITED_STATUSES = ("covered", "suspended")


def open_from_checks(
    submission: Submission, *, actor: User | None = None, check_ids: list[str] | None = None
) -> list[int]:
    """Open an entry for each failed check of a survey that is an audit problem; return the
    entries' ids (an entry already opened for a check is returned, not opened again). The
    caller commits; the merge calls this inside its transaction.

    Only checks of covered (or suspended) households count; one entry per (survey, check).
    What open_entry writes, written as prebuilt statements: the merge runs this on every
    survey of a covered household, under the household's lock.
    """
    household = (
        db.session.get(Household, submission.household_id) if submission.household_id else None
    )
    if household is None or household.status not in AUDITED_STATUSES:
        return []
    found = []  # (source_ref, category, actions, description) of each problem check
    for check in (submission.assessment or {}).get("checks") or []:
        if check_ids is not None and check.get("id") not in check_ids:
            continue
        problem = category_of_check(check)
        if problem is None:
            continue
        category, actions = problem
        reason = check.get("reason") or {}
        found.append((
            f"check:{submission.instance_id}:{check.get('id')}"[:120],
            category,
            actions,
            f"{reason.get('zh', '')}({check.get('rule', '')})",
        ))
    if not found:
        return []
    taken = dict(_REFS_TAKEN.execute({"refs": [ref for ref, *_ in found]}))
    found_on = county_clock.day_of(submission.received_at or utcnow())
    township_id = _township_id(*_PLACE.first({"region_id": household.village_id}))
    ids, revisit = [], False
    for ref, category, actions, description in found:
        if ref in taken:
            ids.append(taken[ref])
            continue
        values, opening = _opened(
            household_id=household.id, township_id=township_id, category=category,
            source="check", actions=actions, description=description, source_ref=ref,
            member_id=None, found_by=actor.id if actor else None, found_on=found_on,
            due_on=None, amount_to_recover=None, comment="",
        )
        entry_id = _INSERT_ENTRY.scalar(values, columns=True)
        _INSERT_TRANSITION.execute({"entry_id": entry_id, **opening}, columns=True)
        ids.append(entry_id)
        revisit = revisit or audit_ledger.needs_revisit("open", actions)
    if revisit:
        mark_changed([household.id])
    return ids


def create_from_check(
    user: User, instance_id: str, check_id: str, *, ip: str | None = None
) -> LedgerEntry:
    """Make a ledger entry of one failed check of a survey in the user's scope. Commits."""
    require_supervisor(user)
    submission = db.session.scalar(select(Submission).where(Submission.instance_id == instance_id))
    if submission is None or submission.household_id is None:
        raise NotFound("调查不存在 / no such survey")
    household = db.session.get(Household, submission.household_id)
    if not covers_village(user, household.village_id):
        raise Forbidden(
            "此户不在您的负责范围内 / household outside your region", code="scope.forbidden"
        )
    check = next(
        (c for c in (submission.assessment or {}).get("checks") or [] if c.get("id") == check_id),
        None,
    )
    if check is None:
        raise NotFound("此调查没有该核查项 / no such check on this survey")
    if category_of_check(check) is None:
        raise Conflict(
            "该核查项不是清查问题 / this check is not an audit problem", code="ledger.not_a_problem"
        )
    if household.status not in AUDITED_STATUSES:
        raise Conflict(
            "只有在保户的问题进入整改台账 / only covered households have ledger entries",
            code="ledger.not_covered",
        )
    [entry_id] = open_from_checks(submission, actor=user, check_ids=[check_id])
    entry = db.session.get(LedgerEntry, entry_id)
    audit.record(
        "ledger.create",
        actor=user,
        object_type="ledger_entry",
        object_id=entry.id,
        ip=ip,
        detail={"category": entry.category, "household_id": household.id, "check": check_id},
    )
    db.session.commit()
    return entry


def _entry_for(user: User, entry_id: int, *, for_update: bool = False) -> LedgerEntry:
    """Return an entry in the user's scope, or raise NotFound."""
    require_supervisor(user)
    if not 0 < entry_id <= MAX_DB_INT:
        raise NotFound("整改条目不存在 / no such ledger entry")
    query = entries_in_scope(user).where(LedgerEntry.id == entry_id).options(*_ENTRY_LOAD)
    if for_update:
        query = query.with_for_update(of=LedgerEntry)
    entry = db.session.scalar(query)
    if entry is None:
        raise NotFound("整改条目不存在 / no such ledger entry")
    return entry


def get(user: User, entry_id: int, *, ip: str | None = None) -> LedgerEntry:
    """Return one entry with its transitions; the read is audited."""
    entry = _entry_for(user, entry_id)
    audit.record("ledger.read", actor=user, object_type="ledger_entry", object_id=entry.id, ip=ip)
    db.session.commit()
    return entry


def _check_evidence(entry: LedgerEntry, evidence: list[dict]) -> None:
    """Check that surveys and photos named as evidence exist and concern this household."""
    errors = []
    for index, item in enumerate(evidence):
        if item["kind"] == "survey":
            submission = db.session.scalar(
                select(Submission).where(Submission.instance_id == item["instance_id"])
            )
            if submission is None or submission.household_id != entry.household_id:
                errors.append(f"evidence[{index}]: no survey of this household with that id")
            elif submission.received_at < entry.created_at:
                errors.append(f"evidence[{index}]: the survey is older than the problem")
        elif item["kind"] == "document":
            listed = db.session.scalar(
                select(SubmissionMedia.id)
                .join(Submission, Submission.id == SubmissionMedia.submission_id)
                .where(
                    SubmissionMedia.sha256 == item["sha256"],
                    SubmissionMedia.received_at.is_not(None),
                    Submission.household_id == entry.household_id,
                )
                .limit(1)
            )
            if listed is None or db.session.get(MediaObject, item["sha256"]) is None:
                errors.append(f"evidence[{index}]: no photo of this household with that sha256")
    if errors:
        raise Invalid(
            "佐证材料不存在 / evidence not found",
            code="ledger.evidence_unknown",
            errors={"evidence": errors},
        )


def transition(
    user: User,
    entry_id: int,
    *,
    to_state: str,
    comment: str = "",
    evidence: list[dict] | None = None,
    resolution: str | None = None,
    from_state: str | None = None,
    ip: str | None = None,
) -> LedgerEntry:
    """Move an entry to another state, storing actor, time, comment and evidence. Commits.

    `from_state`, when given, is the state the supervisor saw: if someone moved the entry
    since, nothing changes (ledger.stale_state). Without it, "in progress" chosen on an
    open entry that was rectified meanwhile would send it back as a failed verification.
    """
    entry = _entry_for(user, entry_id, for_update=True)
    if from_state is not None and from_state != entry.state:
        raise Conflict(
            "此条目已被他人变更,状态未改;请按现在的状态重新决定 / the entry changed "
            "meanwhile and was not moved: decide again from its present state",
            code="ledger.stale_state",
            errors={"state": [entry.state]},
        )
    try:
        step = audit_ledger.transition(
            entry.state, to_state, evidence=evidence, comment=comment, resolution=resolution
        )
    except audit_ledger.TransitionRefused as refused:
        raise Conflict(
            f"{refused.reason['zh']} / {refused.reason['en']}",
            code=refused.code,
            errors={"state": [refused.reason["en"]]},
        ) from None
    _check_evidence(entry, step.evidence)
    revisit_before = audit_ledger.needs_revisit(entry.state, entry.actions)
    _apply_step(entry, step, actor=user, comment=plain_text(comment), ip=ip)
    if revisit_before != audit_ledger.needs_revisit(entry.state, entry.actions):
        mark_changed([entry.household_id])
    db.session.commit()
    return entry


def _apply_step(
    entry: LedgerEntry,
    step: audit_ledger.Transition,
    *,
    actor: User | None,
    comment: str,
    ip: str | None,
    detail: dict | None = None,
) -> None:
    """Move an entry by an allowed step: its state (and resolution when closed), the
    transition row and the audit entry (`detail` added to the audit's)."""
    entry.state = step.to_state
    if step.to_state == "closed":
        entry.resolution = step.resolution
        entry.closed_at = utcnow()
    db.session.add(
        LedgerTransition(
            entry_id=entry.id,
            from_state=step.from_state,
            to_state=step.to_state,
            actor_id=actor.id if actor else None,
            comment=comment,
            evidence=step.evidence,
        )
    )
    audit.record(
        "ledger.transition",
        actor=actor,
        object_type="ledger_entry",
        object_id=entry.id,
        ip=ip,
        detail={
            "from": step.from_state,
            "to": step.to_state,
            "resolution": step.resolution,
            **(detail or {}),
        },
    )


EDITABLE = ("category", "actions", "description", "due_on", "amount_to_recover")


def update(
    user: User,
    entry_id: int,
    data: dict,
    *,
    seen_updated_at: datetime | None = None,
    ip: str | None = None,
) -> LedgerEntry:
    """Change what an open entry requires (category, actions, deadline ...). Commits.

    `seen_updated_at`, when given, is the entry's `updated_at` as the supervisor saw it:
    if anyone edited or moved the entry since, nothing changes (ledger.stale), so two
    supervisors editing the same entry never silently overwrite each other.
    """
    entry = _entry_for(user, entry_id, for_update=True)
    if entry.state == "closed":
        raise Conflict("已销号的条目不能修改 / a closed entry cannot change", code="ledger.closed")
    if seen_updated_at is not None and seen_updated_at != entry.updated_at:
        raise Conflict(
            "此条目已被他人修改,您的修改未保存;请按现在的内容重新修改 / the entry changed "
            "meanwhile and your changes were not saved: edit it again from what it holds now",
            code="ledger.stale",
            errors={"updated_at": [entry.updated_at.replace(tzinfo=UTC).isoformat()]},
        )
    data = {k: v for k, v in data.items() if k in EDITABLE}
    if "description" in data:
        data["description"] = plain_text(data["description"])
    errors = _validate_fields(data)
    if errors:
        raise Invalid("整改条目有误 / invalid ledger entry", errors=errors)
    revisit_before = audit_ledger.needs_revisit(entry.state, entry.actions)
    changed = {}
    for key, value in data.items():
        old = getattr(entry, key)
        if key == "actions":
            value = list(value)
        if old != value:
            changed[key] = {"old": _plain(old), "new": _plain(value)}
            setattr(entry, key, value)
    if changed:
        audit.record(
            "ledger.update",
            actor=user,
            object_type="ledger_entry",
            object_id=entry.id,
            ip=ip,
            detail={"changed": changed},
        )
    if revisit_before != audit_ledger.needs_revisit(entry.state, entry.actions):
        mark_changed([entry.household_id])
    db.session.commit()
    return entry


def _plain(value):
    """Return a value the audit log's JSON can hold."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _filtered(user: User, filters: dict, today: date) -> Select:
    """Return the scoped select of entries matching the filters, overdue ones first."""
    query = entries_in_scope(user)
    overdue = and_(LedgerEntry.state.in_(audit_ledger.ACTIVE_STATES), LedgerEntry.due_on < today)
    state = filters.get("state")
    if state == "overdue":
        query = query.where(overdue)
    elif state == "active":
        query = query.where(LedgerEntry.state != "closed")
    elif state:
        query = query.where(LedgerEntry.state == state)
    for key, column in (
        ("category", LedgerEntry.category),
        ("source", LedgerEntry.source),
        ("household_id", LedgerEntry.household_id),
    ):
        if filters.get(key) is not None:
            query = query.where(column == filters[key])
    if filters.get("township_code"):
        township, _ = require_in_scope(user, township=filters["township_code"])
        query = query.where(LedgerEntry.township_id == township.id)
    return query.order_by(case((overdue, 0), else_=1), LedgerEntry.due_on, LedgerEntry.id)


def household_filter(user: User, household_id: int) -> Household:
    """Return the household a list of entries is narrowed to, with its members.

    Only a household in the user's scope: one outside it is NotFound exactly as one that
    does not exist, so a filter tells nothing of the households of other regions.
    """
    require_supervisor(user)
    household = (
        db.session.scalar(
            scoped_households(user)
            .where(Household.id == household_id)
            .options(selectinload(Household.members))
        )
        if 0 < household_id <= MAX_DB_INT
        else None
    )
    if household is None:
        raise NotFound("户不存在 / no such household")
    return household


def list_entries(
    user: User,
    filters: dict,
    *,
    limit: int = 100,
    offset: int = 0,
    today: date | None = None,
    ip: str | None = None,
) -> dict:
    """Return a page of entries in scope matching the filters, overdue first. Audited."""
    require_supervisor(user)
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid("limit 超出范围 / limit out of range", errors={"limit": [f"1..{MAX_PAGE}"]})
    today = today or county_clock.today()
    query = _filtered(user, filters, today)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    entries = db.session.scalars(query.options(*_ENTRY_LOAD).limit(limit).offset(offset)).all()
    audit.record(
        "ledger.list",
        actor=user,
        object_type="ledger_entry",
        object_id="*",
        ip=ip,
        detail={"filters": {k: _plain(v) for k, v in filters.items()}, "count": len(entries)},
    )
    db.session.commit()
    return {"entries": entries, "total": total, "today": today}


def progress(user: User, *, today: date | None = None) -> list[dict]:
    """Return progress by township and category over the entries in scope."""
    require_supervisor(user)
    today = today or county_clock.today()
    scoped = entries_in_scope(user).subquery()
    rows = db.session.execute(
        select(Region.code, Region.name, scoped.c.category, scoped.c.state, scoped.c.due_on).join(
            Region, Region.id == scoped.c.township_id
        )
    ).all()
    names = {code: name for code, name, *_ in rows}
    result = audit_ledger.progress(
        [
            {"township": code, "category": cat, "state": st, "due_on": due}
            for code, _, cat, st, due in rows
        ],
        today,
    )
    for row in result:
        row["township_code"] = row["township"]
        row["township"] = names[row["township_code"]]
        row["category_label"] = category_label(row["category"])
    return result


def is_overdue(entry: LedgerEntry, today: date | None = None) -> bool:
    """Tell whether an entry is past its deadline and not yet rectified."""
    return audit_ledger.is_overdue(entry.state, entry.due_on, today or county_clock.today())


EXPORT_COLUMNS = (
    ("编号 No.", lambda e, t: e.id),
    ("责任乡镇 Township", lambda e, t: e.township.name),
    ("村(社区) Village", lambda e, t: e.household.village.name if e.household else ""),
    ("户编号 Household", lambda e, t: e.household.code if e.household else ""),
    ("问题类别 Category", lambda e, t: category_label(e.category)["zh"]),
    ("发现方式 Found by", lambda e, t: SOURCE_LABELS[e.source]["zh"]),
    ("发现日期 Found on", lambda e, t: e.found_on),
    ("问题描述 Description", lambda e, t: e.description),
    ("整改措施 Actions", lambda e, t: "、".join(ACTIONS[a]["label"]["zh"] for a in e.actions)),
    (
        "追回金额 To recover",
        lambda e, t: float(e.amount_to_recover) if e.amount_to_recover else None,
    ),
    ("整改期限 Deadline", lambda e, t: e.due_on),
    ("状态 State", lambda e, t: STATE_LABELS[e.state]["zh"]),
    ("是否逾期 Overdue", lambda e, t: "是" if is_overdue(e, t) else ""),
    (
        "销号结论 Resolution",
        lambda e, t: {"rectified": "整改到位", "unfounded": "核实无问题"}.get(
            e.resolution or "", ""
        ),
    ),
    ("销号时间 Closed at", lambda e, t: e.closed_at),
)


def export_xlsx(
    user: User, filters: dict, *, today: date | None = None, ip: str | None = None
) -> bytes:
    """Return the entries in scope matching the filters as an XLSX workbook. Audited."""
    require_supervisor(user)
    today = today or county_clock.today()
    entries = db.session.scalars(_filtered(user, filters, today).options(*_ENTRY_LOAD)).all()
    book = Workbook(write_only=True)
    sheet = book.create_sheet("整改台账")
    sheet.append([title for title, _ in EXPORT_COLUMNS])
    for entry in entries:
        sheet.append(xlsx_row(sheet, [value(entry, today) for _, value in EXPORT_COLUMNS]))
    summary = book.create_sheet("进度 Progress")
    summary.append(
        [
            "乡镇 Township",
            "问题类别 Category",
            "合计 Total",
            "待整改 Open",
            "整改中 In progress",
            "已整改 Rectified",
            "已销号 Closed",
            "逾期 Overdue",
            "销号率 Closed share",
        ]
    )
    for row in progress(user, today=today):
        summary.append(xlsx_row(
            summary,
            [
                row["township"],
                row["category_label"]["zh"],
                row["total"],
                row["open"],
                row["in_progress"],
                row["rectified"],
                row["closed"],
                row["overdue"],
                row["closed_share"],
            ],
        ))
    buffer = io.BytesIO()
    book.save(buffer)
    audit.record(
        "ledger.export",
        actor=user,
        object_type="ledger_entry",
        object_id="*",
        ip=ip,
        detail={"filters": {k: _plain(v) for k, v in filters.items()}, "count": len(entries)},
    )
    db.session.commit()
    return buffer.getvalue()


# ---- the re-visit marker of the app's download (docs/architecture.md, "Audit") -----------------


def last_visits(household_ids: list[int]) -> dict[int, object]:
    """Return when a survey of each household last arrived (discarded ones do not count)."""
    return dict(
        db.session.execute(
            select(Submission.household_id, func.max(Submission.received_at))
            .where(
                Submission.household_id.in_(household_ids),
                Submission.merge_state != "discarded",
            )
            .group_by(Submission.household_id)
        ).all()
    )


def _with_candidates(household_ids: list[int]) -> list[int]:
    """Return those of the households that have an active ledger entry or a review
    assignment: the only ones a marker can be for (one query, may_need_revisit)."""
    if not household_ids:
        return []
    return list(db.session.scalars(
        select(Household.id)
        .where(Household.id.in_(household_ids), may_need_revisit())
        .order_by(Household.id)
    ))


def may_need_revisit():
    """Return the probe as an SQL condition on Household (an active ledger entry or a review
    assignment), for a caller to read with the household in the same query (the QR lookup)
    and then ask `revisits(..., probed=True)` only when it holds."""
    return or_(
        exists().where(
            LedgerEntry.household_id == Household.id,
            # Plain bound values, not an expanding IN (rendered again at every execution).
            LedgerEntry.state.in_([literal(state) for state in audit_ledger.ACTIVE_STATES]),
        ),
        exists().where(ReviewAssignment.household_id == Household.id),
    )


def revisits(household_ids: list[int], *, probed: bool = False) -> dict[int, dict]:
    """Return the re-visit marker of each household that has one: {id: revisit}.

    A household is to be re-visited while a ledger entry of it needs a re-survey (open or in
    progress, with the action "resurvey"), or while an investigator is assigned its periodic
    review — each until a survey of the household arrives after it. Three queries for any
    number of households, after one probe that finds most households have nothing to mark
    (then that probe is the only query: a QR lookup pays one round trip, not three).
    """
    if not probed:
        household_ids = _with_candidates(household_ids)
    if not household_ids:
        return {}
    visited = last_visits(household_ids)
    rows = db.session.execute(
        select(LedgerEntry, CrosscheckFlag)
        .outerjoin(CrosscheckFlag, CrosscheckFlag.ledger_entry_id == LedgerEntry.id)
        .where(
            LedgerEntry.household_id.in_(household_ids),
            LedgerEntry.state.in_(audit_ledger.ACTIVE_STATES),
        )
        .order_by(LedgerEntry.due_on, LedgerEntry.id)
    ).all()
    result: dict[int, dict] = {}

    def marker(household_id: int) -> dict:
        """Return the household's marker, made empty on first use."""
        return result.setdefault(household_id, {"reasons": [], "assigned_to": None})

    for entry, flag in rows:
        last = visited.get(entry.household_id)
        if not audit_ledger.needs_revisit(entry.state, entry.actions) or (
            last is not None and last > entry.created_at
        ):
            continue
        marker(entry.household_id)["reasons"].append(
            {
                "entry_id": entry.id,
                "category": entry.category,
                "label": category_label(entry.category),
                "source": entry.source,
                "list_kind": flag.list_kind if flag else None,
                "strength": flag.strength if flag else None,
                "member_id": entry.member_id,
                "due_on": entry.due_on.isoformat(),
                "since": entry.created_at.isoformat(timespec="seconds") + "Z",
            }
        )
    for assignment in db.session.scalars(
        select(ReviewAssignment).where(ReviewAssignment.household_id.in_(household_ids))
    ):
        last = visited.get(assignment.household_id)
        if last is None or last < assignment.assigned_at:
            marker(assignment.household_id)["assigned_to"] = assignment.investigator_id
    return result


def annotate(households: list[Household]) -> list[Household]:
    """Set `revisit` (a dict or None) on each household for the wire; return them."""
    markers = revisits([h.id for h in households])
    for household in households:
        household.revisit = markers.get(household.id)
    return households


# ---- entries whose finding was withdrawn (a payment roll withdrawn or replaced) ---------------

# Audit actions on an entry that are not work on it.
_NOT_WORK = ("ledger.read", "ledger.create")


def worked_on(entries: list[LedgerEntry]) -> set[int]:
    """Return the ids of those entries someone has worked on: moved on from open, given a
    comment or evidence (any transition after the creation), or edited (every change of an
    entry is in the audit log, whatever screen made it)."""
    worked = {e.id for e in entries if e.state != "open" or len(e.transitions) > 1}
    if entries:
        worked.update(
            int(entry_id)
            for entry_id in db.session.scalars(
                select(AuditEntry.object_id).where(
                    AuditEntry.object_type == "ledger_entry",
                    AuditEntry.object_id.in_([str(e.id) for e in entries]),
                    AuditEntry.action.not_in(_NOT_WORK),
                )
            )
        )
    return worked


def close_withdrawn(
    entries: list[LedgerEntry],
    *,
    actor: User | None,
    note: str,
    detail: dict,
    ip: str | None = None,
) -> None:
    """Close open entries whose finding was withdrawn (its roll withdrawn or replaced) as
    unfounded, the note saying so as their evidence; each closing is a transition and an
    audit entry. The caller marks the households (`mark_changed`, last) and commits."""
    note = plain_text(note)
    for entry in entries:
        step = audit_ledger.transition(
            entry.state,
            "closed",
            evidence=[{"kind": "note", "text": note}],
            resolution="unfounded",
        )
        _apply_step(entry, step, actor=actor, comment=note, ip=ip, detail=detail)
