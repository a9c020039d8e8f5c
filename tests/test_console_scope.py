"""Region scope on every console page and download: a township-2 supervisor sees nothing of
township 1, not even by typing the URL of a household, a submission, a photo or an export."""

import re

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Conflict
from tests.conftest import TOWNSHIP_1, TOWNSHIP_2

pytest_plugins = ["tests.console_helpers"]


@pytest.fixture
def township_1_work(scenario, demo):
    """Township 1 activity: a survey with a photo, and an open conflict."""
    households = demo.households_in(TOWNSHIP_1)
    household = households[0]
    photo = scenario.photo(near=household)
    instance = scenario.record_edit("inv1", household, {"address": "克山镇秘密地址"},
                                    photos=[photo])
    other = households[1]
    base = other.version
    scenario.record_edit("inv1", other, {"phone": "13911111111"}, base_version=base)
    scenario.record_edit("inv2", other, {"phone": "13922222222"}, base_version=base,
                         investigators=[demo.user("inv2").id])
    conflict = db.session.scalar(select(Conflict).where(Conflict.status == "open"))
    import hashlib

    return {
        "household": household,
        "instance": instance,
        "sha": hashlib.sha256(photo[0]).hexdigest(),
        "conflict": conflict,
        "codes": [h.code for h in households],
        "names": [m.name for h in households for m in h.members],
    }


def _no_township_1(html: str, work: dict) -> None:
    """Assert a page names no township-1 household, person or photo."""
    for code in work["codes"]:
        assert code not in html
    assert work["sha"] not in html
    assert "克山秘密" not in html and "克山镇秘密地址" not in html


def test_township_supervisor_sees_only_their_township(console, sup2, township_1_work, demo):
    """Lists (households, queue, conflicts) hold township 2 only."""
    client = console.as_user("sup2")
    households = client.text("/console/households?per_page=200")
    _no_township_1(households, township_1_work)
    for household in demo.households_in(TOWNSHIP_2):
        assert household.code in households
    for url in ("/console/queue?state=all", "/console/conflicts", "/console/"):
        _no_township_1(client.text(url), township_1_work)


def test_township_filter_cannot_widen_the_scope(console, sup2, township_1_work):
    """Asking for township 1's code in a filter selects nothing."""
    client = console.as_user("sup2")
    page = client.text(f"/console/households?township={TOWNSHIP_1}")
    _no_township_1(page, township_1_work)
    assert "共 0 条" in page
    _no_township_1(client.text(f"/console/queue?state=all&township={TOWNSHIP_1}"),
                   township_1_work)


def test_direct_urls_to_township_1_are_refused(console, sup2, township_1_work):
    """Household page, survey record, submission page, photo, QR image: all refused."""
    client = console.as_user("sup2")
    household = township_1_work["household"]
    urls = [
        f"/console/households/{household.id}",
        f"/console/households/{household.id}/record",
        f"/console/submissions/{township_1_work['instance']}",
        f"/api/v1/media/{township_1_work['sha']}?size=320",
        f"/api/v1/media/{township_1_work['sha']}?size=full",
        f"/api/v1/households/{household.id}/qr.png",
        f"/api/v1/households/{household.id}/qr.svg",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (403, 404), url
        _no_township_1(response.get_data(as_text=True), township_1_work)


def test_foreign_conflict_cannot_be_resolved(console, sup2, township_1_work):
    """Posting a decision on a township-1 conflict changes nothing."""
    conflict = township_1_work["conflict"]
    client = console.as_user("sup2")
    client.post(f"/console/conflicts/{conflict.id}/resolve",
                {"choice": "submitted", "seen_version": 99})
    db.session.expire_all()
    assert conflict.status == "open"


def test_foreign_submission_cannot_be_reviewed(console, sup2, township_1_work):
    """Approve or bulk-approve a township-1 submission: nothing happens."""
    from server.models import Submission

    instance = township_1_work["instance"]
    client = console.as_user("sup2")
    client.post(f"/console/submissions/{instance}/review", {"state": "approved"})
    client.post("/console/queue/approve", {"instance_id": instance})
    db.session.expire_all()
    state = db.session.scalar(
        select(Submission.review_state).where(Submission.instance_id == instance)
    )
    assert state == "received"


def test_county_supervisor_sees_both_townships(console, township_1_work, demo):
    """The county supervisor's lists hold both townships."""
    page = console.as_user("sup1").text("/console/households?per_page=200")
    for household in demo.households_in(TOWNSHIP_1) + demo.households_in(TOWNSHIP_2):
        assert household.code in page
    assert township_1_work["instance"] in console.as_user("sup1").text("/console/queue")


def test_every_console_link_of_a_township_page_stays_in_scope(console, sup2, township_1_work):
    """Follow every console link on sup2's pages: none reaches a township-1 household."""
    client = console.as_user("sup2")
    seen, todo = set(), ["/console/", "/console/households", "/console/queue?state=all"]
    while todo and len(seen) < 60:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200:
            continue
        html = response.get_data(as_text=True)
        _no_township_1(html, township_1_work)
        for link in re.findall(r'href="(/console/[^"#]*)"', html):
            link = link.replace("&amp;", "&")
            if "/static/" not in link and link not in seen:
                todo.append(link)


def test_every_screen_of_a_township_supervisors_menu_opens(app, console, sup2, demo):
    """The menu offers a township supervisor only screens they may open (花名册核对 is a
    county screen: it was in the menu and answered 403); the county supervisor has it."""
    from flask import url_for

    from server.console import nav

    def pages(user):
        with app.test_request_context():
            return [url_for(item.endpoint) for item in nav.items_for(user)]

    township_pages = pages(sup2)
    assert "/console/rolls" not in township_pages and "/console/queue" in township_pages
    client = console.as_user("sup2")
    for page in township_pages:
        assert client.get(page).status_code == 200, page
    assert "/console/rolls" in pages(demo.user("sup1"))
