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
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from .. import county_clock
from ..domain import audit_roll
from ..domain.assessment import facts_from_record
from ..domain.policy import assess_money, to_unit
from ..extensions import db
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
from . import audit, ledger, policies
from .audit_files import (
    file_digest,
    keep_upload,
    plain_text,
    read_table,
    require_county_auditor,
)
from .errors import Conflict, Forbidden, Invalid, NotFound
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


def _refuse_second_roll(
    township: Region, period: str, path: Path, *, actor: User | None, filename: str | None,
    ip: str | None,
) -> None:
    """Refuse a second roll of a township for a month, and audit the refusal (it commits).

    A month's roll imported twice would count every payment twice, and make every mismatch
    a second time. Refused rather than replaced: the earlier roll may already have ledger
    entries made from its mismatches, and an audit record is never overwritten. The
    township's row is locked first, so two clerks importing the same month at once cannot
    both get past this check (PostgreSQL; SQLite runs one writer at a time anyway).
    """
    db.session.scalar(select(Region.id).where(Region.id == township.id).with_for_update())
    earlier = db.session.scalar(
        select(PaymentRoll)
        .where(PaymentRoll.township_id == township.id, PaymentRoll.period == period)
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
        f"{township.name} {period} 的花名册已导入(第 {earlier.id} 号),本次未导入 / "
        f"the {period} roll of {township.name} is already imported (roll {earlier.id}); "
        "nothing was imported",
        code="payment_roll.period_taken",
        errors={
            "roll_id": earlier.id,
            "imported_at": earlier.imported_at.isoformat(timespec="seconds") + "Z",
        },
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
    if actor is not None and not covers_region(actor, township.id):
        raise Forbidden("此乡镇不在您的负责范围内 / township outside your region",
                        code="scope.forbidden")
    on = _period_start(period)
    _refuse_second_roll(township, period, path, actor=actor, filename=filename, ip=ip)
    today = today or county_clock.today()
    rows = parse_roll(path, today=today)
    in_scope = scoped_households(actor) if actor is not None else select(Household)
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
        township_id=township.id,
        period=period,
        filename=(filename or path.name)[:255],
        file_sha256=digest,
        imported_by=actor.id if actor else None,
        row_count=len(rows),
        total_amount=sum((r.amount for r in rows), Decimal("0")),
        mismatch_count=len(mismatches),
        kept_path=keep_upload(path, kind=f"roll-{township_code}-{period}", sha256=digest),
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
    audit.record(
        "payment_roll.import",
        actor=actor,
        object_type="payment_roll",
        object_id=roll.id,
        ip=ip,
        detail={
            "township": township_code,
            "period": period,
            "sha256": digest,
            "rows": len(rows),
            "mismatches": len(mismatches),
            "kept": roll.kept_path is not None,
        },
    )
    db.session.commit()
    return roll


def rolls(user: User, *, ip: str | None = None) -> list[PaymentRoll]:
    """Return every imported roll, newest first (county supervisors and admins). Audited."""
    require_county_auditor(user)
    result = db.session.scalars(
        select(PaymentRoll)
        .options(selectinload(PaymentRoll.township))
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
    roll = db.session.get(PaymentRoll, roll_id) if 0 < roll_id <= ledger.MAX_ID else None
    if roll is None:
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
        entry = ledger.open_entry(
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
