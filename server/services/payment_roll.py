"""Payment-roll reconciliation (发放花名册核对): import a township's roll for a month,
compare it with the covered persons and the computed benefit, keep every mismatch, and turn
mismatches into ledger entries on request.

The computed benefit is the policy engine's (domain/policy.py via services/policies.py), fed
by `computed_benefit` below — the one place this module touches money rules. Rolls hold
personal data of a whole township: like the cross-check lists they are imported and read by
county supervisors and admins only, every import and read is audited, and the raw upload is
not kept unless RUHU_AUDIT_KEEP_UPLOADS is set.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload

from .. import county_clock
from ..domain import audit_roll
from ..domain.assessment import facts_from_record
from ..domain.policy import assess_money, to_unit
from ..extensions import MAX_DB_INT, db
from ..models import (
    CrosscheckFlag,
    Household,
    LedgerEntry,
    PaymentRoll,
    PaymentRollMismatch,
    PaymentRollRow,
    Region,
    Submission,
    User,
)
from ..models.clock import utcnow
from . import audit, ledger, policies
from .audit_files import (
    file_digest,
    keep_upload,
    plain_text,
    read_table,
    require_county_auditor,
)
from .errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from .household_record import to_record
from .import_households import refuse_if_errors
from .review_calendar import last_surveys
from .scope import covers_region, scoped_households


def computed_benefit(household: Household, survey: Submission | None, on: date) -> dict:
    """Return what the policy computes for the household as recorded: {"eligible",
    "benefit" (per month), "counted_members"} (None values when it cannot be computed).

    The record gives members, incomes and supporters; the last survey's answers give what
    the record does not hold (deductible spending, unstable income) and its verdict on
    disqualifiers (an assessment that found the household ineligible stays ineligible).
    """
    policy = policies.policy_for(household.village.code, on)
    if policy is None or household.area_type not in policy.areas:
        return {"eligible": None, "benefit": None, "counted_members": None}
    answers = (survey.answers if survey else None) or {}
    money = assess_money(policy, facts_from_record(to_record(household), answers, on))
    benefit = money["benefit"]
    if benefit is not None and money["benefit_unit"] != "month":
        benefit = to_unit(benefit, money["benefit_unit"], "month")
    disqualified = bool(
        survey
        and (survey.assessment or {}).get("eligible") is False
        and (survey.assessment or {}).get("income_eligible")
    )
    return {
        "eligible": bool(money["income_eligible"]) and not disqualified,
        "benefit": benefit,
        "counted_members": money["counted_members"],
    }


def reported_deceased(household_ids: list[int]) -> dict[str, str]:
    """Return {member id: source} of members a death list names by ID number, unless the
    match was verified to be a namesake."""
    rows = db.session.execute(
        select(CrosscheckFlag.person_id, LedgerEntry.resolution)
        .outerjoin(LedgerEntry, LedgerEntry.id == CrosscheckFlag.ledger_entry_id)
        .where(
            CrosscheckFlag.household_id.in_(household_ids),
            CrosscheckFlag.list_kind == "deaths",
            CrosscheckFlag.person_kind == "member",
            CrosscheckFlag.strength == "strong",
        )
    ).all()
    return {person: "crosscheck" for person, resolution in rows if resolution != "unfounded"}


def household_facts(households: list[Household], township: Region, on: date) -> dict:
    """Return {code: HouseholdFacts} for the roll's comparison."""
    ids = [h.id for h in households]
    surveys = last_surveys(ids)
    reported = reported_deceased(ids)
    facts = {}
    for household in households:
        deceased = [
            {
                "member_id": m.id,
                "name": m.name,
                "id_number": m.id_number,
                "died_on": m.died_on.isoformat() if m.died_on else None,
                "source": "record" if m.died_on else reported[m.id],
            }
            for m in household.members
            if m.died_on or m.id in reported
        ]
        dead = {d["member_id"] for d in deceased}
        money = computed_benefit(household, surveys.get(household.id), on)
        facts[household.code] = audit_roll.HouseholdFacts(
            household_id=household.id,
            code=household.code,
            in_township=household.village.parent_id == township.id,
            status=household.status,
            eligible=money["eligible"],
            benefit=money["benefit"],
            counted_persons=sum(1 for m in household.members if m.co_resident and m.id not in dead),
            deceased=deceased,
        )
    return facts


