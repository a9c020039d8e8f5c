"""The audit's console screens: cross-check flags and lists, the ledger, the review calendar
and payment rolls — a few clicks each, within the signed-in supervisor's scope."""

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, CrosscheckFlag, LedgerEntry, ReviewAssignment

from .audit_helpers import covered, csv_bytes, living_member, stranger
from .conftest import TOWNSHIP_1, TOWNSHIP_2
from .test_console_errors import assert_console_error

pytest_plugins = ["tests.console_helpers"]


def death_file(*members) -> tuple:
    """Return a death list as a multipart file tuple."""
    rows = [[m.id_number, m.name, "2026-02-11"] for m in members] + [stranger(1)]
    return (io.BytesIO(csv_bytes(["身份证号", "姓名", "死亡日期"], rows)), "deaths.csv")


def test_a_county_supervisor_imports_a_list_and_works_the_flag_to_closure(console, demo):
    """Upload → flag in the queue → ledger entry → in progress → rectified → 销号 with a note."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    member = living_member(household)
    sup1 = console.as_user("sup1")
    page = sup1.text("/console/audit")
    assert "比对名单(县级)" in page and 'enctype="multipart/form-data"' in page

    response = sup1.post(
        "/console/audit/lists",
        data={"kind": "deaths", "source": "殡仪馆", "file": death_file(member)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "已导入 2 行,命中 1 行,新增疑点 1 个。" in html
    assert household.code in html and "强匹配" in html and member.name in html
    flag = db.session.scalar(select(CrosscheckFlag))
    entry_url = f"/console/ledger/{flag.ledger_entry_id}"
    assert f'href="{entry_url}"' in html

    entry_page = sup1.text(entry_url)
    assert "已死亡人员领取低保金" in entry_page and "待整改" in entry_page
    for state in ("in_progress", "rectified"):
        sup1.post(f"{entry_url}/transition", data={"to_state": state, "comment": "处理中"})
    refused = sup1.post(
        f"{entry_url}/transition", data={"to_state": "closed"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "销号须有核实佐证" in refused
    closed = sup1.post(
        f"{entry_url}/transition",
        data={"to_state": "closed", "note": "经核实已停发该成员保障金"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "状态已变更。" in closed and "已销号" in closed and "经核实已停发该成员保障金" in closed
    assert db.session.get(LedgerEntry, flag.ledger_entry_id).state == "closed"
    # The list itself, with its one stored row.
    list_page = sup1.text(f"/console/audit/lists/{flag.first_list_id}")
    assert member.id_number in list_page and "deaths.csv" in list_page


def test_a_bad_list_shows_its_row_numbers(console, demo):
    """A refused import says which rows are wrong, on the page."""
    content = csv_bytes(["身份证号", "姓名", "死亡日期"], [["123", "张三", "2026-02-11"]])
    html = (
        console.as_user("sup1")
        .post(
            "/console/audit/lists",
            data={"kind": "deaths", "file": (io.BytesIO(content), "d.csv")},
            content_type="multipart/form-data",
            follow_redirects=True,
        )
        .get_data(as_text=True)
    )
    assert "row 2:" in html and "nothing imported" in html


def test_a_township_supervisor_sees_their_flags_but_no_lists_or_rolls(console, demo, sup2, api):
    """No upload form, no list pages, no rolls; flags of their township only."""
    one = living_member(covered(demo.households_in(TOWNSHIP_1))[0])
    two = living_member(covered(demo.households_in(TOWNSHIP_2))[0])
    file, name = death_file(one, two)
    assert (
        api.as_user("sup1")
        .post(
            "/api/v1/audit/crosscheck/lists",
            data={"kind": "deaths", "file": (file, name)},
            content_type="multipart/form-data",
        )
        .status_code
        == 201
    )
    page = console.as_user("sup2").text("/console/audit")
    assert two.name in page and one.name not in page
    assert "比对名单(县级)" not in page
    list_id = db.session.scalar(select(CrosscheckFlag.first_list_id))
    console.as_user("sup2").text(f"/console/audit/lists/{list_id}", status=403)
    console.as_user("sup2").text("/console/rolls", status=403)
    ledger_page = console.as_user("sup2").text("/console/ledger")
    assert two.name in ledger_page and one.name not in ledger_page
    other = db.session.scalar(select(LedgerEntry).where(LedgerEntry.member_id == one.id))
    console.as_user("sup2").text(f"/console/ledger/{other.id}", status=404)


def test_a_problem_is_added_by_hand_and_overdue_ones_stand_out(console, demo):
    """The add form takes the household code; a past deadline shows as overdue."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    html = sup1.post(
        "/console/ledger",
        data={
            "household_code": household.code,
            "category": "favour_case",
            "actions": ["resurvey", "stop"],
            "description": "村干部亲属未备案",
            "due_on": "2020-01-01",
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已登记整改条目" in html and "逾期" in html
    listing = sup1.text("/console/ledger?state=overdue")
    assert household.code in listing and "村干部亲属未备案" in listing
    assert re.search(r"按人保.*人情保", listing)  # the progress table names the category
    unknown = sup1.post(
        "/console/ledger",
        data={"household_code": "NOPE", "category": "favour_case", "actions": ["stop"]},
    ).get_data(as_text=True)
    assert "户不存在" in unknown and "no such household" not in unknown
    # An empty household code is a readable refusal (it was a 500), and nothing is added.
    before = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    empty = sup1.post(
        "/console/ledger",
        data={"household_code": "", "category": "favour_case", "actions": ["stop"]},
    )
    assert empty.status_code == 422 and "请填写户编号" in empty.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == before


def _add_form(html: str) -> str:
    """Return the add-a-problem form of the ledger page."""
    start = html.index('<section class="card" id="add">')
    return html[start:html.index("</section>", start)]


def _error_of(form: str, field: str) -> str:
    """Return the text of the error shown next to a field (empty when there is none)."""
    match = re.search(rf'<span class="field-error" id="error-{field}"[^>]*>([^<]*)</span>', form)
    return match.group(1) if match else ""


def _ledger_count() -> int:
    """Return how many ledger entries there are."""
    return db.session.scalar(select(func.count()).select_from(LedgerEntry))


def test_a_refused_entry_comes_back_with_everything_typed_and_the_error_at_its_field(
    console, demo
):
    """No action ticked: the code, category, description and deadline are all still there,
    the error stands at the actions, and nothing is added."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    before = _ledger_count()
    response = console.as_user("sup1").post(
        "/console/ledger",
        data={
            "household_code": household.code,
            "category": "favour_case",
            "description": "村干部亲属 <未备案> & 多领",
            "due_on": "2026-06-30",
        },
    )
    assert response.status_code == 422
    form = _add_form(response.get_data(as_text=True))
    assert "整改条目未登记" in form
    assert f'name="household_code" required class="mono" value="{household.code}"' in form
    assert '<option value="favour_case" selected>' in form
    assert "村干部亲属 &lt;未备案&gt; &amp; 多领</textarea>" in form
    assert 'name="due_on" value="2026-06-30"' in form
    assert _error_of(form, "actions") == "请至少勾选一项整改措施。"
    assert _error_of(form, "household_code") == "" and _error_of(form, "due_on") == ""
    assert 'aria-invalid="true" aria-describedby="error-actions"' in form
    assert _ledger_count() == before


def test_a_bad_deadline_is_marked_in_english_and_the_ticked_actions_stay_ticked(console, demo):
    """A date that does not exist: the deadline's error, in the page's language; the
    actions ticked before are ticked again; nothing is added."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    sup1.post("/console/language", {"lang": "en"})
    before = _ledger_count()
    response = sup1.post(
        "/console/ledger",
        data={
            "household_code": household.code,
            "category": "favour_case",
            "actions": ["resurvey", "stop"],
            "description": "relative of a village cadre",
            "due_on": "2026-02-30",
        },
    )
    assert response.status_code == 422
    form = _add_form(response.get_data(as_text=True))
    assert "The entry was not added" in form
    assert _error_of(form, "due_on") == "Not a date: write it year-month-day, like 2026-06-30."
    assert 'name="due_on" value="2026-02-30"' in form
    assert 'value="resurvey" checked' in form and 'value="stop" checked' in form
    assert 'value="recover" checked' not in form
    assert "relative of a village cadre</textarea>" in form
    assert _ledger_count() == before


def test_an_unknown_household_is_marked_at_the_code_and_the_rest_is_kept(console, demo, sup2):
    """A code that does not exist, or one outside the region (not told apart), is the code's
    error; a township supervisor cannot add to another township's household."""
    other = covered(demo.households_in(TOWNSHIP_1))[0]
    before = _ledger_count()
    for code in ("NOPE", other.code):
        response = console.as_user("sup2").post(
            "/console/ledger",
            data={"household_code": code, "category": "favour_case", "actions": ["stop"],
                  "description": "说明"},
        )
        assert response.status_code == 422
        form = _add_form(response.get_data(as_text=True))
        assert _error_of(form, "household_code") == "户不存在"
        assert f'value="{code}"' in form and 'value="stop" checked' in form
    assert _ledger_count() == before


def _add_entry(client, household, description: str, **form) -> int:
    """Add a problem by hand on a household through the console; return the entry's id."""
    response = client.post("/console/ledger", data={
        "household_code": household.code, "category": "favour_case", "actions": ["stop"],
        "description": description, **form})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _filter_form(html: str) -> str:
    """Return the ledger list's filter form."""
    start = html.index('<form class="filters"')
    return html[start:html.index("</form>", start)]


def test_the_list_narrowed_to_one_household_says_which_and_keeps_it(console, demo):
    """?household=<id>: only its entries, a chip with its code and head's name linking to
    the household, a hidden field so the other filters keep it, a link that removes only
    it, and the export narrowed alike."""
    one, two = covered(demo.households_in(TOWNSHIP_1))[:2]
    sup1 = console.as_user("sup1")
    kept = _add_entry(sup1, one, "甲户问题")
    closed = _add_entry(sup1, one, "甲户已销号")
    sup1.post(f"/console/ledger/{closed}/transition",
              data={"to_state": "closed", "resolution": "unfounded", "note": "核实无问题"})
    _add_entry(sup1, two, "乙户问题")
    head = next(m.name for m in one.members if m.relation == "self")

    html = sup1.text(f"/console/ledger?household={one.id}")
    assert "甲户问题" in html and "甲户已销号" in html and "乙户问题" not in html
    form = _filter_form(html)
    assert "只看此户" in form and one.code in form and head in form
    assert f'href="/console/households/{one.id}">{one.code}</a>' in form
    assert f'<input type="hidden" name="household" value="{one.id}">' in form
    assert 'href="/console/ledger">✕ 取消按户筛选</a>' in form
    assert f"/api/v1/audit/ledger/export.xlsx?household_id={one.id}" in form

    # With another filter: both apply, and removing the household keeps the other one.
    active = sup1.text(f"/console/ledger?household={one.id}&state=active")
    assert f'href="/console/ledger/{kept}"' in active
    assert f'href="/console/ledger/{closed}"' not in active and "乙户问题" not in active
    form = _filter_form(active)
    assert 'href="/console/ledger?state=active">✕ 取消按户筛选</a>' in form
    export = sup1.get(f"/api/v1/audit/ledger/export.xlsx?household_id={one.id}&state=active")
    rows = list(load_workbook(io.BytesIO(export.data)).worksheets[0].values)[1:]
    assert [row[0] for row in rows] == [kept]

    # Without the household: the county's list, and no chip.
    everything = sup1.text("/console/ledger")
    assert "乙户问题" in everything and "只看此户" not in everything
    logged = db.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "ledger.list")).all()
    assert {"filters": {"household_id": one.id}, "count": 2} in logged


