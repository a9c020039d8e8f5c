"""Payment-roll reconciliation: a township's roll against covered persons and the policy's
computed benefit; mismatches listed, turned into ledger entries; county-only."""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from server.domain import audit_roll
from server.domain.audit_roll import HouseholdFacts, RollRow
from server.extensions import db
from server.models import AuditEntry, LedgerEntry, PaymentRoll, PaymentRollMismatch
from server.services import payment_roll

from .audit_helpers import (
    csv_bytes,
    household_of_another_county,
    living_member,
    patch,
    township_supervisor,
    upload,
)
from .conftest import TOWNSHIP_1, TOWNSHIP_2
from .query_helpers import counted, households_in_new_villages, reads

pytest_plugins = ["tests.console_helpers"]

ROLLS = "/api/v1/audit/payment-rolls"
HEADER = ["户编号", "户主姓名", "身份证号", "保障人数", "保障金额"]
PERIOD = "2026-05"
# ledger.open_entry's look for an entry of the same finding: one per entry made.
SAME_FINDING = re.compile(r"FROM ledger_entry\s+WHERE ledger_entry\.source = ")


def clean_township(demo, code: str) -> list[tuple]:
    """Leave covered only the households the policy finds eligible; return their roll lines.

    Each line is (household, payee, persons, amount) as a correct roll would pay it.
    """
    lines = []
    for household in demo.households_in(code):
        if household.status != "covered":
            continue
        money = payment_roll.computed_benefit(household, None, date(2026, 5, 1))
        if not money["eligible"] or not money["benefit"]:
            household.status = "suspended"
            continue
        living = [m for m in household.members if m.co_resident and not m.died_on]
        lines.append((household, living[0], len(living), money["benefit"]))
    db.session.commit()
    return lines


def roll_csv(lines) -> bytes:
    """Return a roll file of the given lines."""
    return csv_bytes(
        HEADER,
        [
            [h.code, payee.name, payee.id_number, persons, amount]
            for h, payee, persons, amount in lines
        ],
    )


def import_roll(api, content: bytes, township=TOWNSHIP_1, user="sup1"):
    """Upload a roll and return the response."""
    return upload(
        api.as_user(user), ROLLS, content, "roll.csv", township_code=township, period=PERIOD
    )


def test_a_roll_with_a_wrong_amount_and_a_deceased_person_yields_exactly_those_two(api, demo):
    """Every other household checks out; the two differences are listed and become entries."""
    lines = clean_township(demo, TOWNSHIP_1)
    assert len(lines) >= 3
    wrong, widowed = lines[0][0], next(h for h, _, persons, _ in lines[1:] if persons >= 2)
    # A death list names a member of the second household: the record still counts them.
    dead = living_member(widowed)
    deaths = csv_bytes(
        ["身份证号", "姓名", "死亡日期"], [[dead.id_number, dead.name, "2026-03-01"]]
    )
    assert (
        upload(
            api.as_user("sup1"), "/api/v1/audit/crosscheck/lists", deaths, "d.csv", kind="deaths"
        ).status_code
        == 201
    )
    lines = [
        (h, payee, persons, amount + 50 if h is wrong else amount)
        for h, payee, persons, amount in lines
    ]

    response = import_roll(api, roll_csv(lines))
    assert response.status_code == 201, response.get_json()
    roll = response.get_json()
    assert roll["row_count"] == len(lines) and roll["mismatch_count"] == 2
    kinds = sorted((m["household_id"], m["kind"]) for m in roll["mismatches"])
    assert kinds == sorted([(wrong.id, "amount_mismatch"), (widowed.id, "deceased_person")])
    amount = next(m for m in roll["mismatches"] if m["kind"] == "amount_mismatch")
    assert amount["facts"]["difference"] == 50.0 and amount["category"] == "miscalculation"
    death = next(m for m in roll["mismatches"] if m["kind"] == "deceased_person")
    assert [d["member_id"] for d in death["facts"]["deceased"]] == [dead.id]
    assert death["facts"]["deceased"][0]["source"] == "crosscheck"
    assert death["facts"]["expected"]["persons"] == death["facts"]["roll"]["persons"] - 1

    entries = api.as_user("sup1").post(f"{ROLLS}/{roll['id']}/ledger", json={}).get_json()
    assert sorted(
        (e["household_id"], e["category"], tuple(e["actions"])) for e in entries
    ) == sorted(
        [
            (wrong.id, "miscalculation", ("reduce", "recover")),
            (widowed.id, "deceased_receiving", ("reduce", "recover")),
        ]
    )
    assert all(e["source"] == "payment_roll" and e["township_code"] == TOWNSHIP_1 for e in entries)
    assert "死亡人员" in next(e for e in entries if e["household_id"] == widowed.id)["description"]
    # Asking again makes no second entries.
    again = api.as_user("sup1").post(f"{ROLLS}/{roll['id']}/ledger", json={}).get_json()
    assert sorted(e["id"] for e in again) == sorted(e["id"] for e in entries)
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.source == "payment_roll")
        )
        == 2
    )


