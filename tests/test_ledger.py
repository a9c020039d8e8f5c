"""The rectification ledger through the API: state changes with evidence, deadlines,
progress, export, scope, and the re-visit marker it puts on households."""

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from server import county_clock
from server.extensions import db
from server.models import AuditEntry, LedgerTransition

from .audit_helpers import covered, patch, township_supervisor
from .conftest import TOWNSHIP_1, TOWNSHIP_2
from .sync_helpers import survey

LEDGER = "/api/v1/audit/ledger"
NOTE = {"kind": "note", "text": "经入户核实,已于5月停发并追回"}


def add_entry(api, household, user="sup1", **fields):
    """Add a hand-made entry on a household and return its JSON."""
    body = {
        "household_id": household.id,
        "category": "unreported_change",
        "actions": ["resurvey", "reduce"],
        "description": "长期外出务工未报告",
        **fields,
    }
    response = api.as_user(user).post(LEDGER, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def move(api, entry_id, to_state, user="sup1", **body):
    """Ask for a state change and return the response."""
    return api.as_user(user).post(
        f"{LEDGER}/{entry_id}/transitions", json={"to_state": to_state, **body}
    )


def test_the_ledger_refuses_to_close_without_evidence_and_records_every_change(api, demo):
    """open → in_progress → rectified → closed: each stored with actor, time, comment, evidence."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    entry = add_entry(api, household)
    assert entry["state"] == "open" and entry["township_code"] == TOWNSHIP_1
    assert entry["due_on"] == (county_clock.today() + timedelta(days=30)).isoformat()

    assert move(api, entry["id"], "in_progress", comment="已通知村委会").status_code == 200
    assert move(api, entry["id"], "rectified", comment="已减发").status_code == 200
    refused = move(api, entry["id"], "closed", comment="看起来没问题")
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "ledger.evidence_required"
    assert "evidence" in refused.get_json()["message"]
    assert api.as_user("sup1").get(f"{LEDGER}/{entry['id']}").get_json()["state"] == "rectified"

    closed = move(api, entry["id"], "closed", comment="核实通过", evidence=[NOTE])
    assert closed.status_code == 200, closed.get_json()
    body = closed.get_json()
    assert (body["state"], body["resolution"]) == ("closed", "rectified")
    assert body["closed_at"] is not None
    steps = [
        (t["from_state"], t["to_state"], t["actor_name"], t["comment"], t["evidence"])
        for t in body["transitions"]
    ]
    assert steps == [
        (None, "open", "刘主任", "人工发现", []),
        ("open", "in_progress", "刘主任", "已通知村委会", []),
        ("in_progress", "rectified", "刘主任", "已减发", []),
        ("rectified", "closed", "刘主任", "核实通过", [NOTE]),
    ]
    assert all(t["at"].endswith("+00:00") or t["at"].endswith("Z") for t in body["transitions"])
    # 销号 is final, and the history cannot be rewritten, even in SQL.
    assert move(api, entry["id"], "in_progress", comment="再查").status_code == 409
    patched = patch(api.as_user("sup1"), f"{LEDGER}/{entry['id']}", json={"actions": ["stop"]})
    assert patched.status_code == 409
    with pytest.raises(DatabaseError), db.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_transition SET comment = 'forged'"))
    with pytest.raises(DatabaseError), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_transition"))
    transitions = db.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "ledger.transition")
    ).all()
    assert [(d["from"], d["to"]) for d in transitions] == [
        ("open", "in_progress"),
        ("in_progress", "rectified"),
        ("rectified", "closed"),
    ]


@pytest.mark.parametrize(
    "body,code",
    [
        ({"to_state": "rectified"}, "ledger.transition_refused"),  # skips in_progress
        ({"to_state": "closed", "evidence": [NOTE]}, "ledger.resolution_required"),
        ({"to_state": "closed", "resolution": "unfounded"}, "ledger.evidence_required"),
    ],
)
def test_refused_moves_leave_the_entry_as_it_was(api, demo, body, code):
    """Each refusal has its code, and no transition is stored."""
    entry = add_entry(api, covered(demo.households_in(TOWNSHIP_1))[0])
    response = api.as_user("sup1").post(f"{LEDGER}/{entry['id']}/transitions", json=body)
    assert response.status_code == 409 and response.get_json()["code"] == code
    stored = db.session.scalars(
        select(LedgerTransition).where(LedgerTransition.entry_id == entry["id"])
    ).all()
    assert [t.to_state for t in stored] == ["open"]


def test_a_weak_match_is_closed_as_unfounded_with_evidence(api, demo):
    """A problem that does not exist is closed from open, explicitly, with a note."""
    entry = add_entry(api, covered(demo.households_in(TOWNSHIP_1))[0])
    response = move(api, entry["id"], "closed", resolution="unfounded", evidence=[NOTE])
    assert response.status_code == 200
    assert response.get_json()["resolution"] == "unfounded"


def test_survey_and_photo_evidence_must_concern_the_household(api, demo):
    """A new survey of this household verifies; another household's survey does not."""
    inv1, inv2 = demo.user("inv1"), demo.user("inv2")
    first, second = covered(demo.households_in(TOWNSHIP_1))[:2]
    entry = add_entry(api, first)
    move(api, entry["id"], "in_progress")
    move(api, entry["id"], "rectified")

    elsewhere = survey(second, {}, investigators=(inv1.id, inv2.id))
    assert api.as_user("inv1").post("/api/v1/submissions", json=elsewhere).status_code == 201
    wrong = move(
        api,
        entry["id"],
        "closed",
        evidence=[{"kind": "survey", "instance_id": elsewhere["instance_id"]}],
    )
    assert wrong.status_code == 422 and wrong.get_json()["code"] == "ledger.evidence_unknown"
    photo = move(api, entry["id"], "closed", evidence=[{"kind": "document", "sha256": "b" * 64}])
    assert photo.status_code == 422

    here = survey(first, {}, investigators=(inv1.id, inv2.id))
    assert api.as_user("inv1").post("/api/v1/submissions", json=here).status_code == 201
    right = move(
        api,
        entry["id"],
        "closed",
        evidence=[{"kind": "survey", "instance_id": here["instance_id"]}],
    )
    assert right.status_code == 200, right.get_json()
    assert right.get_json()["transitions"][-1]["evidence"] == [
        {"kind": "survey", "instance_id": here["instance_id"]}
    ]


def test_overdue_entries_stand_out_and_come_first(api, demo):
    """Entries past their deadline and not rectified are marked and listed first."""
    households = covered(demo.households_in(TOWNSHIP_1))
    later = add_entry(api, households[0], due_on=(county_clock.today() + timedelta(days=5)).isoformat())
    late = add_entry(api, households[1], due_on=(county_clock.today() - timedelta(days=3)).isoformat())
    done_late = add_entry(api, households[2], due_on=(county_clock.today() - timedelta(days=9)).isoformat())
    move(api, done_late["id"], "in_progress")
    move(api, done_late["id"], "rectified")  # rectified in time for its check: not overdue

    entries = api.as_user("sup1").get(LEDGER).get_json()["entries"]
    assert [e["id"] for e in entries] == [late["id"], done_late["id"], later["id"]]
    assert [e["overdue"] for e in entries] == [True, False, False]
    overdue = api.as_user("sup1").get(f"{LEDGER}?state=overdue").get_json()
    assert [e["id"] for e in overdue["entries"]] == [late["id"]] and overdue["total"] == 1


def test_progress_by_township_and_category_and_the_xlsx_export(api, demo):
    """Counts per township and category; the export holds the entries and the progress."""
    one = covered(demo.households_in(TOWNSHIP_1))
    two = covered(demo.households_in(TOWNSHIP_2))
    add_entry(api, one[0])
    closing = add_entry(api, one[1])
    move(api, closing["id"], "closed", resolution="unfounded", evidence=[NOTE])
    add_entry(api, two[0], category="deceased_receiving", actions=["stop", "recover"])

    progress = api.as_user("sup1").get(f"{LEDGER}/progress").get_json()
    by_key = {(p["township_code"], p["category"]): p for p in progress}
    row = by_key[(TOWNSHIP_1, "unreported_change")]
    assert (row["total"], row["open"], row["closed"], row["overdue"], row["closed_share"]) == (
        2,
        1,
        1,
        0,
        0.5,
    )
    assert by_key[(TOWNSHIP_2, "deceased_receiving")]["township"] == "北兴镇"

    response = api.as_user("sup1").get(f"{LEDGER}/export.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    entries = list(book.worksheets[0].iter_rows(values_only=True))
    assert entries[0][0] == "编号 No." and len(entries) == 4
    assert {row[4] for row in entries[1:]} == {
        "长期在外或情况变化未及时告知",
        "已死亡人员领取低保金",
    }
    summary = list(book.worksheets[1].iter_rows(values_only=True))
    assert len(summary) == 3
    book.close()
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.export"))


def test_the_export_writes_any_description_as_plain_text(api, demo):
    """A description that starts like a formula, or holds control characters XML cannot
    carry (typed or pasted into the API), exports as text: the file is still made, the
    formula never runs, the unwritable characters show as U+FFFD, a line break stays."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    add_entry(api, household, description='=HYPERLINK("http://x","点我")\x01尾\n第二行')
    response = api.as_user("sup1").get(f"{LEDGER}/export.xlsx")
    assert response.status_code == 200, response.get_json()
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("问题描述 Description") + 1)
    assert cell.value == '\'=HYPERLINK("http://x","点我")\ufffd尾\n第二行'
    assert cell.data_type == "s"


def test_township_supervisors_work_in_their_township_only(api, demo):
    """A township supervisor adds and moves entries of their township, and sees no others."""
    township_supervisor("sup2", TOWNSHIP_2, demo.password)
    one = covered(demo.households_in(TOWNSHIP_1))[0]
    two = covered(demo.households_in(TOWNSHIP_2))[0]
    theirs = add_entry(api, two, user="sup2")
    county = add_entry(api, one)
    assert (
        api.as_user("sup2")
        .post(LEDGER, json={"household_id": one.id, "category": "favour_case", "actions": ["stop"]})
        .status_code
        == 403
    )
    assert [e["id"] for e in api.as_user("sup2").get(LEDGER).get_json()["entries"]] == [
        theirs["id"]
    ]
    assert api.as_user("sup2").get(f"{LEDGER}/{county['id']}").status_code == 404
    assert move(api, theirs["id"], "in_progress", user="sup2").status_code == 200
    progress = api.as_user("sup2").get(f"{LEDGER}/progress").get_json()
    assert {p["township_code"] for p in progress} == {TOWNSHIP_2}
    assert len(api.as_user("sup1").get(LEDGER).get_json()["entries"]) == 2
    assert api.as_user("inv1").get(LEDGER).status_code == 403


def test_the_household_a_list_is_narrowed_to_must_be_in_scope(demo):
    """ledger.household_filter: a household of the user's region comes back; one of another
    township is NotFound with the same words as one that does not exist; investigators are
    refused."""
    from server.services import ledger
    from server.services.errors import Forbidden, NotFound

    sup2 = township_supervisor("sup2", TOWNSHIP_2, demo.password)
    one = covered(demo.households_in(TOWNSHIP_1))[0]
    two = covered(demo.households_in(TOWNSHIP_2))[0]
    assert ledger.household_filter(sup2, two.id) is two
    assert ledger.household_filter(demo.user("sup1"), one.id) is one
    refusals = []
    for household_id in (one.id, 99999999, 0, -1, 2**31):
        with pytest.raises(NotFound) as refused:
            ledger.household_filter(sup2, household_id)
        refusals.append(refused.value.message)
    assert set(refusals) == {"户不存在 / no such household"}
    with pytest.raises(Forbidden):
        ledger.household_filter(demo.user("inv1"), one.id)


def test_a_move_from_a_state_the_entry_left_is_refused(api, demo):
    """transition(from_state=...): the state the supervisor saw; if the entry moved since,
    409 ledger.stale_state and nothing stored."""
    from server.services import ledger
    from server.services.errors import Conflict

    entry = add_entry(api, covered(demo.households_in(TOWNSHIP_1))[0])
    sup1 = demo.user("sup1")
    for state in ("in_progress", "rectified"):
        ledger.transition(sup1, entry["id"], to_state=state, from_state=None)
    with pytest.raises(Conflict) as refused:
        ledger.transition(sup1, entry["id"], to_state="in_progress", comment="核实未通过",
                          from_state="open")
    assert refused.value.code == "ledger.stale_state"
    assert refused.value.errors == {"state": ["rectified"]}
    transitions = db.session.scalars(
        select(LedgerTransition).where(LedgerTransition.entry_id == entry["id"])).all()
    assert [t.to_state for t in transitions] == ["open", "in_progress", "rectified"]
    moved = ledger.transition(sup1, entry["id"], to_state="in_progress",
                              comment="核实未通过", from_state="rectified")
    assert moved.state == "in_progress"


def test_the_api_refuses_a_move_from_a_state_the_entry_left(api, demo):
    """POST .../transitions with from_state: the entry moved since, so 409
    ledger.stale_state in the one error shape and nothing stored; from the present state it
    moves; an unknown from_state is a 422; the spec documents the field."""
    entry = add_entry(api, covered(demo.households_in(TOWNSHIP_1))[0])
    for state in ("in_progress", "rectified"):
        assert move(api, entry["id"], state, from_state=None).status_code == 200
    refused = move(api, entry["id"], "in_progress", comment="核实未通过", from_state="open")
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["code"] == "ledger.stale_state" and body["errors"] == {"state": ["rectified"]}
    assert set(body) >= {"code", "message", "errors"}
    transitions = db.session.scalars(
        select(LedgerTransition).where(LedgerTransition.entry_id == entry["id"])).all()
    assert [t.to_state for t in transitions] == ["open", "in_progress", "rectified"]
    assert move(api, entry["id"], "in_progress", from_state="nowhere").status_code == 422
    moved = move(api, entry["id"], "in_progress", comment="核实未通过", from_state="rectified")
    assert moved.status_code == 200 and moved.get_json()["state"] == "in_progress"
    spec = api.as_user("sup1").get("/api/v1/openapi.json").get_json()
    request = spec["components"]["schemas"]["TransitionRequest"]["properties"]
    assert {"open", "in_progress", "rectified", "closed"} <= set(request["from_state"]["enum"])
    assert "ledger.stale_state" in request["from_state"]["description"]


def test_an_edit_from_an_entry_changed_since_is_refused(api, demo):
    """PATCH with seen_updated_at (the entry's updated_at as the editor saw it): another
    supervisor's edit since is not overwritten (409 ledger.stale, the one error shape,
    nothing stored); with the entry's present updated_at the edit is taken."""
    entry = add_entry(api, covered(demo.households_in(TOWNSHIP_1))[0])
    url = f"{LEDGER}/{entry['id']}"
    seen = entry["updated_at"]
    first = patch(api.as_user("sup1"), url, json={"description": "甲的修改",
                                                   "seen_updated_at": seen})
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["updated_at"] != seen
    second = patch(api.as_user("sup1"), url, json={"description": "乙的修改",
                                                    "amount_to_recover": 300,
                                                    "seen_updated_at": seen})
    assert second.status_code == 409
    body = second.get_json()
    assert body["code"] == "ledger.stale"
    assert body["errors"] == {"updated_at": [first.get_json()["updated_at"]]}
    assert set(body) >= {"code", "message", "errors"}
    stored = api.as_user("sup1").get(url).get_json()
    assert (stored["description"], stored["amount_to_recover"]) == ("甲的修改", None)
    # A move is a change too: an edit from before it is refused as well.
    assert move(api, entry["id"], "in_progress").status_code == 200
    stale = patch(api.as_user("sup1"), url, json={
        "description": "乙的修改", "seen_updated_at": first.get_json()["updated_at"]})
    assert stale.status_code == 409
    fresh = api.as_user("sup1").get(url).get_json()["updated_at"]
    again = patch(api.as_user("sup1"), url, json={"description": "乙的修改",
                                                   "seen_updated_at": fresh})
    assert again.status_code == 200 and again.get_json()["description"] == "乙的修改"
    # Without it, an edit is taken as before.
    assert patch(api.as_user("sup1"), url, json={"description": "丙"}).status_code == 200


def test_an_entry_needing_a_resurvey_marks_the_household_until_rectified(api, demo):
    """The re-visit marker comes with the entry and leaves with it, through the delta."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    inv1 = api.as_user("inv1")
    cursor = inv1.get("/api/v1/households?limit=500").get_json()["cursor"]
    entry = add_entry(api, household)
    page = inv1.get(f"/api/v1/households?since={cursor}&limit=500").get_json()
    assert [h["id"] for h in page["households"]] == [household.id]
    assert page["households"][0]["revisit"]["reasons"][0]["entry_id"] == entry["id"]

    # Changing the actions so no re-survey is needed removes the marker ...
    cursor = page["cursor"]
    patch(api.as_user("sup1"), f"{LEDGER}/{entry['id']}", json={"actions": ["reduce"]})
    page = inv1.get(f"/api/v1/households?since={cursor}&limit=500").get_json()
    assert [(h["id"], h["revisit"]) for h in page["households"]] == [(household.id, None)]
    # ... and so does rectifying an entry that needed one.
    patch(api.as_user("sup1"), f"{LEDGER}/{entry['id']}", json={"actions": ["resurvey"]})
    cursor = inv1.get(f"/api/v1/households?since={page['cursor']}&limit=500").get_json()["cursor"]
    move(api, entry["id"], "in_progress")
    assert inv1.get(f"/api/v1/households?since={cursor}&limit=500").get_json()["households"] == []
    move(api, entry["id"], "rectified")
    page = inv1.get(f"/api/v1/households?since={cursor}&limit=500").get_json()
    assert [(h["id"], h["revisit"]) for h in page["households"]] == [(household.id, None)]


def test_a_survey_after_the_entry_clears_the_marker(api, demo):
    """Once a survey of the household arrives, the re-visit is done."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    add_entry(api, household)
    inv1 = api.as_user("inv1")
    assert inv1.get(f"/api/v1/households/{household.id}").get_json()["revisit"] is not None
    body = survey(household, {}, investigators=(demo.user("inv1").id, demo.user("inv2").id))
    assert inv1.post("/api/v1/submissions", json=body).status_code == 201
    assert inv1.get(f"/api/v1/households/{household.id}").get_json()["revisit"] is None


@pytest.mark.parametrize(
    "fields,status",
    [
        ({"category": "astrology"}, 422),
        ({"actions": []}, 422),
        ({"actions": ["pray"]}, 422),
        ({"member_id": "not-a-member"}, 404),
        ({"amount_to_recover": -5}, 422),
        ({"household_id": 999999}, 404),
    ],
)
def test_bad_entries_are_refused(api, demo, fields, status):
    """Categories and actions are Keshan's; members belong to the household."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    body = {"household_id": household.id, "category": "favour_case", "actions": ["stop"], **fields}
    assert api.as_user("sup1").post(LEDGER, json=body).status_code == status


def test_nul_characters_are_refused_on_the_api_and_dropped_elsewhere(api, demo):
    """PostgreSQL cannot store NUL: the API says 422, services drop it (console, CLI)."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = api.as_user("sup1")
    assert sup1.get(f"{LEDGER}?township_code=%00").status_code == 422
    body = {"household_id": household.id, "category": "favour_case", "actions": ["stop"]}
    assert sup1.post(LEDGER, json={**body, "description": "a\x00b"}).status_code == 422
    from server.services import ledger

    entry = ledger.create(demo.user("sup1"), {**body, "description": "村\x00委"})
    assert entry.description == "村委"
    page = ledger.list_entries(demo.user("sup1"), {"township_code": "\x00230229100"})
    assert [e.id for e in page["entries"]] == [entry.id]