def parse_roll(path: Path, *, today: date) -> list[audit_roll.RollRow]:
    """Read and check every row of a roll; refuse it, naming each bad row, if any is bad."""
    rows, errors = [], []
    for number, cells in read_table(path, audit_roll.ROLL_COLUMNS):
        row, problems = audit_roll.parse_roll_row(number, cells, today=today)
        if problems:
            errors.extend(f"row {number}: {p}" for p in problems)
        else:
            rows.append(row)
    refuse_if_errors(errors)
    return rows


PERIOD = re.compile(r"[1-9]\d{3}-(0[1-9]|1[0-2])")  # year 0000 is no date


def _township(code: str) -> Region:
    """Return the township with this code or refuse."""
    township = db.session.scalar(
        select(Region).where(Region.code == plain_text(code), Region.level == "township")
    )
    if township is None:
        raise Invalid("未知乡镇 / unknown township", errors={"township_code": [code]})
    return township


def _period_start(period: str) -> date:
    """Return the first day of a YYYY-MM period, or refuse it."""
    if not isinstance(period, str) or not PERIOD.fullmatch(period):
        raise Invalid(
            "发放月份须为 YYYY-MM / period must be YYYY-MM", errors={"period": ["YYYY-MM"]}
        )
    return date(int(period[:4]), int(period[5:]), 1)


def _lock_township(township_id: int) -> None:
    """Lock the township's row until the commit: imports, replacements and withdrawals of its
    rolls run one at a time, so two clerks cannot both pass a check of the month's current
    roll (PostgreSQL; SQLite runs one writer at a time anyway)."""
    db.session.scalar(select(Region.id).where(Region.id == township_id).with_for_update())


def _refuse_second_roll(
    township: Region,
    period: str,
    path: Path,
    *,
    actor: User | None,
    filename: str | None,
    ip: str | None,
) -> None:
    """Refuse a second roll of a township for a month, and audit the refusal (it commits).

    A month's roll imported twice would count every payment twice, and make every mismatch
    a second time. Refused rather than replaced without being asked: the earlier roll may
    already have ledger entries made from its mismatches, and an audit record is never
    overwritten. A wrong roll is corrected explicitly, with a reason (`replace_roll`,
    `withdraw_roll`); the refusal says so. Only the month's current roll counts: after a
    withdrawal the month may be imported again.
    """
    _lock_township(township.id)
    earlier = db.session.scalar(
        select(PaymentRoll)
        .where(
            PaymentRoll.township_id == township.id,
            PaymentRoll.period == period,
            PaymentRoll.state == "current",
        )
        .order_by(PaymentRoll.id)
        .limit(1)
    )
    if earlier is None:
        return
    audit.record(
        "payment_roll.import_refused",
        actor=actor,
        object_type="payment_roll",
        object_id=earlier.id,
        ip=ip,
        detail={
            "township": township.code,
            "period": period,
            "filename": (filename or path.name)[:255],
            "sha256": file_digest(path),
            "reason": "period_taken",
        },
    )
    db.session.commit()
    raise Conflict(
        f"{township.name} {period} 的花名册已导入(第 {earlier.id} 号),本次未导入;如导入有误,"
        f"请替换第 {earlier.id} 号花名册(上传正确文件并说明原因)或撤回它 / "
        f"the {period} roll of {township.name} is already imported (roll {earlier.id}); "
        f"nothing was imported. To correct a wrong import, replace roll {earlier.id} (the "
        "right file and a reason) or withdraw it",
        code="payment_roll.period_taken",
        errors={
            "roll_id": earlier.id,
            "imported_at": _utc(earlier.imported_at),
        },
    )


def _utc(moment) -> str:
    """Return a stored (naive UTC) time as RFC 3339 text."""
    return moment.isoformat(timespec="seconds") + "Z"


def _township_in_scope(actor: User | None, township: Region) -> None:
    """Refuse a township outside the actor's region (None is the command line)."""
    if actor is not None and not covers_region(actor, township.id):
        raise Forbidden(
            "此乡镇不在您的负责范围内 / township outside your region", code="scope.forbidden"
        )