def test_a_refused_entry_on_a_list_narrowed_to_a_household_keeps_the_household(console, demo):
    """The add form on ?household=<id>&state=active posts with the list's arguments: a
    refusal (no action ticked) shows the same list — the household's chip and entries only,
    the state filter — with what was typed, not the county's list."""
    one, two = covered(demo.households_in(TOWNSHIP_1))[:2]
    sup1 = console.as_user("sup1")
    _add_entry(sup1, one, "甲户问题")
    _add_entry(sup1, two, "乙户问题")
    html = sup1.text(f"/console/ledger?household={one.id}&state=active")
    action = re.search(r'<form method="post" action="([^"]+)#add"', html).group(1)
    assert action == f"/console/ledger?state=active&amp;household={one.id}"
    before = _ledger_count()
    response = sup1.post(action.replace("&amp;", "&"), data={
        "household_code": one.code, "category": "favour_case", "description": "补充问题"})
    assert response.status_code == 422
    refused = response.get_data(as_text=True)
    form = _filter_form(refused)
    assert "只看此户" in form and one.code in form
    assert f'<input type="hidden" name="household" value="{one.id}">' in form
    assert '<option value="active" selected>' in form
    assert "甲户问题" in refused and "乙户问题" not in refused
    add = _add_form(refused)
    assert _error_of(add, "actions") == "请至少勾选一项整改措施。"
    assert "补充问题</textarea>" in add and f'value="{one.code}"' in add
    assert f"household={one.id}" in re.search(r'action="([^"]+)#add"', add).group(1)
    assert _ledger_count() == before


