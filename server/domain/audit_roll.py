"""Payment-roll reconciliation (发放花名册核对): what a township pays against what is due.

Keshan's plan wants archives whose amounts agree with the payment roll (与发放单金额相一致)
and the deceased cleared (三清). A roll has one row per household: its code, the payee,
how many persons are paid for and the monthly amount. Each row is compared with the master
record and the policy's computed benefit; each household with a difference yields one
mismatch, of the first kind below that applies (the others are in its facts), and every
covered household of the township missing from the roll yields one more.

Pure: the service gathers the households' facts and the computed benefits.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .audit_lists import Column, id_number_problem, read_cells

ROLL_COLUMNS = (
    Column("household_code", required=True, aliases=("户编号", "户号", "家庭编号")),
    Column("name", aliases=("户主姓名", "领款人", "姓名")),
    Column("id_number", aliases=("身份证号", "身份证号码", "公民身份号码")),
    Column("persons", "integer", True, ("保障人数", "享受人数", "人数")),
    Column("amount", "money", True, ("保障金额", "发放金额", "月保障金", "金额")),
)

# In order of precedence: a row is reported under the first kind that applies.
MISMATCH_KINDS = (
    "duplicate_household",
    "unknown_household",
    "not_eligible",
    "deceased_person",
    "persons_mismatch",
    "amount_mismatch",
    "benefit_unknown",
    "missing_from_roll",
)
# The audit category and the usual rectification of each kind (the supervisor may change
# both on the ledger entry).
MISMATCH_CATEGORY = {
    "duplicate_household": "miscalculation",
    "unknown_household": "favour_case",
    "not_eligible": "income_above_standard",
    "deceased_person": "deceased_receiving",
    "persons_mismatch": "miscalculation",
    "amount_mismatch": "miscalculation",
    "benefit_unknown": "miscalculation",
    "missing_from_roll": "miscalculation",
}
# A fen: amounts closer than this are equal.
TOLERANCE = Decimal("0.005")


@dataclass
class RollRow:
    """One valid row of a payment roll."""

    row_number: int
    household_code: str
    name: str
    id_number: str | None
    persons: int
    amount: Decimal


@dataclass
class HouseholdFacts:
    """What the master record and the policy say about one household, for the comparison.

    `benefit` is the policy's computed monthly benefit (None when it cannot be computed);
    `deceased` lists members known dead: {"member_id", "name", "id_number", "died_on",
    "source": "record" | "crosscheck"}; `counted_persons` are the living co-resident members.
    """

    household_id: int
    code: str
    in_township: bool
    status: str
    eligible: bool | None
    benefit: float | None
    counted_persons: int
    deceased: list[dict] = field(default_factory=list)


@dataclass
class Mismatch:
    """One difference between the roll and the record, with the facts on both sides."""

    kind: str
    household_code: str
    household_id: int | None = None
    row_number: int | None = None
    facts: dict = field(default_factory=dict)

    @property
    def category(self) -> str:
        """The audit category this mismatch hits."""
        return MISMATCH_CATEGORY[self.kind]

    @property
    def actions(self) -> list[str]:
        """The rectification this mismatch usually needs."""
        roll, expected = self.facts.get("roll", {}), self.facts.get("expected", {})
        if self.kind in ("unknown_household", "not_eligible"):
            return ["stop", "resurvey"] if self.household_id else ["stop"]
        if self.kind == "missing_from_roll":
            return ["raise"]
        if self.kind == "benefit_unknown":
            return ["resurvey"]
        paid_more = (roll.get("amount") or 0) > (expected.get("amount") or 0) or (
            roll.get("persons") or 0
        ) > (expected.get("persons") or 0)
        if self.kind == "duplicate_household":
            return ["stop", "recover"]
        return ["reduce", "recover"] if paid_more else ["raise"]


def parse_roll_row(
    row_number: int, cells: dict[str, str], *, today: date
) -> tuple[RollRow | None, list[str]]:
    """Check one roll row (text cells keyed by canonical column); return it or its problems."""
    values, problems = read_cells(ROLL_COLUMNS, cells, today=today)
    number = None
    if values.get("id_number"):
        parsed, problem = id_number_problem(str(values["id_number"]), today)
        if problem:
            problems.append(problem)
        number = parsed.number if parsed else None
    if "persons" in values and values["persons"] < 1:
        problems.append("persons 至少为1 / persons must be at least 1")
    if problems:
        return None, problems
    return (
        RollRow(
            row_number=row_number,
            household_code=str(values["household_code"]),
            name=str(values.get("name") or ""),
            id_number=number,
            persons=int(values["persons"]),
            amount=Decimal(values["amount"]).quantize(Decimal("0.01")),
        ),
        [],
    )


def _money(value: float | Decimal | None) -> float | None:
    """Return an amount as a float rounded to the fen (None stays None)."""
    return None if value is None else float(Decimal(str(value)).quantize(Decimal("0.01")))


def reconcile(
    rows: list[RollRow], households: dict[str, HouseholdFacts], covered_codes: list[str]
) -> list[Mismatch]:
    """Compare a roll with the record; return every mismatch, rows first, then the missing.

    `households` maps household codes to their facts (codes not found are absent);
    `covered_codes` are the covered households of the roll's township.
    """
    mismatches: list[Mismatch] = []
    seen: dict[str, int] = {}
    for row in rows:
        roll = {"persons": row.persons, "amount": _money(row.amount), "name": row.name}
        facts = households.get(row.household_code)
        if row.household_code in seen:
            mismatches.append(
                Mismatch(
                    "duplicate_household",
                    row.household_code,
                    facts.household_id if facts else None,
                    row.row_number,
                    {"roll": roll, "first_row": seen[row.household_code]},
                )
            )
            continue
        seen[row.household_code] = row.row_number
        if facts is None or not facts.in_township:
            reason = "not_registered" if facts is None else "other_township"
            mismatches.append(
                Mismatch(
                    "unknown_household",
                    row.household_code,
                    facts.household_id if facts else None,
                    row.row_number,
                    {"roll": roll, "reason": reason},
                )
            )
            continue
        mismatch = _compare(row, roll, facts)
        if mismatch:
            mismatches.append(mismatch)
    for code in sorted(set(covered_codes) - set(seen)):
        facts = households.get(code)
        mismatches.append(
            Mismatch(
                "missing_from_roll",
                code,
                facts.household_id if facts else None,
                None,
                {
                    "expected": {
                        "persons": facts.counted_persons if facts else None,
                        "amount": _money(facts.benefit) if facts else None,
                    }
                },
            )
        )
    return mismatches


def _compare(row: RollRow, roll: dict, facts: HouseholdFacts) -> Mismatch | None:
    """Return the first mismatch of one roll row with its household's facts, or None."""
    expected = {
        "persons": facts.counted_persons,
        "amount": _money(facts.benefit),
        "status": facts.status,
        "eligible": facts.eligible,
    }
    detail = {"roll": roll, "expected": expected}

    def make(kind: str, **more) -> Mismatch:
        """Return a mismatch of this row with the facts of both sides and `more`."""
        return Mismatch(
            kind, row.household_code, facts.household_id, row.row_number, {**detail, **more}
        )

    if facts.status != "covered" or facts.eligible is False:
        return make("not_eligible", reason="status" if facts.status != "covered" else "assessment")
    dead_payee = row.id_number and any(d.get("id_number") == row.id_number for d in facts.deceased)
    if facts.deceased and (dead_payee or row.persons > facts.counted_persons):
        return make("deceased_person", deceased=facts.deceased, payee_deceased=bool(dead_payee))
    if row.persons != facts.counted_persons:
        return make("persons_mismatch")
    if facts.benefit is None:
        return make("benefit_unknown")
    if abs(row.amount - Decimal(str(facts.benefit))) >= TOLERANCE:
        return make("amount_mismatch", difference=_money(row.amount - Decimal(str(facts.benefit))))
    return None


