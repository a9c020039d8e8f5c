"""Cross-check lists: import, matching, flags, re-visits in the app, privacy and scope."""

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    AuditEntry,
    CrosscheckFlag,
    CrosscheckList,
    CrosscheckMatch,
    CrosscheckRow,
    LedgerEntry,
    LedgerTransition,
)
from server.services import crosscheck, forms
from server.services.demo import id_number
from server.services.errors import Forbidden, Invalid

from .audit_helpers import (
    covered,
    csv_bytes,
    household_of_another_county,
    living_member,
    stranger,
    township_supervisor,
    upload,
    xlsx_bytes,
)
from .conftest import TOWNSHIP_1, TOWNSHIP_2
from .forms_helpers import SURVEY

LISTS = "/api/v1/audit/crosscheck/lists"
DEATH_HEADER = ["身份证号码", "姓名", "死亡日期", "殡仪馆"]


def count(model) -> int:
    """Return how many rows a table holds."""
    return db.session.scalar(select(func.count()).select_from(model))


def death_list(*people, strangers: int = 3) -> bytes:
    """Return a death list (Chinese headers, as the funeral home exports it)."""
    rows = [[m.id_number, m.name, "2026-02-11", "克山县殡仪馆"] for m in people]
    rows += [stranger(i) + [""] for i in range(strangers)]
    return csv_bytes(DEATH_HEADER, rows)


def import_deaths(api, content: bytes, filename: str = "deaths.csv", user: str = "sup1"):
    """Upload a death list as `user` and return the response."""
    return upload(api.as_user(user), LISTS, content, filename, kind="deaths", source="县殡仪馆")