def import_roll(
    path: Path,
    township_code: str,
    period: str,
    *,
    actor: User | None,
    filename: str | None = None,
    today: date | None = None,
    ip: str | None = None,
) -> PaymentRoll:
    """Import a township's roll for a month and reconcile it with the record. Commits."""
    require_county_auditor(actor)
    township = _township(township_code)
    _township_in_scope(actor, township)
    _period_start(period)
    _refuse_second_roll(township, period, path, actor=actor, filename=filename, ip=ip)
    roll = _reconciled_roll(path, township, period, actor=actor, filename=filename, today=today)
    audit.record(
        "payment_roll.import",
        actor=actor,
        object_type="payment_roll",
        object_id=roll.id,
        ip=ip,
        detail=_import_detail(roll),
    )
    db.session.commit()
    return roll


def _import_detail(roll: PaymentRoll) -> dict:
    """Return what the audit log keeps of an import."""
    return {
        "township": roll.township.code,
        "period": roll.period,
        "sha256": roll.file_sha256,
        "rows": roll.row_count,
        "mismatches": roll.mismatch_count,
        "kept": roll.kept_path is not None,
    }


def _reconciled_roll(
    path: Path,
    township: Region,
    period: str,
    *,
    actor: User | None,
    filename: str | None,
    today: date | None,
) -> PaymentRoll:
    """Read a roll file, reconcile it with the record and add the roll with its rows and
    mismatches (flushed, not committed); refuse it, naming each bad row, if any is bad."""
    on = _period_start(period)
    today = today or county_clock.today()
    rows = parse_roll(path, today=today)
    if actor is not None:
        in_scope = scoped_households(actor)
    else:
        # The command line reconciles within the township's county: a row naming another
        # county's household code is money paid to a household this county does not know,
        # and that household's facts are none of the roll's readers' business.
        county = township.parent or township
        in_scope = select(Household).where(
            Household.village_id.in_(select(Region.id).where(Region.path.startswith(county.path)))
        )
    loaded = (
        selectinload(Household.members),
        selectinload(Household.supporters),
        selectinload(Household.incomes),
        selectinload(Household.assets),
        selectinload(Household.village),
    )
    villages = select(Region.id).where(Region.parent_id == township.id)
    households = db.session.scalars(
        in_scope.where(
            (Household.code.in_({r.household_code for r in rows}))
            | ((Household.village_id.in_(villages)) & (Household.status == "covered"))
        ).options(*loaded)
    ).all()
    facts = household_facts(households, township, on)
    covered_codes = [
        h.code for h in households if h.status == "covered" and h.village.parent_id == township.id
    ]
    mismatches = audit_roll.reconcile(rows, facts, covered_codes)
    digest = file_digest(path)
    roll = PaymentRoll(
        township=township,
        period=period,
        filename=(filename or path.name)[:255],
        file_sha256=digest,
        imported_by=actor.id if actor else None,
        row_count=len(rows),
        total_amount=sum((r.amount for r in rows), Decimal("0")),
        mismatch_count=len(mismatches),
        kept_path=keep_upload(path, kind=f"roll-{township.code}-{period}", sha256=digest),
    )
    db.session.add(roll)
    db.session.flush()
    for row in rows:
        known = facts.get(row.household_code)
        db.session.add(
            PaymentRollRow(
                roll_id=roll.id,
                row_number=row.row_number,
                household_code=row.household_code,
                household_id=known.household_id if known else None,
                name=row.name[:64],
                id_number=row.id_number,
                persons=row.persons,
                amount=row.amount,
            )
        )
    for mismatch in mismatches:
        roll.mismatches.append(
            PaymentRollMismatch(
                row_number=mismatch.row_number,
                household_id=mismatch.household_id,
                household_code=mismatch.household_code,
                kind=mismatch.kind,
                category=mismatch.category,
                facts=mismatch.facts,
            )
        )
    db.session.flush()
    return roll


def rolls(user: User, *, ip: str | None = None) -> list[PaymentRoll]:
    """Return the rolls of the townships in the user's region, newest first (county
    supervisors and admins). Audited."""
    require_county_auditor(user)
    result = db.session.scalars(
        select(PaymentRoll)
        .join(Region, Region.id == PaymentRoll.township_id)
        .where(Region.path.startswith(user.region_path or "-"))  # no region: none
        .options(
            selectinload(PaymentRoll.township),
            selectinload(PaymentRoll.replaced_by),
            selectinload(PaymentRoll.withdrawer),
        )
        .order_by(PaymentRoll.imported_at.desc(), PaymentRoll.id.desc())
    ).all()
    audit.record(
        "payment_roll.list",
        actor=user,
        object_type="payment_roll",
        object_id="*",
        ip=ip,
        detail={"count": len(result)},
    )
    db.session.commit()
    return result