def test_the_household_chip_in_english(console, demo):
    """The chip and its remove link in the page's language."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    _add_entry(sup1, household, "a problem")
    sup1.post("/console/language", {"lang": "en"})
    form = _filter_form(sup1.text(f"/console/ledger?household={household.id}"))
    assert "This household only" in form and household.code in form
    assert "Show every household" in form and "只看此户" not in form


def test_a_household_outside_the_region_is_not_found_like_an_unknown_one(console, demo, sup2):
    """Township 2's supervisor naming a township-1 household gets the same 404 page as for
    a household that does not exist: neither its code, its name nor its entries."""
    other = covered(demo.households_in(TOWNSHIP_1))[0]
    _add_entry(console.as_user("sup1"), other, "甲户问题")
    head = next(m.name for m in other.members if m.relation == "self")
    client = console.as_user("sup2")
    pages = {}
    for household_id in (other.id, 99999999, 2**31, int("9" * 30)):
        pages[household_id] = assert_console_error(
            client.get(f"/console/ledger?household={household_id}"), 404, "找不到此页面或记录。")
        assert "户不存在" in pages[household_id]
    # The same page but for the address it was asked from (the language switch's return).
    assert pages[other.id].replace(f"household={other.id}", "household=?") == pages[
        99999999].replace("household=99999999", "household=?")
    assert other.code not in pages[other.id] and head not in pages[other.id]
    assert "甲户问题" not in pages[other.id]
    client.post("/console/language", {"lang": "en"})
    html = assert_console_error(client.get(f"/console/ledger?household={other.id}"), 404,
                                "This page or record does not exist.")
    assert "no such household" in html and "户不存在" not in html


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "0x1", "１", "²", " 1"])
def test_a_malformed_household_is_the_console_error_page(console, demo, value):
    """Not a household id: the console's 400 page, not the whole county's list."""
    response = console.as_user("sup1").get("/console/ledger", query_string={"household": value})
    html = assert_console_error(response, 400, "请求有误")
    assert "整改进度" not in html


def test_a_household_id_that_is_no_household_is_not_found(console, demo):
    """Zero names nothing: 404, as an unknown id."""
    assert_console_error(console.as_user("sup1").get("/console/ledger?household=0"), 404,
                         "找不到此页面或记录。")


def _section(html: str, section_id: str) -> str:
    """Return a section of the entry page ("move" or "edit")."""
    start = html.index(f'<section class="card" id="{section_id}">')
    return html[start:html.index("</section>", start)]


def _stored(entry_id: int) -> tuple:
    """Return what an entry holds, its transitions and the ledger changes audited."""
    db.session.expire_all()
    entry = db.session.get(LedgerEntry, entry_id)
    changes = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action.in_(("ledger.transition", "ledger.update"))))
    return (entry.state, entry.resolution, entry.category, list(entry.actions),
            entry.description, entry.due_on, entry.amount_to_recover,
            len(entry.transitions), changes)


def test_closing_without_evidence_comes_back_with_everything_typed(console, demo):
    """No evidence: the move form again (422) with the state, conclusion and comment as
    chosen, the error at the evidence; the edit form as stored; nothing saved."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    entry_id = _add_entry(sup1, household, "原有描述")
    before = _stored(entry_id)
    response = sup1.post(f"/console/ledger/{entry_id}/transition", data={
        "from_state": "open", "to_state": "closed", "resolution": "unfounded",
        "comment": "同名 <不同人> & 已核实", "note": "  ", "instance_id": "", "sha256": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    move = _section(html, "move")
    assert "状态未变更" in move and "已填写的内容都保留着" in move
    assert '<option value="closed" selected>' in move
    assert '<option value="unfounded" selected>' in move
    assert "同名 &lt;不同人&gt; &amp; 已核实</textarea>" in move
    assert _error_of(move, "evidence").startswith("销号须有核实佐证")
    assert "closing needs" not in html
    assert '<fieldset aria-invalid="true" aria-describedby="error-evidence">' in move
    assert _error_of(move, "to_state") == "" and _error_of(move, "resolution") == ""
    assert 'name="from_state" value="open"' in move
    edit = _section(html, "edit")
    assert "原有描述</textarea>" in edit and "修改未保存" not in edit
    assert 'aria-invalid' not in edit
    assert _stored(entry_id) == before


def test_evidence_not_found_is_marked_at_the_field_it_was_typed_in(console, demo):
    """In English: a survey id and a photo hash naming nothing of this household are each
    marked at their field, the note is not; a malformed hash is the hash's error."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    entry_id = _add_entry(sup1, household, "problem")
    before = _stored(entry_id)
    sup1.post("/console/language", {"lang": "en"})
    form = {"from_state": "open", "to_state": "closed", "resolution": "unfounded",
            "note": "checked at the door", "instance_id": "no-such-survey", "sha256": "0" * 64}
    response = sup1.post(f"/console/ledger/{entry_id}/transition", data=form)
    assert response.status_code == 422
    move = _section(response.get_data(as_text=True), "move")
    assert "The state was not changed" in move
    assert _error_of(move, "instance_id").startswith("No survey of this household")
    assert _error_of(move, "sha256").startswith("No received photo of this household")
    assert _error_of(move, "note") == "" and _error_of(move, "evidence") == ""
    assert "checked at the door</textarea>" in move
    assert 'value="no-such-survey" aria-invalid="true"' in move
    assert f'value="{"0" * 64}" aria-invalid="true"' in move

    malformed = sup1.post(f"/console/ledger/{entry_id}/transition",
                          data={**form, "instance_id": "", "sha256": "XYZ"})
    assert malformed.status_code == 422
    move = _section(malformed.get_data(as_text=True), "move")
    assert _error_of(move, "sha256").startswith("No received photo")
    assert _error_of(move, "instance_id") == "" and 'value="XYZ"' in move
    assert _stored(entry_id) == before


def test_a_missing_conclusion_or_comment_is_marked_at_its_field(console, demo):
    """Closing an open entry without 'unfounded', and sending a rectified one back without
    a comment: each at its own field, in the page's language, the rest kept."""
    from server.services import ledger

    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    entry_id = _add_entry(sup1, household, "问题")
    response = sup1.post(f"/console/ledger/{entry_id}/transition", data={
        "from_state": "open", "to_state": "closed", "note": "经核实无此问题"})
    assert response.status_code == 422
    move = _section(response.get_data(as_text=True), "move")
    assert _error_of(move, "resolution").startswith("未经整改直接销号须注明")
    assert "经核实无此问题</textarea>" in move

    for state in ("in_progress", "rectified"):
        ledger.transition(demo.user("sup1"), entry_id, to_state=state, comment="处理")
    before = _stored(entry_id)
    sup1.post("/console/language", {"lang": "en"})
    response = sup1.post(f"/console/ledger/{entry_id}/transition", data={
        "from_state": "rectified", "to_state": "in_progress", "comment": " ",
        "note": "a note kept"})
    assert response.status_code == 422
    move = _section(response.get_data(as_text=True), "move")
    assert _error_of(move, "comment") == (
        "sending a rectified entry back needs a comment saying why")
    assert '<option value="in_progress" selected>' in move and "a note kept</textarea>" in move
    assert _stored(entry_id) == before


def test_a_state_changed_meanwhile_is_not_overridden(console, demo):
    """The page was opened while the entry was open; someone marks it rectified; "in
    progress" chosen on the old page would now send it back as a failed verification (the
    comment given makes that allowed): refused at the state, the fresh state shown, what
    was typed kept, nothing stored."""
    from server.services import ledger

    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    entry_id = _add_entry(sup1, household, "问题")
    assert 'name="from_state" value="open"' in sup1.text(f"/console/ledger/{entry_id}")
    for state in ("in_progress", "rectified"):
        ledger.transition(demo.user("sup1"), entry_id, to_state=state, comment="他人处理")
    before = _stored(entry_id)
    response = sup1.post(f"/console/ledger/{entry_id}/transition", data={
        "from_state": "open", "to_state": "in_progress", "comment": "开始整改"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    move = _section(html, "move")
    assert _error_of(move, "to_state").startswith("此条目刚被他人变更")
    assert 'name="from_state" value="rectified"' in move and "开始整改</textarea>" in move
    assert _stored(entry_id) == before
    # From the page as it is now, the same choice is taken.
    response = sup1.post(f"/console/ledger/{entry_id}/transition", data={
        "from_state": "rectified", "to_state": "in_progress", "comment": "核实未通过"})
    assert response.status_code == 302
    assert _stored(entry_id)[0] == "in_progress"


def test_a_move_the_entry_cannot_make_is_marked_at_the_state(console, demo):
    """A state the entry cannot go to from where it is (a forged or old form)."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    entry_id = _add_entry(sup1, household, "问题")
    before = _stored(entry_id)
    response = sup1.post(f"/console/ledger/{entry_id}/transition", data={
        "to_state": "rectified", "comment": "已整改"})
    assert response.status_code == 422
    move = _section(response.get_data(as_text=True), "move")
    assert _error_of(move, "to_state") == "此条目现在的状态不能改为所选状态，请重新选择。"
    assert "已整改</textarea>" in move
    assert _stored(entry_id) == before


def test_an_entry_closed_meanwhile_says_so_instead_of_its_forms(console, demo):
    """Moving or editing an entry someone closed: the page says it is closed and nothing
    was saved (its forms are gone), 422 in both languages."""
    from server.services import ledger

    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    entry_id = _add_entry(sup1, household, "问题")
    ledger.transition(demo.user("sup1"), entry_id, to_state="closed", resolution="unfounded",
                      evidence=[{"kind": "note", "text": "无问题"}])
    before = _stored(entry_id)
    moved = sup1.post(f"/console/ledger/{entry_id}/transition", data={
        "from_state": "open", "to_state": "in_progress"})
    assert moved.status_code == 422
    assert "此条目已销号，不能再变更" in moved.get_data(as_text=True)
    sup1.post("/console/language", {"lang": "en"})
    edited = sup1.post(f"/console/ledger/{entry_id}/edit", data={
        "category": "favour_case", "actions": ["stop"], "description": "changed"})
    assert edited.status_code == 422
    html = edited.get_data(as_text=True)
    assert "This entry is closed and cannot change any more" in html
    assert 'id="edit"' not in html
    assert _stored(entry_id) == before


def test_a_refused_edit_comes_back_with_everything_typed(console, demo):
    """A date that does not exist and an amount that is not one: both marked, in English;
    the category, actions and description as typed; nothing saved."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    entry_id = _add_entry(sup1, household, "原有描述", due_on="2026-12-31")
    before = _stored(entry_id)
    sup1.post("/console/language", {"lang": "en"})
    response = sup1.post(f"/console/ledger/{entry_id}/edit", data={
        "category": "hidden_support", "actions": ["recover", "reduce"],
        "description": "new <text> & more", "due_on": "2026-02-30",
        "amount_to_recover": "12,5"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    edit = _section(html, "edit")
    assert "The changes were not saved" in edit
    assert _error_of(edit, "due_on") == "Not a date: write it year-month-day, like 2026-06-30."
    assert _error_of(edit, "amount_to_recover").startswith("Not an amount")
    assert '<option value="hidden_support" selected>' in edit
    assert 'value="recover" checked' in edit and 'value="reduce" checked' in edit
    assert 'value="stop" checked' not in edit
    assert "new &lt;text&gt; &amp; more</textarea>" in edit
    assert 'value="2026-02-30"' in edit and 'value="12,5"' in edit
    assert "The state was not changed" not in _section(html, "move")
    assert _stored(entry_id) == before


@pytest.mark.parametrize(
    ("form", "field", "text"),
    [
        ({"actions": []}, "actions", "请至少勾选一项整改措施。"),
        ({"amount_to_recover": "-5"}, "amount_to_recover", "金额须为不小于 0 的数字"),
        ({"amount_to_recover": "nan"}, "amount_to_recover", "金额须为不小于 0 的数字"),
        ({"category": "no_such_category"}, "category", "请选择问题类别。"),
    ],
)
def test_an_edit_the_service_refuses_is_marked_at_its_field(console, demo, form, field, text):
    """The service's refusals of an edit stand at their fields, the rest as typed."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    entry_id = _add_entry(sup1, household, "原有描述")
    before = _stored(entry_id)
    response = sup1.post(f"/console/ledger/{entry_id}/edit", data={
        "category": "favour_case", "actions": ["stop"], "description": "改过的描述",
        "due_on": "2026-12-31", **form})
    assert response.status_code == 422
    edit = _section(response.get_data(as_text=True), "edit")
    assert _error_of(edit, field).startswith(text)
    assert "改过的描述</textarea>" in edit and 'value="2026-12-31"' in edit
    assert _stored(entry_id) == before


@pytest.mark.parametrize(("language", "words"), [
    ("zh", "此条目刚被他人修改（见上方现在的内容），您的修改未保存。"),
    ("en", "Someone changed this entry meanwhile (see what it holds now above); your "
           "changes were not saved."),
])
def test_an_edit_from_a_page_older_than_anothers_edit_is_refused(console, demo, language,
                                                                 words):
    """Two supervisors open the edit form; the first saves; the second's save from the
    older page is refused (422) in the page's language, what they typed kept, the first's
    edit standing. Sent again from the page as it is now, it is taken."""
    from server.services import ledger

    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    entry_id = _add_entry(sup1, household, "原有描述")
    if language == "en":
        sup1.post("/console/language", {"lang": "en"})
    page = sup1.text(f"/console/ledger/{entry_id}")
    seen = re.search(r'name="seen_updated_at" value="([^"]+)"', _section(page, "edit")).group(1)
    ledger.update(demo.user("sup1"), entry_id, {"description": "他人的修改"})
    before = _stored(entry_id)
    typed = {"category": "hidden_support", "actions": ["recover"],
             "description": "我的修改", "due_on": "2026-12-31", "amount_to_recover": "88"}
    response = sup1.post(f"/console/ledger/{entry_id}/edit",
                         data={**typed, "seen_updated_at": seen})
    assert response.status_code == 422
    edit = _section(response.get_data(as_text=True), "edit")
    assert words in edit
    assert '<option value="hidden_support" selected>' in edit
    assert 'value="recover" checked' in edit and "我的修改</textarea>" in edit
    assert 'value="2026-12-31"' in edit and 'value="88"' in edit
    assert _stored(entry_id) == before and before[4] == "他人的修改"
    fresh = re.search(r'name="seen_updated_at" value="([^"]+)"', edit).group(1)
    assert fresh != seen
    again = sup1.post(f"/console/ledger/{entry_id}/edit", data={**typed, "seen_updated_at": fresh})
    assert again.status_code == 302
    assert _stored(entry_id)[4] == "我的修改"


def test_an_edit_with_a_malformed_page_time_is_refused_as_stale(console, demo):
    """A seen_updated_at that is no time (a forged form) never matches: refused, nothing
    stored."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    entry_id = _add_entry(sup1, household, "原有描述")
    before = _stored(entry_id)
    response = sup1.post(f"/console/ledger/{entry_id}/edit", data={
        "category": "favour_case", "actions": ["stop"], "description": "x",
        "seen_updated_at": "yesterday"})
    assert response.status_code == 422
    assert "此条目刚被他人修改" in response.get_data(as_text=True)
    assert _stored(entry_id) == before


def test_the_forms_of_an_unknown_or_hidden_entry_are_not_found(console, demo, sup2):
    """Another township's entry, or none: the console's 404 page, nothing changed."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    entry_id = _add_entry(console.as_user("sup1"), household, "问题")
    before = _stored(entry_id)
    client = console.as_user("sup2")
    for target in (entry_id, 99999999):
        for action, form in (
            ("transition", {"to_state": "closed", "resolution": "unfounded", "note": "x"}),
            ("edit", {"category": "favour_case", "actions": ["stop"], "description": "x"}),
        ):
            assert_console_error(client.post(f"/console/ledger/{target}/{action}", data=form),
                                 404, "找不到此页面或记录。")
    assert _stored(entry_id) == before


def test_accepted_forms_still_go_back_to_the_entry(console, demo):
    """A valid edit and a valid move are saved and redirect to the entry, as before."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    sup1 = console.as_user("sup1")
    entry_id = _add_entry(sup1, household, "问题")
    edited = sup1.post(f"/console/ledger/{entry_id}/edit", data={
        "category": "favour_case", "actions": ["stop", "recover"], "description": "新描述",
        "due_on": "2026-12-31", "amount_to_recover": "1200.5"}, follow_redirects=True)
    assert "已保存。" in edited.get_data(as_text=True)
    moved = sup1.post(f"/console/ledger/{entry_id}/transition", data={
        "from_state": "open", "to_state": "in_progress", "comment": "开始"},
        follow_redirects=True)
    assert "状态已变更。" in moved.get_data(as_text=True)
    state, _, _, actions, description, due_on, amount, transitions, _ = _stored(entry_id)
    assert (state, actions, description, due_on.isoformat(), float(amount), transitions) == (
        "in_progress", ["stop", "recover"], "新描述", "2026-12-31", 1200.5, 2)


def test_the_review_calendar_page_assigns_households(console, demo):
    """Overdue households are listed; ticking one and choosing an investigator assigns it."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    household.next_review_on = household.created_at.date().replace(year=2020)
    db.session.commit()
    sup1 = console.as_user("sup1")
    page = sup1.text("/console/reviews")
    assert household.code in page and "逾期" in page
    inv1 = demo.user("inv1")
    html = sup1.post(
        "/console/reviews/assign",
        data={"household": [str(household.id)], "investigator": str(inv1.id)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已更新 1 户的分配。" in html and "王调查" in html
    assert db.session.scalar(select(ReviewAssignment.investigator_id)) == inv1.id
    away = sup1.post(
        "/console/reviews/assign",
        data={"household": [str(household.id)], "investigator": str(demo.user("inv3").id)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "调查员负责范围之外的户不能分配给他" in away
    nothing = sup1.post("/console/reviews/assign", data={"investigator": str(inv1.id)},
                        follow_redirects=True).get_data(as_text=True)
    assert "请先勾选要分配的户" in nothing and "已更新 0 户" not in nothing


def test_a_roll_is_imported_and_its_mismatches_entered(console, demo):
    """Upload a roll, see each mismatch described, enter one in the ledger."""
    sup1 = console.as_user("sup1")
    content = csv_bytes(["户编号", "保障人数", "保障金额"], [["NO-SUCH", 1, 300]])
    html = sup1.post(
        "/console/rolls",
        data={"township": TOWNSHIP_1, "period": "2026-05", "file": (io.BytesIO(content), "r.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "花名册已导入" in html and "户编号NO-SUCH不在低保档案中" in html
    mismatch = re.search(r'name="mismatch" value="(\d+)"', html).group(1)
    roll_url = re.search(r'action="(/console/rolls/\d+)/ledger"', html).group(1)
    # Nothing ticked enters nothing (it used to enter every mismatch of the roll).
    before = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    nothing = sup1.post(f"{roll_url}/ledger", data={}, follow_redirects=True).get_data(as_text=True)
    assert "请先勾选要登记的差异" in nothing
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == before
    done = sup1.post(
        f"{roll_url}/ledger", data={"mismatch": [mismatch]}, follow_redirects=True
    ).get_data(as_text=True)
    assert "已登记 1 个整改条目。" in done
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.source == "payment_roll"))
    assert entry.household_id is None and entry.township.code == TOWNSHIP_1


def test_a_second_roll_of_a_month_is_refused_with_the_earlier_one_shown(console, demo):
    """The clerk is told, in the page's language, that the month is already imported and
    when, and is shown that roll; nothing new is stored."""
    from server.models import PaymentRoll

    sup1 = console.as_user("sup1")
    content = csv_bytes(["户编号", "保障人数", "保障金额"], [["NO-SUCH", 1, 300]])

    def send(period="2026-05"):
        return sup1.post(
            "/console/rolls",
            data={"township": TOWNSHIP_1, "period": period,
                  "file": (io.BytesIO(content), "r.csv")},
            content_type="multipart/form-data",
            follow_redirects=True,
        )

    first = send()
    roll_id = db.session.scalar(select(PaymentRoll.id))
    assert first.request.path == f"/console/rolls/{roll_id}"
    again = send()
    html = again.get_data(as_text=True)
    assert again.request.path == f"/console/rolls/{roll_id}"
    assert "该乡镇 2026-05 的花名册已于" in html and f"(第 {roll_id} 号花名册)" in html
    assert "本次文件未导入" in html and "花名册已导入:" not in html
    assert db.session.scalar(select(func.count()).select_from(PaymentRoll)) == 1
    sup1.post("/console/language", {"lang": "en"})
    english = send().get_data(as_text=True)
    assert "This township&#39;s 2026-05 roll was already imported on" in english
    assert f"(roll {roll_id})" in english
    assert db.session.scalar(select(func.count()).select_from(PaymentRoll)) == 1