def test_a_death_list_match_flags_the_household_and_lists_it_for_revisit(api, demo):
    """The deceased still drawing benefits: flagged, a ledger entry, and a re-visit on phones."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    member = living_member(household)
    inv1 = api.as_user("inv1")
    cursor = inv1.get("/api/v1/households?limit=500").get_json()["cursor"]

    response = import_deaths(api, death_list(member))
    assert response.status_code == 201, response.get_json()
    summary = response.get_json()
    assert (summary["rows"], summary["matched_rows"], summary["strong"], summary["weak"]) == (
        4,
        1,
        1,
        0,
    )
    assert summary["new_flags"] == 1 and summary["households"] == 1

    flags = api.as_user("sup1").get("/api/v1/audit/crosscheck/flags").get_json()["flags"]
    assert len(flags) == 1
    flag = flags[0]
    assert flag["household_id"] == household.id and flag["person_id"] == member.id
    assert (flag["category"], flag["list_kind"], flag["strength"]) == (
        "deceased_receiving",
        "deaths",
        "strong",
    )
    assert flag["category_label"]["zh"] == "已死亡人员领取低保金"
    assert flag["matches"][0]["detail"] == {"death_date": "2026-02-11", "place": "克山县殡仪馆"}

    entry = db.session.get(LedgerEntry, flag["ledger_entry_id"])
    assert (entry.state, entry.source, entry.actions, entry.household_id) == (
        "open",
        "crosscheck",
        ["resurvey"],
        household.id,
    )
    assert entry.township.code == TOWNSHIP_1 and entry.member_id == member.id

    queue = api.as_user("sup1").get("/api/v1/audit/crosscheck/queue").get_json()
    assert [(q["household_id"], q["flags"], q["strong"]) for q in queue] == [(household.id, 1, 1)]

    # The investigators' delta download carries the household again, marked for a re-visit.
    page = inv1.get(f"/api/v1/households?since={cursor}&limit=500").get_json()
    assert [h["id"] for h in page["households"]] == [household.id]
    revisit = page["households"][0]["revisit"]
    assert revisit["assigned_to"] is None
    [reason] = revisit["reasons"]
    assert (reason["category"], reason["list_kind"], reason["strength"], reason["member_id"]) == (
        "deceased_receiving",
        "deaths",
        "strong",
        member.id,
    )
    assert reason["entry_id"] == entry.id and reason["source"] == "crosscheck"
    # ... and unflagged households carry no marker.
    other = inv1.get(f"/api/v1/households/{covered(demo.households_in(TOWNSHIP_1))[1].id}")
    assert other.get_json()["revisit"] is None


def test_a_name_and_birth_date_match_is_shown_as_weak(api, demo):
    """A different ID number with the same name and birth date is a weak match, said so."""
    household = covered(demo.households_in(TOWNSHIP_2))[0]
    member = living_member(household)
    namesake = id_number("230230", member.birth_date, 321, member.sex == "male")
    assert namesake != member.id_number
    content = csv_bytes(
        ["id_number", "name", "birth_date", "employer"],
        [[namesake, member.name, member.birth_date.isoformat(), "县教育局"]],
    )
    response = upload(api.as_user("sup1"), LISTS, content, "payroll.csv", kind="public_payroll")
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["strong"], response.get_json()["weak"]) == (0, 1)
    [flag] = (
        api.as_user("sup1").get("/api/v1/audit/crosscheck/flags?strength=weak").get_json()["flags"]
    )
    assert (flag["person_id"], flag["strength"], flag["category"]) == (
        member.id,
        "weak",
        "public_payroll",
    )
    assert flag["matches"][0]["strength"] == "weak"
    entry = db.session.get(LedgerEntry, flag["ledger_entry_id"])
    assert "弱匹配" in entry.description and member.id_number not in entry.description
    revisit = api.as_user("inv3").get(f"/api/v1/households/{household.id}").get_json()["revisit"]
    assert revisit["reasons"][0]["strength"] == "weak"


def test_a_bad_row_aborts_the_import_with_its_row_number(api, demo):
    """Every bad row is named with its number; nothing is stored, no flag is made."""
    member = living_member(covered(demo.households_in(TOWNSHIP_1))[0])
    bad_check = member.id_number[:-1] + ("0" if member.id_number[-1] != "0" else "1")
    content = csv_bytes(
        DEATH_HEADER,
        [
            [member.id_number, member.name, "2026-02-11", ""],  # row 2: fine
            [bad_check, "张三", "2026-02-11", ""],  # row 3: check character
            stranger(1)[:2] + ["", ""],  # row 4: no death date
            stranger(2)[:2] + ["2026-13-01", ""],  # row 5: no such date
        ],
    )
    before = [count(m) for m in (CrosscheckList, CrosscheckRow, CrosscheckFlag, LedgerEntry)]
    response = import_deaths(api, content)
    assert response.status_code == 422
    body = response.get_json()
    rows = body["errors"]["rows"]
    assert any(r.startswith("row 3:") and "check character" in r for r in rows)
    assert any(r.startswith("row 4:") and "death_date is empty" in r for r in rows)
    assert any(r.startswith("row 5:") and "not a date" in r for r in rows)
    assert not any(r.startswith("row 2:") for r in rows)
    assert "nothing imported" in body["message"]
    after = [count(m) for m in (CrosscheckList, CrosscheckRow, CrosscheckFlag, LedgerEntry)]
    assert after == before


@pytest.mark.parametrize(
    "filename,content,message",
    [
        ("deaths.csv", csv_bytes(["姓名", "死亡日期"], [["张三", "2026-01-01"]]), "id_number"),
        ("deaths.csv", csv_bytes(DEATH_HEADER, []), "no data rows"),
        ("deaths.txt", b"x", "unsupported file type"),
        ("deaths.xlsx", b"not a workbook", "XLSX"),
    ],
)
def test_unusable_files_are_refused(api, filename, content, message):
    """Missing columns, no rows, the wrong type or a broken workbook: 422, nothing stored."""
    response = import_deaths(api, content, filename)
    assert response.status_code == 422
    assert message in response.get_json()["message"]
    assert count(CrosscheckList) == 0


def test_reimporting_a_newer_list_adds_no_duplicate_flags(api, demo):
    """The same people on a newer list: the same flags and entries, one more row of evidence."""
    first, second = covered(demo.households_in(TOWNSHIP_1))[:2]
    a, b = living_member(first), living_member(second)
    assert import_deaths(api, death_list(a)).status_code == 201
    inv1 = api.as_user("inv1")
    cursor = inv1.get("/api/v1/households?limit=500").get_json()["cursor"]
    flags_before, entries_before = count(CrosscheckFlag), count(LedgerEntry)

    newer = import_deaths(
        api,
        xlsx_bytes(
            DEATH_HEADER,
            [[a.id_number, a.name, "2026-02-11", ""], [b.id_number, b.name, "2026-03-02", ""]],
        ),
        "deaths-2026-03.xlsx",
    )
    assert newer.status_code == 201, newer.get_json()
    assert (newer.get_json()["new_flags"], newer.get_json()["seen_flags"]) == (1, 1)
    assert count(CrosscheckFlag) == flags_before + 1  # only b is new
    assert count(LedgerEntry) == entries_before + 1
    again = import_deaths(api, death_list(a, strangers=0))
    assert again.get_json()["new_flags"] == 0
    assert count(CrosscheckFlag) == flags_before + 1
    flag_a = db.session.scalar(select(CrosscheckFlag).where(CrosscheckFlag.person_id == a.id))
    assert len(flag_a.matches) == 3  # three lists named a; still one flag
    assert count(CrosscheckMatch) == 4
    # Only the household with a new flag reaches the phones again.
    page = inv1.get(f"/api/v1/households?since={cursor}&limit=500").get_json()
    assert [h["id"] for h in page["households"]] == [second.id]


def test_a_township_supervisor_sees_only_their_townships_flags_and_entries(api, demo, app):
    """Flags and ledger entries follow the region scope; raw lists stay with the county."""
    one = living_member(covered(demo.households_in(TOWNSHIP_1))[0])
    two = living_member(covered(demo.households_in(TOWNSHIP_2))[0])
    assert import_deaths(api, death_list(one, two)).status_code == 201
    township_supervisor("sup2", TOWNSHIP_2, demo.password)
    sup2 = api.as_user("sup2")

    flags = sup2.get("/api/v1/audit/crosscheck/flags").get_json()["flags"]
    assert [f["person_id"] for f in flags] == [two.id]
    # Another township is no township of theirs: 404, as an unknown code.
    assert sup2.get(f"/api/v1/audit/crosscheck/flags?township_code={TOWNSHIP_1}").status_code \
        == 404
    entries = sup2.get("/api/v1/audit/ledger").get_json()["entries"]
    assert [e["member_id"] for e in entries] == [two.id]
    other = db.session.scalar(select(LedgerEntry).where(LedgerEntry.member_id == one.id))
    assert sup2.get(f"/api/v1/audit/ledger/{other.id}").status_code == 404
    assert (
        sup2.post(
            f"/api/v1/audit/ledger/{other.id}/transitions", json={"to_state": "in_progress"}
        ).status_code
        == 404
    )
    assert [q["household_id"] for q in sup2.get("/api/v1/audit/crosscheck/queue").get_json()] == [
        db.session.get(LedgerEntry, entries[0]["id"]).household_id
    ]
    # The lists themselves: county supervisors and admins only.
    assert sup2.get(LISTS).status_code == 403
    assert sup2.get(f"{LISTS}/1").status_code == 403
    assert import_deaths(api, death_list(two), user="sup2").status_code == 403
    assert api.as_user("inv1").get("/api/v1/audit/crosscheck/flags").status_code == 403
    assert api.as_user("admin").get(LISTS).status_code == 200
    # The county sees both.
    assert len(api.as_user("sup1").get("/api/v1/audit/crosscheck/flags").get_json()["flags"]) == 2


def test_imports_and_reads_are_audited_and_matched_rows_only_are_kept(api, demo):
    """Every import and view is in the audit log; rows nobody matched are not stored."""
    member = living_member(covered(demo.households_in(TOWNSHIP_1))[0])
    response = import_deaths(api, death_list(member, strangers=5))
    list_id = response.get_json()["list"]["id"]
    sup1 = api.as_user("sup1")
    detail = sup1.get(f"{LISTS}/{list_id}").get_json()
    assert detail["row_count"] == 6 and [r["id_number"] for r in detail["rows"]] == [
        member.id_number
    ]
    assert detail["kept"] is False
    sup1.get(LISTS)
    sup1.get("/api/v1/audit/crosscheck/flags")
    actions = [
        (a.action, a.actor_name)
        for a in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("crosscheck.%")).order_by(AuditEntry.id)
        )
    ]
    assert actions == [
        ("crosscheck.import", "sup1"),
        ("crosscheck.list.read", "sup1"),
        ("crosscheck.lists", "sup1"),
        ("crosscheck.flags", "sup1"),
    ]
    imported = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "crosscheck.import")
    ).one()
    assert imported.detail["rows"] == 6 and imported.detail["kept"] is False
    assert member.id_number not in str(imported.detail)


def test_the_raw_upload_is_kept_only_when_configured(api, demo, app, tmp_path):
    """By default no copy stays in the data folder; RUHU_AUDIT_KEEP_UPLOADS keeps one (0600)."""
    member = living_member(covered(demo.households_in(TOWNSHIP_1))[0])
    folder = Path(app.config["DATA_DIR"]) / "audit_uploads"
    import_deaths(api, death_list(member))
    assert not folder.exists() or not any(folder.iterdir())
    app.config["AUDIT_KEEP_UPLOADS"] = True
    kept = import_deaths(api, death_list(member)).get_json()["list"]
    assert kept["kept"] is True
    [path] = list(folder.iterdir())
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_bytes() == death_list(member)


def test_a_supporter_on_the_payroll_hides_support(app, demo):
    """A child with a public-budget salary is Keshan's category 4 on the household."""
    household = next(h for h in demo.households_in(TOWNSHIP_1) if h.supporters)
    supporter = household.supporters[0]
    supporter.id_number = id_number("230229", date(1980, 6, 1), 77, True)
    db.session.commit()
    path = Path(app.config["DATA_DIR"]) / "payroll.csv"
    path.write_bytes(
        csv_bytes(
            ["身份证号", "姓名", "工作单位"], [[supporter.id_number, supporter.name, "县财政局"]]
        )
    )
    summary = crosscheck.import_list(path, "public_payroll", actor=demo.user("admin"))
    assert summary.new_flags == 1
    flag = db.session.scalar(select(CrosscheckFlag))
    assert (flag.person_kind, flag.category) == ("supporter", "hidden_support")
    assert flag.ledger_entry.member_id is None


