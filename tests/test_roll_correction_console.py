"""花名册核对: a wrongly imported roll is replaced or withdrawn from its page, with a reason,
in both languages; a refused correction shows the roll again with what was typed."""

import io
import re

from sqlalchemy import func, select

from server.extensions import db
from server.models import LedgerEntry, PaymentRoll

from .audit_helpers import csv_bytes
from .conftest import TOWNSHIP_1
from .test_console_errors import assert_console_error

pytest_plugins = ["tests.console_helpers"]

HEADER = ["户编号", "保障人数", "保障金额"]
REASON = "误传了北兴镇的文件"


def roll_file(*codes: str) -> tuple:
    """Return a roll paying households nobody knows, as a multipart file tuple."""
    return (io.BytesIO(csv_bytes(HEADER, [[c, 1, 300] for c in codes])), "roll.csv")


def imported(console, *codes: str, user: str = "sup1") -> int:
    """Import a roll through the console, enter every mismatch; return the roll's id."""
    client = console.as_user(user)
    page = client.post(
        "/console/rolls",
        data={"township": TOWNSHIP_1, "period": "2026-05", "file": roll_file(*codes)},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    roll_id = int(re.search(r'action="/console/rolls/(\d+)/ledger"', page).group(1))
    mismatches = re.findall(r'name="mismatch" value="(\d+)"', page)
    client.post(f"/console/rolls/{roll_id}/ledger", data={"mismatch": mismatches})
    return roll_id


def correct(client, roll_id: int, action: str, reason: str = REASON, file=None):
    """Send the roll page's correction form."""
    data = {"action": action, "reason": reason}
    if file is not None:
        data["file"] = file
    return client.post(
        f"/console/rolls/{roll_id}/correct",
        data=data,
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_a_wrong_roll_is_replaced_from_its_page(console, demo):
    """The right file and a reason: the new roll's page says what it replaced and what
    became of the old entries; the old roll stays, marked, without any form."""
    roll_id = imported(console, "NO-SUCH-1")
    sup1 = console.as_user("sup1")
    page = sup1.text(f"/console/rolls/{roll_id}")
    assert "更正花名册" in page and 'value="replace"' in page and 'value="withdraw"' in page

    response = correct(sup1, roll_id, "replace", file=roll_file("NO-SUCH-2"))
    html = response.get_data(as_text=True)
    new_id = db.session.scalar(select(func.max(PaymentRoll.id)))
    assert response.status_code == 200 and response.request.path == f"/console/rolls/{new_id}"
    closed = db.session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.state == "closed")
    )
    found = db.session.get(PaymentRoll, new_id).mismatch_count
    assert closed == db.session.get(PaymentRoll, roll_id).mismatch_count  # every entry
    assert (
        f"第 {roll_id} 号花名册已被替换:新花名册 {found} 处差异;{closed} 个未处理的整改条目"
        "随之销号,0 个已处理的条目保留待查看。"
    ) in html
    assert f"此花名册替换了第 {roll_id} 号花名册。原因:{REASON}" in html
    old = sup1.text(f"/console/rolls/{roll_id}")
    assert 'data-roll-state="superseded"' in old and f"以第 {new_id} 号花名册替换" in old
    assert REASON in old and 'name="mismatch"' not in old and "更正花名册" not in old
    assert "NO-SUCH-1" in old  # its mismatches are still there to read
    assert "已被替换" in sup1.text("/console/rolls")
    assert {(e.state, e.resolution) for e in db.session.scalars(select(LedgerEntry))} == {
        ("closed", "unfounded")
    }


def test_a_withdrawn_roll_lists_the_entries_someone_worked_on(console, demo):
    """An entry already in progress stays, and the withdrawn roll's page links to it."""
    roll_id = imported(console, "NO-SUCH-1")
    sup1 = console.as_user("sup1")
    worked, *untouched = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()
    sup1.post(
        f"/console/ledger/{worked.id}/transition",
        data={"to_state": "in_progress", "from_state": "open", "comment": "已核查"},
    )
    assert db.session.get(LedgerEntry, worked.id).state == "in_progress"
    html = correct(sup1, roll_id, "withdraw").get_data(as_text=True)
    assert (
        f"花名册已撤回:{len(untouched)} 个未处理的整改条目随之销号,1 个已处理的条目保留待查看。"
    ) in html
    assert "以下整改条目在撤回前已有人处理" in html
    assert f'href="/console/ledger/{worked.id}"' in html and "整改中" in html
    assert "此花名册已于" in html and f"撤回。原因:{REASON}" in html
    assert {db.session.get(LedgerEntry, e.id).state for e in untouched} == {"closed"}
    sup1.post("/console/language", {"lang": "en"})
    english = sup1.text(f"/console/rolls/{roll_id}")
    assert "These ledger entries had been worked on before the withdrawal" in english
    assert "was withdrawn on" in english and f"Reason: {REASON}" in english


