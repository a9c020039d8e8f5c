"""花名册核对 in real Chromium: a wrong roll is replaced from its page. The browser itself
keeps a correction without a reason from being sent; a replacement without its file comes
back with the reason typed; with the file, the new roll's page opens."""

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import LedgerEntry, PaymentRoll
from tests.audit_helpers import csv_bytes, upload
from tests.conftest import TOWNSHIP_1

from .test_console import sign_in, watch_errors

pytestmark = pytest.mark.e2e

HEADER = ["户编号", "保障人数", "保障金额"]


@pytest.fixture
def roll_id(live_server):
    """A roll of township 1 for 2026-05 paying a household nobody knows, its mismatches
    entered in the ledger (through the real API)."""
    client = live_server.app.test_client()
    headers = live_server.login("sup1")
    client.environ_base.update({"HTTP_AUTHORIZATION": headers["Authorization"]})
    roll = upload(
        client,
        "/api/v1/audit/payment-rolls",
        csv_bytes(HEADER, [["NO-SUCH-1", 1, 300]]),
        "wrong.csv",
        township_code=TOWNSHIP_1,
        period="2026-05",
    ).get_json()
    assert (
        client.post(f"/api/v1/audit/payment-rolls/{roll['id']}/ledger", json={}).status_code == 200
    )
    return roll["id"]


def test_a_wrong_roll_is_replaced_in_the_browser(page, live_server, roll_id, tmp_path):
    """No reason: Chromium refuses to send the form. No file: the page comes back (422)
    with the reason and says the file is missing. With both: the new roll's page, the old
    roll superseded and its untouched entries closed."""
    errors = watch_errors(page)
    sign_in(page)
    page.goto(f"/console/rolls/{roll_id}")
    assert not page.is_visible("textarea[name=reason]")  # folded away until asked for
    page.click("#correct summary")
    withdraw = page.get_by_role("button", name="撤回花名册")
    withdraw.click()
    assert page.url.endswith(f"/console/rolls/{roll_id}")  # not sent: reason is required
    assert page.eval_on_selector("textarea[name=reason]", "t => !t.validity.valid")

    page.fill("textarea[name=reason]", "上传错了文件")
    page.get_by_role("button", name="用此文件替换").click()
    page.wait_for_selector("#error-file")
    assert page.url.endswith(f"/console/rolls/{roll_id}/correct")
    assert page.input_value("textarea[name=reason]") == "上传错了文件"
    assert "替换须上传正确的花名册文件" in page.inner_text("#error-file")

    right = tmp_path / "right.csv"
    right.write_bytes(csv_bytes(HEADER, [["NO-SUCH-2", 1, 300]]))
    page.set_input_files("input[name=file]", str(right))
    page.get_by_role("button", name="用此文件替换").click()
    page.wait_for_selector(".flash, [role=status]")
    body = page.inner_text("main")
    assert f"第 {roll_id} 号花名册已被替换" in body and "上传错了文件" in body

    def stored():
        """Return the old roll's state, the new roll's id and the entries' states."""
        old = db.session.get(PaymentRoll, roll_id)
        return (
            old.state,
            old.replaced_by.id,
            {e.state for e in db.session.scalars(select(LedgerEntry))},
        )

    state, new_id, entries = live_server.query(stored)
    assert state == "superseded" and entries == {"closed"}
    assert page.url.endswith(f"/console/rolls/{new_id}")
    # The refused form's 422 is the one failed resource Chromium logs.
    assert [e for e in errors if "422" not in e] == [], errors