def get_roll(user: User, roll_id: int, *, ip: str | None = None) -> PaymentRoll:
    """Return a roll with its mismatches (county supervisors and admins). Audited."""
    require_county_auditor(user)
    roll = db.session.get(PaymentRoll, roll_id) if 0 < roll_id <= MAX_DB_INT else None
    if roll is None or not covers_region(user, roll.township_id):
        # Another county's roll reads as none at all: its names and amounts are not ours.
        raise NotFound("花名册不存在 / no such payment roll")
    audit.record(
        "payment_roll.read", actor=user, object_type="payment_roll", object_id=roll.id, ip=ip
    )
    db.session.commit()
    return roll


def to_ledger(
    user: User, roll_id: int, mismatch_ids: list[int] | None = None, *, ip: str | None = None
) -> list[LedgerEntry]:
    """Make ledger entries of a roll's mismatches (all when no ids are given). Commits.

    One entry per mismatch however often asked; the entry names the mismatch's category,
    the usual rectification, and the responsible township (the roll's, for money paid to a
    household the record does not know).
    """
    roll = get_roll(user, roll_id, ip=ip)
    if roll.state != "current":
        # A withdrawn roll's mismatches were withdrawn with it.
        raise _not_current(roll)
    wanted = None if mismatch_ids is None else set(mismatch_ids)
    chosen = [m for m in roll.mismatches if wanted is None or m.id in wanted]
    if wanted is not None and len(chosen) != len(wanted):
        raise NotFound("差异不存在 / no such mismatch on this roll")
    # With each household's village and township: the entry is the township's.
    households = {
        h.id: h
        for h in db.session.scalars(
            select(Household)
            .where(Household.id.in_({m.household_id for m in chosen}))
            .options(joinedload(Household.village).joinedload(Region.parent))
        )
    }
    entries, revisit = [], []
    for stored in chosen:
        mismatch = stored.as_found()
        household = households.get(stored.household_id)
        member = None
        if stored.kind == "deceased_person" and stored.facts.get("deceased"):
            member = stored.facts["deceased"][0].get("member_id")
        # A mismatch a replacement carried over names the entry still open for its finding.
        entry = (
            db.session.get(LedgerEntry, stored.ledger_entry_id) if stored.ledger_entry_id else None
        )
        entry = entry or ledger.open_entry(
            household=household,
            township=roll.township if household is None else None,
            category=mismatch.category,
            source="payment_roll",
            source_ref=f"mismatch:{stored.id}",
            actions=mismatch.actions,
            description=f"{roll.period} {audit_roll.describe(mismatch)}",
            member_id=member,
            found_by=user,
        )
        stored.ledger_entry_id = entry.id
        entries.append(entry)
        if household is not None and "resurvey" in entry.actions:
            revisit.append(household.id)
    audit.record(
        "payment_roll.to_ledger",
        actor=user,
        object_type="payment_roll",
        object_id=roll.id,
        ip=ip,
        detail={"entries": [e.id for e in entries]},
    )
    ledger.mark_changed(revisit)
    db.session.commit()
    return entries


# ---- correcting a wrong roll: withdraw it, alone or by a replacement ---------------------------

MAX_REASON = 2000


@dataclass
class Withdrawal:
    """What withdrawing a roll did: the roll (now withdrawn or superseded), the roll that
    replaced it, the entries closed with it, and the entries someone had worked on, which
    stay open for a supervisor to look at (those a replacement found again carried over)."""

    roll: PaymentRoll
    replacement: PaymentRoll | None
    closed_entries: list[LedgerEntry]
    entries_to_review: list[LedgerEntry]


def withdraw_roll(user: User, roll_id: int, reason: str, *, ip: str | None = None) -> Withdrawal:
    """Withdraw a wrongly imported roll (wrong file, wrong month) without a replacement.
    Commits.

    The roll stays on record as withdrawn, with who, when and why; its month may be imported
    again. Entries made of its mismatches are settled as `_withdraw` says.
    """
    roll, reason = _take_roll(user, roll_id, reason, state="withdrawn")
    withdrawal = _withdraw(roll, user, reason, replacement=None, ip=ip)
    _audit_withdrawal("payment_roll.withdraw", withdrawal, user, reason, ip)
    ledger.mark_changed(_revisit_households(withdrawal.closed_entries))
    db.session.commit()
    return withdrawal