def test_service_refuses_investigators_and_unknown_kinds(app, demo, tmp_path):
    """Only the county handles lists; a kind must be known."""
    path = tmp_path / "x.csv"
    path.write_bytes(death_list())
    with pytest.raises(Forbidden):
        crosscheck.import_list(path, "deaths", actor=demo.user("inv1"))
    with pytest.raises(Invalid) as caught:
        crosscheck.import_list(path, "horoscopes", actor=demo.user("sup1"))
    assert "kind" in caught.value.errors


def test_a_closed_weak_match_reopens_when_a_list_names_the_person_by_id(api, demo):
    """A namesake closed as unfounded, then a list with the real ID number: a new entry."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    member = living_member(household)
    namesake = id_number("230230", member.birth_date, 322, member.sex == "male")
    weak = csv_bytes(
        DEATH_HEADER + ["出生日期"],
        [[namesake, member.name, "2026-02-11", "", member.birth_date.isoformat()]],
    )
    assert import_deaths(api, weak).get_json()["weak"] == 1
    flag = db.session.scalar(select(CrosscheckFlag))
    sup1 = api.as_user("sup1")
    closed = sup1.post(
        f"/api/v1/audit/ledger/{flag.ledger_entry_id}/transitions",
        json={
            "to_state": "closed",
            "resolution": "unfounded",
            "evidence": [{"kind": "note", "text": "同名同生日,非本人"}],
        },
    )
    assert closed.status_code == 200, closed.get_json()
    assert import_deaths(api, death_list(member)).get_json()["new_flags"] == 0
    db.session.refresh(flag)
    assert flag.strength == "strong" and count(CrosscheckFlag) == 1
    assert flag.ledger_entry.state == "open" and count(LedgerEntry) == 2
    assert count(LedgerTransition) == 3  # two creations and the close


def test_death_lists_answer_the_survey_checks_question(api, demo):
    """The survey's deceased check can ask which ID numbers a death list named."""
    dead, alive = [living_member(h) for h in covered(demo.households_in(TOWNSHIP_1))[:2]]
    import_deaths(api, death_list(dead))
    answers = {"members": [{"id": f"m{n}", "member_id_number": number} for n, number
                           in enumerate([dead.id_number.lower(), alive.id_number, ""])]}
    found = forms.context_for(SURVEY, answers, None).deceased_id_numbers
    assert found == {dead.id_number}