def test_a_refused_correction_keeps_the_reason_typed(console, demo):
    """Replacing without a file, or withdrawing without a reason, shows the roll again
    (422) with the reason as typed and the error at its field; nothing changes."""
    roll_id = imported(console, "NO-SUCH-1")
    sup1 = console.as_user("sup1")
    no_file = correct(sup1, roll_id, "replace", reason="金额整体录错")
    html = no_file.get_data(as_text=True)
    assert (
        no_file.status_code == 422 and no_file.request.path == f"/console/rolls/{roll_id}/correct"
    )
    assert ">金额整体录错</textarea>" in html and "替换须上传正确的花名册文件" in html
    assert 'name="file" accept=".csv,.xlsx" aria-invalid="true"' in html
    blank = correct(sup1, roll_id, "withdraw", reason="   ")
    assert blank.status_code == 422 and "请说明撤回或替换的原因。" in blank.get_data(as_text=True)
    bad_rows = correct(
        sup1,
        roll_id,
        "replace",
        reason="金额整体录错",
        file=(io.BytesIO(csv_bytes(HEADER, [["", 0, "abc"]])), "r.csv"),
    )
    bad = bad_rows.get_data(as_text=True)
    assert bad_rows.status_code == 422 and "row 2:" in bad and ">金额整体录错</textarea>" in bad
    sup1.post("/console/language", {"lang": "en"})
    english = correct(sup1, roll_id, "replace", reason="wrong month").get_data(as_text=True)
    assert "Replacing needs the right roll file" in english and ">wrong month</textarea>" in english
    assert db.session.scalar(select(func.count()).select_from(PaymentRoll)) == 1
    assert db.session.get(PaymentRoll, roll_id).state == "current"
    assert {e.state for e in db.session.scalars(select(LedgerEntry))} == {"open"}


def test_a_roll_replaced_meanwhile_says_by_whom(console, demo):
    """sup1 opened the roll; admin replaced it first: sup1's withdrawal is refused (409)
    naming the roll that replaced it, and the page shows the roll as it is now."""
    roll_id = imported(console, "NO-SUCH-1")
    sup1, admin = console.as_user("sup1"), console.as_user("admin")
    sup1.text(f"/console/rolls/{roll_id}")
    correct(admin, roll_id, "replace", file=roll_file("NO-SUCH-2"))
    new_id = db.session.scalar(select(func.max(PaymentRoll.id)))
    stale = correct(sup1, roll_id, "withdraw", reason="另一个原因")
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert f"第 {roll_id} 号花名册已被第 {new_id} 号替换(admin," in html and "未作更改" in html
    assert 'data-roll-state="superseded"' in html and "更正花名册" not in html
    assert db.session.get(PaymentRoll, roll_id).withdrawn_reason == REASON


def test_a_second_import_tells_how_to_correct(console, demo):
    """The refusal of a second roll of the month points to the correction form."""
    roll_id = imported(console, "NO-SUCH-1")
    sup1 = console.as_user("sup1")
    again = sup1.post(
        "/console/rolls",
        data={"township": TOWNSHIP_1, "period": "2026-05", "file": roll_file("NO-SUCH-2")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    html = again.get_data(as_text=True)
    assert again.request.path == f"/console/rolls/{roll_id}"
    assert "请展开本页的“更正花名册”,上传正确的文件并说明原因" in html and 'id="correct"' in html
    sup1.post("/console/language", {"lang": "en"})
    english = sup1.post(
        "/console/rolls",
        data={"township": TOWNSHIP_1, "period": "2026-05", "file": roll_file("NO-SUCH-2")},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "open “Correct this roll” on this page and replace it" in english


def test_only_county_auditors_see_or_send_the_correction(console, demo, sup2):
    """A township supervisor gets the refusal page; an unknown roll is the 404 page."""
    roll_id = imported(console, "NO-SUCH-1")
    refused = correct(console.as_user("sup2"), roll_id, "withdraw")
    assert_console_error(refused, 403, "只有县级审核人员和管理员")
    missing = correct(console.as_user("sup1"), 999999, "withdraw")
    assert_console_error(missing, 404, "花名册不存在")
    assert db.session.get(PaymentRoll, roll_id).state == "current"