def test_every_other_kind_of_mismatch(api, demo):
    """Unknown household, another township's, a repeated row, a suspended household, a dead
    payee, wrong persons, and a covered household left off the roll."""
    lines = clean_township(demo, TOWNSHIP_1)
    other = clean_township(demo, TOWNSHIP_2)[0]
    suspended, fewer, missing = lines[0][0], lines[2][0], lines[3][0]
    dead_payee, payee, persons, amount = lines[1]
    suspended.status = "suspended"
    payee.died_on = date(2026, 2, 1)
    db.session.commit()
    rows = [
        [suspended.code, lines[0][1].name, "", lines[0][2], lines[0][3]],  # row 2
        [dead_payee.code, payee.name, payee.id_number, persons, amount],  # row 3
        [fewer.code, "", "", lines[2][2] + 1, lines[2][3]],  # row 4
        ["NO-SUCH-CODE", "张三", "", 1, 300],  # row 5
        [other[0].code, "", "", other[2], other[3]],  # row 6
        [fewer.code, "", "", lines[2][2] + 1, lines[2][3]],  # row 7 repeats row 4
    ]
    rows += [[h.code, "", "", p, a] for h, _, p, a in lines[4:]]
    roll = import_roll(api, csv_bytes(HEADER, rows)).get_json()
    found = {(m["row_number"], m["household_code"], m["kind"]) for m in roll["mismatches"]}
    assert found == {
        (2, suspended.code, "not_eligible"),
        (3, dead_payee.code, "deceased_person"),
        (4, fewer.code, "persons_mismatch"),
        (5, "NO-SUCH-CODE", "unknown_household"),
        (6, other[0].code, "unknown_household"),
        (7, fewer.code, "duplicate_household"),
        (None, missing.code, "missing_from_roll"),
    }
    by_row = {m["row_number"]: m for m in roll["mismatches"]}
    assert by_row[3]["facts"]["payee_deceased"] is True
    assert by_row[6]["facts"]["reason"] == "other_township"
    # Money paid to a household nobody knows is still the township's problem.
    entries = (
        api.as_user("sup1")
        .post(f"{ROLLS}/{roll['id']}/ledger", json={"mismatch_ids": [by_row[5]["id"]]})
        .get_json()
    )
    assert [(e["household_id"], e["township_code"], e["actions"]) for e in entries] == [
        (None, TOWNSHIP_1, ["stop"])
    ]
    assert (
        api.as_user("sup1")
        .post(f"{ROLLS}/{roll['id']}/ledger", json={"mismatch_ids": [999999]})
        .status_code
        == 404
    )
    # All or nothing: a real mismatch beside an unknown one opens no entry; a bad body is 422.
    entries_before = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    mixed = api.as_user("sup1").post(
        f"{ROLLS}/{roll['id']}/ledger", json={"mismatch_ids": [by_row[2]["id"], 999999]}
    )
    assert mixed.status_code == 404
    assert (
        api.as_user("sup1")
        .post(f"{ROLLS}/{roll['id']}/ledger", json={"mismatch_ids": "x"})
        .status_code
        == 422
    )
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == entries_before


def test_a_bad_row_aborts_the_roll_with_its_row_number(api, demo):
    """Every bad row named; no roll stored."""
    content = csv_bytes(
        HEADER,
        [
            ["2302291000010001", "王某", "", "2", "567"],
            ["2302291000010003", "李某", "230229197001011234", "3", "100"],  # row 3: check digit
            ["", "赵某", "", "0", "abc"],  # row 4: code, persons, amount
        ],
    )
    response = import_roll(api, content)
    assert response.status_code == 422
    rows = response.get_json()["errors"]["rows"]
    assert any(r.startswith("row 3:") and "ID number" in r for r in rows)
    assert any(r.startswith("row 4:") and "household_code is empty" in r for r in rows)
    assert any(r.startswith("row 4:") and "persons" in r for r in rows)
    assert any(r.startswith("row 4:") and "amount" in r for r in rows)
    assert db.session.scalar(select(func.count()).select_from(PaymentRoll)) == 0


