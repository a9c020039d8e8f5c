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
    """Asking for township 1's code in a filter shows nothing of it: the 404 page (every
    screen: test_a_township_outside_the_region_is_the_404_page_on_every_screen)."""
    client = console.as_user("sup2")
    for url in (f"/console/households?township={TOWNSHIP_1}",
                f"/console/queue?state=all&township={TOWNSHIP_1}"):
        _no_township_1(client.text(url, status=404), township_1_work)


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


def _error_card(html: str) -> str:
    """Return the error page's card (what it says, without the frame)."""
    return html.split('class="card error-page"', 1)[1].split("</section>")[0]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", ["", "/record", "/record?submission=x"])
def test_a_household_outside_the_region_looks_like_none_at_all(
    console, sup2, township_1_work, path, lang
):
    """A township-1 household's page and survey record answer sup2 exactly as a household
    that does not exist: 404, the same card, no code, no name (it was a 403 'outside your
    region', telling that the household exists)."""
    client = console.as_user("sup2")
    if lang == "en":
        client.post("/console/language", {"lang": "en"})
    household = township_1_work["household"]
    foreign = client.get(f"/console/households/{household.id}{path}")
    missing = client.get(f"/console/households/99999999{path}")
    assert foreign.status_code == missing.status_code == 404
    card = _error_card(foreign.get_data(as_text=True))
    assert card == _error_card(missing.get_data(as_text=True))
    assert ("找不到此页面或记录。" if lang == "zh" else "This page or record does not exist.") \
        in card
    _no_township_1(foreign.get_data(as_text=True), township_1_work)
    assert "负责范围" not in card and "outside" not in card


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


VILLAGE_OF_TOWNSHIP_1 = "230229100001"  # 城东社区
VILLAGE_OF_TOWNSHIP_2 = "230229101201"  # 兴旺村
# Every console screen and download that narrows by township (and village): a code is put
# after the screen's own query string.
TOWNSHIP_SCREENS = [
    "/console/queue?state=all",
    "/console/households?per_page=20",
    "/console/conflicts?",
    "/console/exports/households.csv?",
    "/console/exports/members.xlsx?",
    "/console/exports/submissions.csv?",
    "/console/exports/assessments.csv?",
    "/console/publicity?",
    "/console/publicity?format=csv",
    "/console/progress?",
    "/console/progress.xlsx?",
    "/console/audit?",
    "/console/ledger?",
    "/console/reviews?",
]
VILLAGE_SCREENS = [
    "/console/queue?state=all",
    "/console/households?per_page=20",
    "/console/conflicts?",
    "/console/exports/households.csv?",
    "/console/exports/submissions.xlsx?",
    "/console/publicity?",
    "/console/reviews?",
    "/console/labels?",
]


def _with(screen: str, query: str) -> str:
    """Return a screen's URL with one more query parameter."""
    return screen + ("" if screen.endswith("?") else "&") + query


def _assert_not_found(response, text: str = "找不到此页面或记录。") -> str:
    """Check a response is the console's 404 page, naming nothing of township 1 (its code
    may be in the page only as the address asked for, in the language switch's `next`)."""
    html = response.get_data(as_text=True)
    assert response.status_code == 404, (response.status_code, html[:300])
    assert response.mimetype == "text/html" and 'class="card error-page"' in html
    assert text in html
    assert "克山镇" not in html and "城东社区" not in html
    return html


@pytest.mark.parametrize("screen", TOWNSHIP_SCREENS)
def test_a_township_outside_the_region_is_the_404_page_on_every_screen(
    console, sup2, demo, screen
):
    """sup2 asking for township 1 (or a code that names no township) gets the console's
    404 page, as for an unknown code: never an empty list (or a CSV of headings) under a
    township box saying 全部. Their own township still opens, and so does township 1 for
    the county supervisor."""
    client = console.as_user("sup2")
    for code in (TOWNSHIP_1, "230229999", VILLAGE_OF_TOWNSHIP_2):  # another's, none, a village
        _assert_not_found(client.get(_with(screen, f"township={code}")))
    assert client.get(_with(screen, f"township={TOWNSHIP_2}")).status_code == 200
    assert console.as_user("sup1").get(_with(screen, f"township={TOWNSHIP_1}")).status_code \
        == 200


@pytest.mark.parametrize("screen", VILLAGE_SCREENS)
def test_a_village_outside_the_region_is_the_404_page_on_every_screen(
    console, sup2, demo, screen
):
    """The same for a village: township 1's, one that does not exist, a township's code, and
    a village of the region under another of its townships than the one chosen."""
    client = console.as_user("sup2")
    for query in (
        f"village={VILLAGE_OF_TOWNSHIP_1}",
        "village=230229101999",
        f"village={TOWNSHIP_2}",
        f"township={TOWNSHIP_2}&village={VILLAGE_OF_TOWNSHIP_1}",
    ):
        _assert_not_found(client.get(_with(screen, query)))
    assert client.get(_with(screen, f"village={VILLAGE_OF_TOWNSHIP_2}")).status_code == 200
    assert client.get(
        _with(screen, f"township={TOWNSHIP_2}&village={VILLAGE_OF_TOWNSHIP_2}")
    ).status_code == 200
    assert console.as_user("sup1").get(
        _with(screen, f"village={VILLAGE_OF_TOWNSHIP_1}")
    ).status_code == 200


@pytest.mark.parametrize("code", ["abc", "%00", "2302291" + "0" * 300, "230229100%27--"])
@pytest.mark.parametrize("screen", ["/console/queue?state=all", "/console/exports/members.csv?",
                                    "/console/ledger?", "/console/audit?"])
def test_a_malformed_region_code_is_the_404_page(console, sup2, screen, code):
    """A code that could name no region: the same 404 page, in the console's frame."""
    client = console.as_user("sup2")
    html = _assert_not_found(client.get(_with(screen, f"township={code}")))
    assert 'class="mainnav"' in html


def test_the_out_of_region_404_follows_the_language(console, sup2):
    """In English, the page says so in English only."""
    client = console.as_user("sup2")
    client.post("/console/language", {"lang": "en"})
    html = _assert_not_found(client.get(f"/console/queue?township={TOWNSHIP_1}"),
                             "This page or record does not exist.")
    assert "找不到" not in html and "范围" not in html
