"""The last resort: export the outbox to a file and send it from another phone."""

import json

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models.submission import Submission, SubmissionMedia

from .conftest import idb_outbox, sign_in
from .survey import fill_and_finish, make_photos

pytestmark = pytest.mark.e2e


def test_an_exported_outbox_is_sent_from_another_phone_once(new_context, live_server, tmp_path):
    """Phone A exports its unsent survey; phone B imports and sends it; A's later try is a no-op."""
    phone_a, phone_b = new_context(), new_context()
    page_a = phone_a.new_page()
    sign_in(page_a)
    phone_a.set_offline(True)
    page_a.locator("#household-list li a").first.click()
    page_a.click("#start-survey")
    instance_id = fill_and_finish(page_a, make_photos(tmp_path, 2))

    with page_a.expect_download() as download:
        page_a.click("#export")
    exported = tmp_path / "outbox.json"
    download.value.save_as(exported)
    content = json.loads(exported.read_text())
    assert content["format"] == "ruhu-outbox" and len(content["items"]) == 1
    assert len(content["items"][0]["media"]) == 5

    page_b = phone_b.new_page()
    sign_in(page_b)
    page_b.goto("/#/sync")
    page_b.set_input_files("#import-file", str(exported))
    page_b.wait_for_selector(f"#sent li[data-instance='{instance_id}']", timeout=30000)

    phone_a.set_offline(False)
    page_a.wait_for_selector(f"#sent li[data-instance='{instance_id}']", timeout=30000)
    assert idb_outbox(page_a) == [] and idb_outbox(page_b) == []

    def held():
        return (
            db.session.scalar(select(func.count()).select_from(Submission)),
            db.session.scalar(
                select(func.count())
                .select_from(SubmissionMedia)
                .where(SubmissionMedia.received_at.is_not(None))
            ),
        )

    assert live_server.query(held) == (1, 5)