@pytest.mark.parametrize(
    "form,field",
    [
        ({"township_code": "230229100001"}, "township_code"),
        ({"period": "2026-13"}, "period"),
        ({"period": "2026-5"}, "period"),
        ({"period": "02026-05"}, "period"),
        ({"period": "0000-05"}, "period"),
    ],
)
def test_the_township_and_month_are_checked(api, demo, form, field):
    """A roll belongs to a township (not a village) and a real month."""
    data = {"township_code": TOWNSHIP_1, "period": PERIOD, **form}
    response = upload(
        api.as_user("sup1"), ROLLS, csv_bytes(HEADER, [["x", "", "", 1, 1]]), "roll.csv", **data
    )
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert db.session.scalar(select(func.count()).select_from(PaymentRoll)) == 0


def test_a_roll_of_a_township_outside_the_region_is_refused(api, demo):
    """A county supervisor imports rolls of their own county's townships only."""
    from server.services.regions import add_region

    county = add_region(name="另一县", code="230230", level="county", parent=None)
    add_region(name="另一镇", code="230230100", level="township", parent=county)
    db.session.commit()
    response = upload(
        api.as_user("sup1"),
        ROLLS,
        csv_bytes(HEADER, [["x", "", "", 1, 1]]),
        "roll.csv",
        township_code="230230100",
        period=PERIOD,
    )
    assert response.status_code == 403 and response.get_json()["code"] == "scope.forbidden"
    assert db.session.scalar(select(func.count()).select_from(PaymentRoll)) == 0


def test_rolls_are_county_only_and_audited(api, demo):
    """Township supervisors and investigators neither import nor read rolls."""
    township_supervisor("sup2", TOWNSHIP_2, demo.password)
    content = roll_csv(clean_township(demo, TOWNSHIP_2))
    assert import_roll(api, content, TOWNSHIP_2, user="sup2").status_code == 403
    assert import_roll(api, content, TOWNSHIP_2, user="inv3").status_code == 403
    roll = import_roll(api, content, TOWNSHIP_2).get_json()
    assert roll["mismatch_count"] == 0
    assert api.as_user("sup2").get(ROLLS).status_code == 403
    assert api.as_user("sup2").get(f"{ROLLS}/{roll['id']}").status_code == 403
    assert [r["id"] for r in api.as_user("admin").get(ROLLS).get_json()] == [roll["id"]]
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("payment_roll.%"))
    ).all()
    assert actions == ["payment_roll.import", "payment_roll.list"]


def test_another_countys_supervisor_neither_lists_nor_reads_the_roll(api, demo, console):
    """A roll holds names and amounts: a county supervisor sees the rolls of their own
    county's townships only, and another county's roll reads as none (404), in the API and in
    the console; the county's own supervisor and the admin still see it."""
    from server.services import users
    from server.services.regions import add_region

    roll = import_roll(api, roll_csv(clean_township(demo, TOWNSHIP_2)), TOWNSHIP_2).get_json()
    county = add_region(name="另一县", code="230230", level="county", parent=None)
    db.session.commit()
    users.add_user("sup9", role="supervisor", region_code=county.code, password=demo.password)
    other = api.as_user("sup9")
    assert other.get(ROLLS).get_json() == []
    response = other.get(f"{ROLLS}/{roll['id']}")
    assert response.status_code == 404, response.get_json()
    assert [r["id"] for r in api.as_user("sup1").get(ROLLS).get_json()] == [roll["id"]]
    assert api.as_user("sup1").get(f"{ROLLS}/{roll['id']}").status_code == 200
    assert [r["id"] for r in api.as_user("admin").get(ROLLS).get_json()] == [roll["id"]]
    page = console.as_user("sup9").text("/console/rolls")
    assert f'href="/console/rolls/{roll["id"]}"' not in page
    console.as_user("sup9").text(f"/console/rolls/{roll['id']}", status=404)
    assert f'href="/console/rolls/{roll["id"]}"' in console.as_user("sup1").text("/console/rolls")