def replace_roll(
    path: Path,
    roll_id: int,
    reason: str,
    *,
    actor: User,
    filename: str | None = None,
    today: date | None = None,
    ip: str | None = None,
) -> Withdrawal:
    """Import a corrected roll of the same township and month in place of a wrong one.
    Commits.

    The new roll is reconciled as any import; the old one stays on record as superseded by
    it (who, when, why). Its entries are settled as `_withdraw` says; an entry someone worked
    on that is still open is carried over to the new roll's mismatch of the same household
    and category, if it has one, rather than entered a second time.
    """
    roll, reason = _take_roll(actor, roll_id, reason, state="superseded")
    try:
        replacement = _reconciled_roll(
            path, roll.township, roll.period, actor=actor, filename=filename, today=today
        )
    except ServiceError:
        db.session.rollback()  # a file refused (bad rows): the roll stays current
        raise
    replacement.replaces_id = roll.id
    withdrawal = _withdraw(roll, actor, reason, replacement=replacement, ip=ip)
    to_review = {e.id: e for e in withdrawal.entries_to_review}
    kept = {}
    for mismatch in roll.mismatches:
        entry = to_review.get(mismatch.ledger_entry_id)
        if entry is not None:
            kept.setdefault((mismatch.household_code, entry.category), entry)
    carried = []
    for mismatch in replacement.mismatches:
        entry = kept.pop((mismatch.household_code, mismatch.category), None)
        if entry is not None:
            mismatch.ledger_entry_id = entry.id
            carried.append(entry.id)
    audit.record(
        "payment_roll.import",
        actor=actor,
        object_type="payment_roll",
        object_id=replacement.id,
        ip=ip,
        detail={**_import_detail(replacement), "replaces": roll.id},
    )
    _audit_withdrawal(
        "payment_roll.supersede", withdrawal, actor, reason, ip, carried_entries=carried
    )
    ledger.mark_changed(_revisit_households(withdrawal.closed_entries))
    db.session.commit()
    return withdrawal


