"""A whole survey done with no network, then sent when the network comes back."""

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models.submission import Submission

from .conftest import dump, idb_outbox, sign_in, wait_for_service_worker
from .survey import fill_and_finish, make_photos

pytestmark = pytest.mark.e2e


def submissions(live_server) -> list[dict]:
    """Every submission the server holds, with its media."""

    def read():
        return [
            {
                "instance_id": s.instance_id,
                "status": s.status,
                "household_id": s.household_id,
                "investigator_ids": s.investigator_ids,
                "answers": s.answers,
                "media": sorted(
                    (m.question, m.content_type, m.size, m.received_at is not None) for m in s.media
                ),
            }
            for s in db.session.scalars(select(Submission))
        ]

    return live_server.query(read)


def test_a_survey_filled_offline_is_sent_once_back_online(page, context, live_server, tmp_path):
    """Offline: reload, fill with two photos and signatures, queue. Online: sent exactly once."""
    sign_in(page)
    wait_for_service_worker(page)
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#household-list li a")

    page.locator("#household-list li a").first.click()
    page.click("#start-survey")
    # A new survey is dated today on the phone's calendar (local time, not UTC).
    today = page.evaluate(
        "() => { const d = new Date(); return [d.getFullYear(), d.getMonth() + 1, d.getDate()]; }")
    visit = page.locator("[data-name=visit_date] input")
    assert visit.input_value() == "{:04d}-{:02d}-{:02d}".format(*today)
    photos = make_photos(tmp_path, 2)
    instance_id = fill_and_finish(page, photos)

    waiting = page.locator(f"#outbox li[data-instance='{instance_id}']")
    assert waiting.get_attribute("data-state") == "waiting"
    assert waiting.locator(".state").inner_text() == "等待发送"
    assert [i["instance_id"] for i in idb_outbox(page)] == [instance_id]
    assert submissions(live_server) == []
    assert page.locator("#outbox-count").inner_text() == "1"

    context.set_offline(False)
    try:
        page.wait_for_selector(f"#sent li[data-instance='{instance_id}']", timeout=30000)
    except Exception:
        print("OUTBOX", page.inner_text("#outbox"))
        raise
    page.wait_for_selector("#outbox li.empty")
    assert idb_outbox(page) == []
    assert page.locator("#outbox-count").is_hidden()

    held = submissions(live_server)
    assert len(held) == 1, dump(held)
    submission = held[0]
    assert submission["instance_id"] == instance_id and submission["status"] == "complete"
    assert len(submission["investigator_ids"]) == 2
    photos_held = [m for m in submission["media"] if m[1] == "image/jpeg"]
    signatures = [m for m in submission["media"] if m[1] == "image/png"]
    assert len(photos_held) == 2, dump(submission["media"])
    assert len(signatures) == 3
    assert all(received for *_, received in submission["media"])
    # Downscaled on the phone: a 3000×2000 camera JPEG arrives well under 400 KB.
    assert all(size < 400 * 1024 for _, _, size, _ in photos_held)
    assert len(submission["answers"]["photo_housing_interior"]) == 2