def test_a_roll_matched_for_everyone_stays_within_its_county(app, demo):
    """Without an actor (a service call for the whole installation) a roll is reconciled
    within its township's county: a row naming another county's household is money paid to
    a household this county does not know, and nothing of that household is stored."""
    from pathlib import Path

    from server.models import PaymentRollRow

    theirs = household_of_another_county()
    db.session.commit()
    lines = clean_township(demo, TOWNSHIP_1)
    rows = [(h.code, "", "", p, a) for h, _, p, a in lines] + [(theirs.code, "", "", 1, 300)]
    path = Path(app.config["DATA_DIR"]) / "roll.csv"
    path.write_bytes(csv_bytes(HEADER, rows))
    roll = payment_roll.import_roll(path, TOWNSHIP_1, PERIOD, actor=None)
    [found] = [m for m in roll.mismatches if m.household_code == theirs.code]
    assert found.kind == "unknown_household"
    assert found.household_id is None and found.facts.get("reason") != "other_township"
    stored = db.session.scalar(
        select(PaymentRollRow).where(PaymentRollRow.household_code == theirs.code)
    )
    assert stored.household_id is None


# ---- the pure comparison -------------------------------------------------------------------


def facts(code: str, **fields) -> HouseholdFacts:
    """Return a covered, eligible household of two paid 500 a month."""
    base = {
        "household_id": int(code[-1]),
        "code": code,
        "in_township": True,
        "status": "covered",
        "eligible": True,
        "benefit": 500.0,
        "counted_persons": 2,
    }
    return HouseholdFacts(**{**base, **fields})


def line(code: str, number: int = 2, persons: int = 2, amount: str = "500", id_number=None):
    """Return a roll row."""
    return RollRow(number, code, "", id_number, persons, Decimal(amount))


def test_reconcile_reports_one_mismatch_per_household_by_precedence():
    """A dead member explains a surplus person: one deceased mismatch, not three."""
    dead = {
        "member_id": "m",
        "name": "王某",
        "id_number": "X",
        "died_on": None,
        "source": "crosscheck",
    }
    households = {
        "H1": facts("H1"),
        "H2": facts("H2", counted_persons=1, benefit=250.0, deceased=[dead]),
        "H3": facts("H3", benefit=None),
        "H4": facts("H4", eligible=False),
    }
    mismatches = audit_roll.reconcile(
        [line("H1", 2, amount="500.004"), line("H2", 3), line("H3", 4), line("H4", 5)],
        households,
        ["H1", "H2", "H3", "H4"],
    )
    assert [(m.household_code, m.kind) for m in mismatches] == [
        ("H2", "deceased_person"),
        ("H3", "benefit_unknown"),
        ("H4", "not_eligible"),
    ]
    assert mismatches[0].facts["roll"] == {"persons": 2, "amount": 500.0, "name": ""}
    assert mismatches[2].facts["reason"] == "assessment"
    assert mismatches[0].actions == ["reduce", "recover"]


def test_reconcile_reads_rows_with_chinese_headers_and_checks_cells():
    """Roll rows: persons a whole number ≥ 1, amounts ≥ 0, ID numbers verified when given."""
    row, problems = audit_roll.parse_roll_row(
        2, {"household_code": "H1", "persons": "2", "amount": "1,234.5"}, today=date(2026, 5, 1)
    )
    assert problems == [] and row.amount == Decimal("1234.50")
    _, problems = audit_roll.parse_roll_row(
        3, {"household_code": "H1", "persons": "0", "amount": "-1"}, today=date(2026, 5, 1)
    )
    assert any("persons" in p for p in problems) and any("amount" in p for p in problems)


def roll_missing(township, households) -> PaymentRoll:
    """Store a roll of the township that left off these households (one mismatch each)."""
    roll = PaymentRoll(township_id=township.id, period=PERIOD, file_sha256="0" * 64)
    roll.mismatches.extend(
        PaymentRollMismatch(
            household_id=h.id,
            household_code=h.code,
            kind="missing_from_roll",
            category="miscalculation",
            facts={"expected": {"persons": 1, "amount": 300.0}},
        )
        for h in households
    )
    db.session.add(roll)
    db.session.commit()
    return roll


