"""The network drops in the middle of a photo upload: it resumes where it stopped, once."""

import hashlib
import re

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models.submission import Submission

from .conftest import dump, sign_in
from .survey import fill_and_finish, make_photos

pytestmark = pytest.mark.e2e
RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


def test_an_interrupted_photo_upload_resumes_and_completes_once(
    page, context, live_server, tmp_path
):
    """Chunk two of a photo is lost: the retry asks the server where to go on, not byte 0."""
    sign_in(page)
    context.set_offline(True)
    page.locator("#household-list li a").first.click()
    page.click("#start-survey")
    instance_id = fill_and_finish(page, make_photos(tmp_path, 2))

    puts: list[tuple[str, int, int]] = []  # (sha256, first byte, last byte) that reached the server
    dropped: list[tuple[str, int]] = []

    def media_upload(route):
        """Let chunks through, except the first chunk after the start of a photo: drop it."""
        request = route.request
        if request.method != "PUT":
            route.continue_()
            return
        sha = request.url.rsplit("/", 1)[-1]
        first, last, _ = map(int, RANGE.match(request.headers["content-range"]).groups())
        if first > 0 and not dropped:
            dropped.append((sha, first))
            route.abort("internetdisconnected")
            return
        puts.append((sha, first, last))
        route.continue_()

    context.route("**/api/v1/submissions/*/media/*", media_upload)
    context.set_offline(False)

    # The item goes back to waiting (with a backoff) once the upload broke ...
    item = page.locator(f"#outbox li[data-instance='{instance_id}']")
    item.locator(".small", has_text="已尝试 1 次").wait_for(timeout=30000)
    assert item.get_attribute("data-state") == "waiting"
    assert dropped, "no chunk was dropped"
    sha, resume_at = dropped[0]
    # The server holds the survey, not yet its photos: its feedback names it, yet the phone
    # shows it as waiting only, never as sent (a "sent" survey is one the phone may forget).
    named = page.evaluate(
        """async (id) => {
            await (await import("/js/feedback.js")).refresh();
            return (await (await import("/js/db.js")).get("sent", id))?.status;
        }""",
        instance_id,
    )
    assert named == "awaiting_media"
    page.goto("/#/households")
    page.goto("/#/sync")
    page.wait_for_selector(f"#outbox li[data-instance='{instance_id}']")
    page.wait_for_selector("#sent li")
    assert page.locator(f"#sent li[data-instance='{instance_id}']").count() == 0
    # ... and a tap on "sync now" resumes it.
    page.click("#sync-now")
    page.wait_for_selector(f"#sent li[data-instance='{instance_id}']", timeout=30000)

    after = [(first, last) for s, first, last in puts if s == sha]
    before_drop = [p for p in after if p[0] < resume_at]
    after_drop = [p for p in after if p[0] >= resume_at]
    assert before_drop == [(0, resume_at - 1)], dump(puts)  # the first chunk, sent once
    # Resumed where the server stood (the log of PUTs and the drop shown if not).
    assert after_drop and after_drop[0][0] == resume_at, f"dropped {dropped}; {dump(puts)}"

    def stored():
        submission = db.session.scalar(select(Submission))
        return submission.status, [
            (m.sha256, m.size, m.received_at is not None) for m in submission.media
        ]

    status, media = live_server.query(stored)
    assert status == "complete"
    assert all(received for *_, received in media)
    assert len({m[0] for m in media}) == len(media)
    # The photo on the server is byte for byte the one on the phone.
    client = live_server.app.test_client()
    with client.get(f"/api/v1/media/{sha}?size=full", headers=live_server.login("sup1")) as body:
        assert body.status_code == 200
        assert hashlib.sha256(body.data).hexdigest() == sha