def test_one_rule_of_an_active_flag_for_the_flag_list_queue_and_review_queue(api, demo):
    """Three flagged households, their entries open, in progress and closed: the flag list's
    state filter, the audit queue and the select the review queue's "flagged by audit" filter
    uses (tests/test_console_counts.py checks that filter) agree: in progress is active."""
    households = covered(demo.households_in(TOWNSHIP_1))[:3]
    assert import_deaths(api, death_list(*map(living_member, households))).status_code == 201
    entry_of = {
        f.household_id: f.ledger_entry_id for f in db.session.scalars(select(CrosscheckFlag))
    }
    opened, working, closed = (h.id for h in households)
    sup1 = api.as_user("sup1")
    moves = [(working, {"to_state": "in_progress"}),
             (closed, {"to_state": "closed", "resolution": "unfounded",
                       "evidence": [{"kind": "note", "text": "核实为同名,非本人"}]})]
    for household_id, body in moves:
        response = sup1.post(f"/api/v1/audit/ledger/{entry_of[household_id]}/transitions",
                             json=body)
        assert response.status_code == 200, response.get_json()

    def listed(state: str) -> set[int]:
        page = sup1.get(f"/api/v1/audit/crosscheck/flags?state={state}").get_json()
        return {f["household_id"] for f in page["flags"]}

    assert listed("active") == {opened, working}
    assert listed("closed") == {closed}
    queue = sup1.get("/api/v1/audit/crosscheck/queue").get_json()
    assert {q["household_id"] for q in queue} == {opened, working}
    assert set(db.session.scalars(crosscheck.active_flag_households())) == {opened, working}