def describe(mismatch: Mismatch) -> str:
    """Return a mismatch as a sentence for the ledger (names, no ID numbers)."""
    facts = mismatch.facts
    roll, expected = facts.get("roll", {}), facts.get("expected", {})
    where = f"花名册第{mismatch.row_number}行" if mismatch.row_number else "花名册"
    code = mismatch.household_code
    if mismatch.kind == "duplicate_household":
        return f"{where}户{code}重复发放(第{facts.get('first_row')}行已列)"
    if mismatch.kind == "unknown_household":
        if facts.get("reason") == "other_township":
            return f"{where}户{code}不属于本乡镇,仍在本乡镇花名册发放{roll.get('amount')}元"
        return f"{where}户编号{code}不在低保档案中,发放{roll.get('amount')}元"
    if mismatch.kind == "not_eligible":
        if facts.get("reason") == "status":
            return f"户{code}档案状态为{expected.get('status')},不在保,仍发放{roll.get('amount')}元"
        return f"户{code}按现档案核算已不符合低保条件,仍发放{roll.get('amount')}元"
    if mismatch.kind == "deceased_person":
        names = "、".join(d.get("name") or "?" for d in facts.get("deceased", []))
        return (
            f"户{code}有死亡人员({names}),花名册仍按{roll.get('persons')}人发放"
            f"{roll.get('amount')}元;在世应保{expected.get('persons')}人"
        )
    if mismatch.kind == "persons_mismatch":
        return f"户{code}花名册{roll.get('persons')}人,档案应保{expected.get('persons')}人"
    if mismatch.kind == "amount_mismatch":
        return f"户{code}花名册发放{roll.get('amount')}元,按政策核算应发{expected.get('amount')}元"
    if mismatch.kind == "benefit_unknown":
        return f"户{code}无法按政策核算应发金额(档案信息不全),花名册发放{roll.get('amount')}元"
    return f"在保户{code}未列入花名册,应发{expected.get('amount')}元"