def test_entering_mismatches_reads_villages_and_townships_once(app, demo):
    """2 then 8 households, each in a village of its own: entering their mismatches in the
    ledger reads as much (besides each entry's own writes and look for the same finding)."""
    township = demo.region(TOWNSHIP_1)
    township_id = township.id
    few = households_in_new_villages(township, range(0, 2), status="covered")
    many = households_in_new_villages(township, range(2, 10), status="covered")
    db.session.commit()
    rolls = [roll_missing(township, few).id, roll_missing(township, many).id]
    counts = []
    for roll_id in rolls:
        db.session.expunge_all()
        sup1 = demo.user("sup1")
        with counted() as statements:
            entries = payment_roll.to_ledger(sup1, roll_id)
        assert {e.township_id for e in entries} == {township_id}
        counts.append(len([s for s in reads(statements) if not SAME_FINDING.search(s)]))
    assert counts[0] == counts[1], counts


def _roll_state() -> tuple:
    """Return what is stored of rolls: (rolls, rows, mismatches)."""
    from server.models import PaymentRollRow

    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (PaymentRoll, PaymentRollRow, PaymentRollMismatch)
    )


def test_a_second_roll_of_the_same_township_and_month_is_refused_and_audited(api, demo):
    """The same month again (same file or a corrected one) would count every payment twice:
    409 naming the roll already there, nothing stored, the earlier roll untouched, and the
    refusal in the audit log. Another month, or another township's same month, is fine."""
    lines = clean_township(demo, TOWNSHIP_1)
    first = import_roll(api, roll_csv(lines))
    assert first.status_code == 201
    earlier = first.get_json()
    stored = _roll_state()
    for content in (roll_csv(lines), roll_csv(lines[:1])):
        again = import_roll(api, content)
        assert again.status_code == 409, again.get_json()
        body = again.get_json()
        assert body["code"] == "payment_roll.period_taken"
        assert body["errors"]["roll_id"] == earlier["id"]
        assert f"roll {earlier['id']}" in body["message"] and PERIOD in body["message"]
        assert _roll_state() == stored
    roll = db.session.get(PaymentRoll, earlier["id"])
    assert (roll.row_count, roll.mismatch_count) == (earlier["row_count"], 0)
    refusals = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "payment_roll.import_refused")
    ).all()
    assert len(refusals) == 2 and {r.object_id for r in refusals} == {str(earlier["id"])}
    assert refusals[0].detail["period"] == PERIOD and refusals[0].detail["sha256"]
    assert refusals[0].detail["township"] == TOWNSHIP_1
    next_month = upload(
        api.as_user("sup1"),
        ROLLS,
        roll_csv(lines),
        "roll.csv",
        township_code=TOWNSHIP_1,
        period="2026-06",
    )
    assert next_month.status_code == 201
    other_township = import_roll(api, roll_csv(clean_township(demo, TOWNSHIP_2)), TOWNSHIP_2)
    assert other_township.status_code == 201


def test_a_refused_second_roll_is_checked_before_its_rows(api, demo):
    """A bad file for a month already imported is told it is a second roll (the thing to
    fix first), not made to correct rows that would be refused anyway."""
    import_roll(api, roll_csv(clean_township(demo, TOWNSHIP_1)))
    bad = import_roll(api, csv_bytes(HEADER, [["", "赵某", "", "0", "abc"]]))
    assert bad.status_code == 409 and bad.get_json()["code"] == "payment_roll.period_taken"


# ---- correcting a wrong roll: replace or withdraw it -----------------------------------------

LEDGER = "/api/v1/audit/ledger"


def replace(api, roll_id: int, content: bytes, reason="上传错了文件,应为五月的花名册", user="sup1"):
    """Upload a roll in place of another; return the response."""
    form = {} if reason is None else {"reason": reason}
    return upload(api.as_user(user), f"{ROLLS}/{roll_id}/replace", content, "right.csv", **form)


def withdraw(api, roll_id: int, reason="导入了另一个乡镇的文件", user="sup1"):
    """Withdraw a roll; return the response."""
    body = {} if reason is None else {"reason": reason}
    return api.as_user(user).post(f"{ROLLS}/{roll_id}/withdraw", json=body)


def wrong_roll(api, demo, paid_more: int = 3):
    """Import a roll paying the first `paid_more` households 50 too much and enter every
    mismatch in the ledger; return (roll, {household id: entry}, the correct lines)."""
    lines = clean_township(demo, TOWNSHIP_1)
    wrong = [(h, p, n, a + 50 if i < paid_more else a) for i, (h, p, n, a) in enumerate(lines)]
    roll = import_roll(api, roll_csv(wrong)).get_json()
    assert roll["mismatch_count"] == paid_more
    entries = api.as_user("sup1").post(f"{ROLLS}/{roll['id']}/ledger", json={}).get_json()
    return roll, {e["household_id"]: e for e in entries}, lines