def test_a_list_is_read_only_by_the_counties_it_is_about(api, demo, app):
    """A list's rows name people: a county supervisor opens only the lists imported in their
    county or holding rows about its households, and sees only those rows; another county's
    list is neither listed nor opened (404), as one that does not exist."""
    from server.models import Member
    from server.services import users

    theirs = household_of_another_county()
    born = date(1950, 3, 4)
    db.session.add(
        Member(household=theirs, name="外县人", id_number=id_number("230230", born, 77, True),
               birth_date=born, sex="male")
    )
    db.session.commit()
    users.add_user("sup9", role="supervisor", region_code="230230", password=demo.password)
    ours = living_member(covered(demo.households_in(TOWNSHIP_1))[0])
    their_member = theirs.members[0]

    by_sup1 = import_deaths(api, death_list(ours)).get_json()["list"]["id"]
    # The command line matches a list against every county there is.
    path = Path(app.config["DATA_DIR"]) / "deaths.csv"
    path.write_bytes(death_list(ours, their_member))
    by_all = crosscheck.import_list(path, "deaths", actor=None).list.id
    sup1, sup9 = api.as_user("sup1"), api.as_user("sup9")

    assert [item["id"] for item in sup1.get(LISTS).get_json()] == [by_all, by_sup1]
    assert [item["id"] for item in sup9.get(LISTS).get_json()] == [by_all]
    assert sup9.get(f"{LISTS}/{by_sup1}").status_code == 404
    rows = {
        who: [r["id_number"] for r in client.get(f"{LISTS}/{by_all}").get_json()["rows"]]
        for who, client in (("sup1", sup1), ("sup9", sup9))
    }
    assert rows == {"sup1": [ours.id_number], "sup9": [their_member.id_number]}