def _take_roll(actor: User, roll_id: int, reason, *, state: str) -> tuple[PaymentRoll, str]:
    """Mark a roll withdrawn (state "withdrawn" or "superseded") by the actor for a reason,
    and return it with the reason cleaned; or refuse: county auditors of its township only
    (another region's roll is a 404, as one that does not exist),
    a reason given, and the roll still the month's current one (someone may have replaced
    or withdrawn it since the page was shown). The caller commits, or its refusal rolls
    this back.

    The change is one conditional UPDATE (… WHERE state = 'current'), after the township's
    row lock (PostgreSQL): of two supervisors correcting the same roll at once, the second
    changes no row and is told who was first. On SQLite, which has no row locks, the
    UPDATE is that writer's first write, so it waits for the first writer's commit and then
    sees its state.
    """
    require_county_auditor(actor)
    roll = db.session.get(PaymentRoll, roll_id) if 0 < roll_id <= MAX_DB_INT else None
    if roll is None or (actor is not None and not covers_region(actor, roll.township_id)):
        # Another county's roll is none at all, as when reading it (get_roll).
        raise NotFound("花名册不存在 / no such payment roll")
    reason = _reason(reason)
    _lock_township(roll.township_id)
    taken = db.session.execute(
        update(PaymentRoll)
        .where(PaymentRoll.id == roll.id, PaymentRoll.state == "current")
        .values(
            state=state,
            withdrawn_at=utcnow(),
            withdrawn_by=actor.id if actor else None,
            withdrawn_reason=reason,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(roll)  # as stored now, by this change or the one before it
    if taken != 1:
        raise _not_current(roll)
    return roll, reason


def _reason(reason) -> str:
    """Return the reason for a withdrawal, cleaned, or refuse a missing or too long one."""
    text = plain_text(reason if isinstance(reason, str) else "")
    if not text:
        raise Invalid(
            "请说明撤回或替换花名册的原因 / give the reason for withdrawing or replacing the roll",
            code="payment_roll.reason_required",
            errors={"reason": ["required"]},
        )
    if len(text) > MAX_REASON:
        raise Invalid(
            f"原因最多 {MAX_REASON} 字 / the reason has at most {MAX_REASON} characters",
            errors={"reason": [f"at most {MAX_REASON} characters"]},
        )
    return text


def _not_current(roll: PaymentRoll) -> Conflict:
    """Return the refusal of a change to a roll that was already withdrawn or replaced."""
    by = roll.withdrawer.username if roll.withdrawer else ""
    at = _utc(roll.withdrawn_at) if roll.withdrawn_at else None
    replacement = roll.replaced_by
    if replacement is not None:
        message = (
            f"第 {roll.id} 号花名册已被第 {replacement.id} 号替换({by},{at}),未作更改 / "
            f"roll {roll.id} was already replaced by roll {replacement.id} ({by}, {at}); "
            "nothing changed"
        )
    else:
        message = (
            f"第 {roll.id} 号花名册已撤回({by},{at}),未作更改 / roll {roll.id} was already "
            f"withdrawn ({by}, {at}); nothing changed"
        )
    return Conflict(
        message,
        code="payment_roll.not_current",
        errors={
            "roll_id": roll.id,
            "state": roll.state,
            "replaced_by": replacement.id if replacement is not None else None,
            "withdrawn_at": at,
            "withdrawn_by": by,
        },
    )


def _withdraw(
    roll: PaymentRoll,
    actor: User | None,
    reason: str,
    *,
    replacement: PaymentRoll | None,
    ip: str | None,
) -> Withdrawal:
    """Settle the entries made of a roll's mismatches as it is withdrawn (or superseded).

    An entry nobody has touched (still open as it was made, services/ledger.worked_on) came
    from this roll alone: it is closed as unfounded, the withdrawal named in its note. An
    entry someone has worked on stays as it is, for a supervisor to look at: its work may
    stand whatever the roll said. Closed entries are left alone. (An entry belongs to one
    current roll: a replacement takes over the entries it carries, and its predecessor is
    no longer current.)
    """
    entries = db.session.scalars(
        _open_entries_of(roll).options(selectinload(LedgerEntry.transitions))
    ).all()
    worked = ledger.worked_on(entries)
    untouched = [e for e in entries if e.id not in worked]
    if replacement is None:
        note = (
            f"第 {roll.id} 号花名册({roll.period})已撤回,此差异随之作废。原因:{reason} / "
            f"payment roll {roll.id} ({roll.period}) was withdrawn, and this mismatch with "
            f"it. Reason: {reason}"
        )
    else:
        note = (
            f"第 {roll.id} 号花名册({roll.period})已被第 {replacement.id} 号替换,此差异随之"
            f"作废。原因:{reason} / payment roll {roll.id} ({roll.period}) was superseded by "
            f"roll {replacement.id}, and this mismatch with it. Reason: {reason}"
        )
    ledger.close_withdrawn(
        untouched,
        actor=actor,
        note=note,
        ip=ip,
        detail={"payment_roll": roll.id, "roll_state": roll.state},
    )
    return Withdrawal(roll, replacement, untouched, [e for e in entries if e.id in worked])


def _revisit_households(entries: list[LedgerEntry]) -> list[int]:
    """Return the households of closed entries that sent investigators back (a re-survey)."""
    return [e.household_id for e in entries if "resurvey" in (e.actions or [])]


def _audit_withdrawal(
    action: str, withdrawal: Withdrawal, actor: User, reason: str, ip: str | None, **extra
) -> None:
    """Record a withdrawal or supersession in the audit log (the caller commits)."""
    roll = withdrawal.roll
    audit.record(
        action,
        actor=actor,
        object_type="payment_roll",
        object_id=roll.id,
        ip=ip,
        detail={
            "township": roll.township.code,
            "period": roll.period,
            "reason": reason,
            "replaced_by": withdrawal.replacement.id if withdrawal.replacement else None,
            "closed_entries": [e.id for e in withdrawal.closed_entries],
            "entries_to_review": [e.id for e in withdrawal.entries_to_review],
            **extra,
        },
    )


def open_entries(roll: PaymentRoll) -> list[LedgerEntry]:
    """Return the entries made of a roll's mismatches that are not closed, by id: after a
    withdrawal, the worked-on entries still for a supervisor to look at (the roll's page)."""
    return db.session.scalars(_open_entries_of(roll)).all()


def _open_entries_of(roll: PaymentRoll):
    """Return the select of the entries made of a roll's mismatches not closed yet, by id."""
    made = select(PaymentRollMismatch.ledger_entry_id).where(
        PaymentRollMismatch.roll_id == roll.id
    )
    return (
        select(LedgerEntry)
        .where(LedgerEntry.id.in_(made), LedgerEntry.state != "closed")
        .order_by(LedgerEntry.id)
    )