def test_a_replaced_roll_stays_on_record_and_only_untouched_entries_close_with_it(api, demo):
    """Three households paid 50 too much, each a ledger entry: one nobody touched, one moved
    on (in progress), one edited. The right file still pays the second and third too much.
    The untouched entry closes as unfounded naming the new roll and the reason; the worked
    ones stay, are listed to look at, and are carried over to the new roll's mismatches of
    the same household rather than entered twice."""
    roll, entries, lines = wrong_roll(api, demo)
    untouched, moved, edited = (lines[i][0].id for i in range(3))
    sup1 = api.as_user("sup1")
    assert (
        sup1.post(
            f"{LEDGER}/{entries[moved]['id']}/transitions",
            json={"to_state": "in_progress", "comment": "已通知乡镇"},
        ).status_code
        == 200
    )
    assert (
        patch(sup1, f"{LEDGER}/{entries[edited]['id']}", json={"description": "核对中"}).status_code
        == 200
    )
    right = [(h, p, n, a + 50 if h.id in (moved, edited) else a) for h, p, n, a in lines]

    response = replace(api, roll["id"], roll_csv(right))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    old, new = body["roll"], body["replacement"]
    assert old["id"] == roll["id"] and old["state"] == "superseded"
    assert old["replaced_by_id"] == new["id"] and new["replaces_id"] == roll["id"]
    assert (
        old["withdrawn_by"] == "sup1" and old["withdrawn_reason"] == "上传错了文件,应为五月的花名册"
    )
    assert new["state"] == "current" and new["period"] == PERIOD and new["mismatch_count"] == 2
    assert [e["id"] for e in body["closed_entries"]] == [entries[untouched]["id"]]
    assert sorted(e["id"] for e in body["entries_to_review"]) == sorted(
        [entries[moved]["id"], entries[edited]["id"]]
    )
    closed = db.session.get(LedgerEntry, entries[untouched]["id"])
    assert (closed.state, closed.resolution) == ("closed", "unfounded")
    note = closed.transitions[-1]
    assert note.evidence[0]["kind"] == "note" and f"roll {new['id']}" in note.comment
    assert "上传错了文件" in note.evidence[0]["text"] and note.actor_id == demo.user("sup1").id
    assert db.session.get(LedgerEntry, entries[moved]["id"]).state == "in_progress"
    assert db.session.get(LedgerEntry, entries[edited]["id"]).state == "open"
    # The worked-on entries name the new roll's mismatches of the same households.
    carried = {m["household_id"]: m["ledger_entry_id"] for m in new["mismatches"]}
    assert carried == {moved: entries[moved]["id"], edited: entries[edited]["id"]}
    # Entering the new roll's mismatches makes no second entry for the same finding.
    count = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    again = sup1.post(f"{ROLLS}/{new['id']}/ledger", json={}).get_json()
    assert sorted(e["id"] for e in again) == sorted(carried.values())
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == count
    # Nothing of the old roll is deleted; it still reads, with its mismatches and entries.
    kept = sup1.get(f"{ROLLS}/{roll['id']}").get_json()
    assert kept["state"] == "superseded" and len(kept["mismatches"]) == 3
    assert {m["ledger_entry_id"] for m in kept["mismatches"]} == {e["id"] for e in entries.values()}
    actions = db.session.execute(
        select(AuditEntry.action, AuditEntry.object_id, AuditEntry.detail)
        .where(
            AuditEntry.action.in_(
                ("payment_roll.supersede", "payment_roll.import", "ledger.transition")
            )
        )
        .order_by(AuditEntry.id)
    ).all()
    supersede = next(d for a, o, d in actions if a == "payment_roll.supersede")
    assert supersede["replaced_by"] == new["id"] and supersede["closed_entries"] == [closed.id]
    assert sorted(supersede["carried_entries"]) == sorted(carried.values())
    assert any(
        a == "payment_roll.import" and o == str(new["id"]) and d["replaces"] == roll["id"]
        for a, o, d in actions
    )
    assert any(
        a == "ledger.transition" and o == str(closed.id) and d["payment_roll"] == roll["id"]
        for a, o, d in actions
    )


def test_the_same_month_without_replacing_is_still_refused_and_says_how(api, demo):
    """The refusal names the roll and tells the clerk to replace or withdraw it."""
    roll = import_roll(api, roll_csv(clean_township(demo, TOWNSHIP_1))).get_json()
    again = import_roll(api, roll_csv(clean_township(demo, TOWNSHIP_1)))
    assert again.status_code == 409
    message = again.get_json()["message"]
    assert f"replace roll {roll['id']}" in message and "withdraw it" in message
    assert f"请替换第 {roll['id']} 号花名册" in message


def test_a_withdrawn_roll_frees_its_month_and_takes_no_more_changes(api, demo):
    """Withdrawn alone: it stays on record, its untouched entries close, its mismatches can
    no longer be entered, it cannot be withdrawn or replaced again, and the month may be
    imported afresh (without a replace flag)."""
    roll, entries, lines = wrong_roll(api, demo, paid_more=2)
    response = withdraw(api, roll["id"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["roll"]["state"] == "withdrawn" and body["replacement"] is None
    assert body["roll"]["withdrawn_reason"] == "导入了另一个乡镇的文件"
    assert sorted(e["id"] for e in body["closed_entries"]) == sorted(
        e["id"] for e in entries.values()
    )
    assert body["entries_to_review"] == []
    assert {e.state for e in db.session.scalars(select(LedgerEntry))} == {"closed"}
    assert db.session.get(PaymentRoll, roll["id"]).withdrawn_at is not None

    for refused in (
        withdraw(api, roll["id"]),
        replace(api, roll["id"], roll_csv(lines)),
        api.as_user("sup1").post(f"{ROLLS}/{roll['id']}/ledger", json={}),
    ):
        assert refused.status_code == 409, refused.get_json()
        assert refused.get_json()["code"] == "payment_roll.not_current"
        assert refused.get_json()["errors"]["state"] == "withdrawn"
    assert db.session.scalar(select(func.count()).select_from(PaymentRoll)) == 1
    fresh = import_roll(api, roll_csv(lines))
    assert fresh.status_code == 201 and fresh.get_json()["replaces_id"] is None
    assert [
        a
        for a in db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "payment_roll.withdraw")
        )
    ] == ["payment_roll.withdraw"]


def test_a_roll_someone_replaced_first_is_not_replaced_again(api, demo):
    """Two supervisors correct the same roll: the second is told who replaced it and by
    which roll (409), and nothing of theirs is stored."""
    roll, entries, lines = wrong_roll(api, demo, paid_more=1)
    first = replace(api, roll["id"], roll_csv(lines), user="admin")
    assert first.status_code == 201
    stored = _roll_state()
    second = replace(api, roll["id"], roll_csv(lines), reason="金额录错")
    assert second.status_code == 409
    error = second.get_json()
    assert error["code"] == "payment_roll.not_current"
    assert error["errors"]["replaced_by"] == first.get_json()["replacement"]["id"]
    assert error["errors"]["withdrawn_by"] == "admin" and error["errors"]["state"] == "superseded"
    assert f"replaced by roll {error['errors']['replaced_by']}" in error["message"]
    assert _roll_state() == stored
    assert withdraw(api, roll["id"]).status_code == 409
    assert (
        db.session.get(PaymentRoll, roll["id"]).withdrawn_reason == "上传错了文件,应为五月的花名册"
    )


@pytest.mark.parametrize("reason", [None, "", "   ", "x" * 2001])
def test_a_correction_needs_a_reason(api, demo, reason):
    """No reason, an empty one or one too long: 422 naming the reason; nothing changes."""
    roll, entries, lines = wrong_roll(api, demo, paid_more=1)
    stored = _roll_state()
    for response in (
        replace(api, roll["id"], roll_csv(lines), reason=reason),
        withdraw(api, roll["id"], reason=reason),
    ):
        assert response.status_code == 422, response.get_json()
        assert "reason" in response.get_json()["errors"]
    assert _roll_state() == stored
    assert db.session.get(PaymentRoll, roll["id"]).state == "current"
    assert {e.state for e in db.session.scalars(select(LedgerEntry))} == {"open"}


def test_a_bad_replacement_file_leaves_the_roll_as_it_was(api, demo):
    """A replacement with bad rows is refused like any import, naming them; the wrong roll
    stays current and its entries open."""
    roll, entries, _ = wrong_roll(api, demo, paid_more=1)
    response = replace(api, roll["id"], csv_bytes(HEADER, [["", "赵某", "", "0", "abc"]]))
    assert response.status_code == 422
    assert any(r.startswith("row 2:") for r in response.get_json()["errors"]["rows"])
    assert db.session.get(PaymentRoll, roll["id"]).state == "current"
    assert db.session.scalar(select(func.count()).select_from(PaymentRoll)) == 1
    assert {e.state for e in db.session.scalars(select(LedgerEntry))} == {"open"}


def test_only_county_auditors_of_the_township_correct_a_roll(api, demo, console):
    """Township supervisors and investigators may not; to a county supervisor of another
    county this county's roll is a 404, as an unknown roll (it was a 403 saying it exists)."""
    from server.services import users
    from server.services.regions import add_region

    roll, _, lines = wrong_roll(api, demo, paid_more=1)
    township_supervisor("sup2", TOWNSHIP_1, demo.password)
    county = add_region(name="另一县", code="230230", level="county", parent=None)
    db.session.commit()
    users.add_user("sup9", role="supervisor", region_code=county.code, password=demo.password)
    for user, status, code in (("sup2", 403, "audit.county_only"), ("inv1", 403, None),
                               ("sup9", 404, "not_found")):
        for response in (
            replace(api, roll["id"], roll_csv(lines), user=user),
            withdraw(api, roll["id"], user=user),
        ):
            assert response.status_code == status, (user, response.get_json())
            assert code is None or response.get_json()["code"] == code
    assert db.session.get(PaymentRoll, roll["id"]).state == "current"
    assert withdraw(api, 999999).get_json() == withdraw(api, roll["id"], user="sup9").get_json()
    correct = f"/console/rolls/{roll['id']}/correct"
    refused = console.as_user("sup9").post(correct, {"action": "withdraw", "reason": "错"})
    assert refused.status_code == 404
    assert replace(api, 999999, roll_csv(lines)).status_code == 404


def test_a_replacement_chain_keeps_a_worked_entry_until_it_is_closed(app, demo):
    """Service level: roll 1 → roll 2 → roll 3, the same household wrong each time and its
    entry worked on: it is carried from roll to roll, never duplicated nor closed, and the
    roll it came from is each time the one being replaced."""
    from pathlib import Path

    from server.services import ledger

    sup1 = demo.user("sup1")
    lines = clean_township(demo, TOWNSHIP_1)
    wrong = [(h, p, n, a + 50 if i == 0 else a) for i, (h, p, n, a) in enumerate(lines)]
    path = Path(app.config["DATA_DIR"]) / "roll.csv"
    path.write_bytes(roll_csv(wrong))
    first = payment_roll.import_roll(path, TOWNSHIP_1, PERIOD, actor=sup1)
    [entry] = payment_roll.to_ledger(sup1, first.id)
    ledger.transition(sup1, entry.id, to_state="in_progress")
    second = payment_roll.replace_roll(path, first.id, "金额有误", actor=sup1).replacement
    third = payment_roll.replace_roll(path, second.id, "又错了", actor=sup1)
    assert [e.id for e in third.entries_to_review] == [entry.id]
    assert [m.ledger_entry_id for m in third.replacement.mismatches] == [entry.id]
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    assert [r.state for r in db.session.scalars(select(PaymentRoll).order_by(PaymentRoll.id))] == [
        "superseded",
        "superseded",
        "current",
    ]


def test_two_replacements_at_once_store_one(app, api, demo, monkeypatch):
    """Two supervisors replace the same roll at the same instant (its reconciliation slowed
    down to make them overlap): one replacement is stored, the other is told the roll was
    replaced (409), on both engines."""
    import io
    import threading
    import time

    roll, _, lines = wrong_roll(api, demo, paid_more=1)
    content = roll_csv(lines)
    real = payment_roll.household_facts

    def slow(*args, **kwargs):
        """Reconcile, slowly."""
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(payment_roll, "household_facts", slow)
    tokens = [api.as_user("sup1").token, api.as_user("admin").token]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def run(index: int) -> None:
        """Replace the roll as one of the two."""
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"{ROLLS}/{roll['id']}/replace",
            data={"reason": f"更正 {index}", "file": (io.BytesIO(content), "right.csv")},
            content_type="multipart/form-data",
            headers={"Authorization": f"Bearer {tokens[index]}"},
        )
        results[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(status for status, _ in results) == [201, 409], results
    refused = next(body for status, body in results if status == 409)
    assert refused["code"] == "payment_roll.not_current"
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(PaymentRoll)) == 2
    assert db.session.get(PaymentRoll, roll["id"]).state == "superseded"
