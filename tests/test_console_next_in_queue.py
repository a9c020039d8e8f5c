""""Next in queue": from one submission straight to the next in the same queue (its filters
and order carried in the URL), after a decision or without one; the end of the queue."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Submission
from server.services.versions import next_change_seq
from tests.conftest import TOWNSHIP_1, TOWNSHIP_2
from tests.console_data import assessment, set_assessment

pytest_plugins = ["tests.console_helpers"]

BY_HOUSEHOLD = "sort=household"


@pytest.fixture
def township_1(demo):
    """The households of township 1, in code order (the queue's order when sorted by
    household)."""
    return sorted(demo.households_in(TOWNSHIP_1), key=lambda h: h.code)


@pytest.fixture
def team(demo):
    """Township 1's two investigators."""
    return [demo.user("inv1").id, demo.user("inv2").id]


@pytest.fixture
def three(scenario, township_1, team):
    """Three submissions waiting for review, in household-code order."""
    return [scenario.record_edit("inv1", h, {"address": f"{n}号"}, investigators=team)
            for n, h in enumerate(township_1[:3])]


def state_of(instance_id: str) -> str:
    """Return a submission's review state, freshly read."""
    db.session.expire_all()
    return db.session.scalar(
        select(Submission.review_state).where(Submission.instance_id == instance_id))


def landed_on(response) -> tuple[str, dict]:
    """Return (path, query) of a redirect's target."""
    assert response.status_code == 302, response.status_code
    target = urlsplit(response.headers["Location"])
    return target.path, parse_qs(target.query)


def submission_path(instance_id: str) -> str:
    """Return the path of a submission's page."""
    return f"/console/submissions/{instance_id}"


def next_after(client, instance_id: str, query: str = BY_HOUSEHOLD):
    """Ask for the submission after `instance_id` (the "next" link, without deciding)."""
    return client.get(f"/console/queue/next?after={instance_id}&{query}")


def walk(client, query: str) -> list[str]:
    """Follow "next" from the queue's first row to its end; return the ids visited."""
    first = re.findall(r"/console/submissions/([0-9a-f-]{36})",
                       client.text(f"/console/queue?{query}"))
    visited = first[:1]
    while visited:
        path, _ = landed_on(next_after(client, visited[-1], query))
        if not path.startswith("/console/submissions/"):
            return visited
        visited.append(path.rsplit("/", 1)[1])
        assert len(visited) < 50
    return visited


def test_queue_links_and_the_submission_page_carry_the_filters(console, three, township_1):
    """The queue's filters and order travel in the links: to the submission, to its next,
    back to the queue and on the decision form."""
    village = township_1[0].village.code
    query = f"state=received&village={village}&sort=household&desc=1"
    client = console.as_user("sup1")
    queue = client.text(f"/console/queue?{query}&page=1")
    link = re.search(r'href="(/console/submissions/[^"]+)"', queue).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query) == {
        "state": ["received"], "village": [village], "sort": ["household"], "desc": ["1"],
        "page": ["1"]}
    page = client.text(link)
    args = "state=received&amp;village=" + village + "&amp;sort=household&amp;desc=1&amp;page=1"
    instance = urlsplit(link).path.rsplit("/", 1)[1]
    assert f'href="/console/queue?{args}"' in page
    assert f'href="/console/queue/next?after={instance}&amp;{args}"' in page
    assert f'action="/console/submissions/{instance}/review?{args}"' in page
    assert 'name="then" value="next" checked' in page
    assert 'data-shortcut="n"' in page and "review.js" in page


def test_a_decision_lands_on_the_next_in_queue(console, three):
    """Approve, send back, reject: each lands on the following submission of the queue,
    with the queue's filters still in the URL."""
    first, second, third = three
    client = console.as_user("sup1")
    response = client.post(f"/console/submissions/{first}/review?{BY_HOUSEHOLD}",
                           {"state": "approved", "seen_state": "received", "then": "next"})
    path, query = landed_on(response)
    assert path == "/console/queue/next"
    assert query == {"after": [first], "sort": ["household"]}
    path, query = landed_on(client.get(response.headers["Location"]))
    assert (path, query) == (submission_path(second), {"sort": ["household"]})
    assert state_of(first) == "approved"
    page = client.text(f"{path}?{BY_HOUSEHOLD}")
    assert "已记录：已通过" in page

    response = client.post(f"/console/submissions/{second}/review?{BY_HOUSEHOLD}",
                           {"state": "has_issues", "comment": "缺照片", "then": "next"})
    path, _ = landed_on(client.get(response.headers["Location"]))
    assert path == submission_path(third)
    assert state_of(second) == "has_issues"


def test_without_then_next_a_decision_stays_on_the_submission(console, three):
    """The box unticked: the decision leaves the supervisor on the page they decided."""
    first = three[0]
    response = console.as_user("sup1").post(
        f"/console/submissions/{first}/review?{BY_HOUSEHOLD}", {"state": "approved"})
    assert landed_on(response) == (submission_path(first), {"sort": ["household"]})


def test_a_refused_decision_stays_on_the_submission_in_its_queue(console, three):
    """Sending back without a comment is refused: no next, the same page, same queue."""
    first = three[0]
    client = console.as_user("sup1")
    response = client.post(f"/console/submissions/{first}/review?{BY_HOUSEHOLD}",
                           {"state": "has_issues", "then": "next"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "请填写意见" in page
    assert f'href="/console/queue/next?after={first}&amp;{BY_HOUSEHOLD}"' in page
    assert f'action="/console/submissions/{first}/review?{BY_HOUSEHOLD}"' in page
    assert state_of(first) == "received"


def test_next_without_deciding_skips_and_changes_nothing(console, three):
    """The "next" link moves on and leaves the skipped submission waiting."""
    first, second, _ = three
    client = console.as_user("sup1")
    assert landed_on(next_after(client, first)) == (submission_path(second),
                                                    {"sort": ["household"]})
    assert state_of(first) == "received"


def test_one_decided_by_someone_else_meanwhile_is_not_offered(console, three):
    """Another supervisor approves the second while the first is open: next is the third."""
    first, second, third = three
    client = console.as_user("sup1")
    client.text(f"{submission_path(first)}?{BY_HOUSEHOLD}")
    console.as_user("admin").post(f"/console/submissions/{second}/review",
                                  {"state": "approved", "seen_state": "received"})
    assert state_of(second) == "approved"
    path, _ = landed_on(next_after(client, first))
    assert path == submission_path(third)


def test_after_the_last_one_the_queue_is_done(console, three):
    """Deciding the last one says the queue is done and goes back to it, filters kept."""
    client = console.as_user("sup1")
    for instance in three:
        response = client.post(f"/console/submissions/{instance}/review?{BY_HOUSEHOLD}",
                               {"state": "approved", "then": "next"})
        response = client.get(response.headers["Location"])
    assert landed_on(response) == ("/console/queue", {"sort": ["household"]})
    page = client.text(f"/console/queue?{BY_HOUSEHOLD}")
    assert "本队列已全部审完。" in page
    client.post("/console/language", {"lang": "en", "next": "/console/"})
    client.get(f"/console/queue/next?after={three[-1]}&{BY_HOUSEHOLD}")
    assert "This queue is done" in client.text(f"/console/queue?{BY_HOUSEHOLD}")


def test_the_end_with_skipped_ones_says_how_many_are_left(console, three):
    """Skipping the first and deciding the rest reaches the end with one still waiting."""
    first, second, third = three
    client = console.as_user("sup1")
    next_after(client, first)
    for instance in (second, third):
        client.post(f"/console/submissions/{instance}/review", {"state": "approved"})
    assert landed_on(next_after(client, third))[0] == "/console/queue"
    assert "已到队列末尾；队列中还有 1 份（含跳过的）。" in client.text("/console/queue")
    client.post("/console/language", {"lang": "en", "next": "/console/"})
    next_after(client, third)
    assert "End of the queue reached; 1 still in it" in client.text("/console/queue")


def test_next_keeps_the_queue_filters(console, scenario, township_1, demo):
    """A flag filter: next only offers submissions with that flag, skipping clean ones."""
    solo = [demo.user("inv1").id]
    made = [scenario.record_edit("inv1", h, {"address": "x"}, investigators=solo)
            for h in township_1[:4]]
    for instance in (made[0], made[2]):
        set_assessment(instance, assessment(failed=1))
    client = console.as_user("sup1")
    query = "flag=failed_checks&sort=household"
    assert walk(client, query) == [made[0], made[2]]
    village = township_1[1].village.code
    in_village = [m for m, h in zip(made, township_1[:4], strict=True)
                  if h.village.code == village]
    assert walk(client, f"village={village}&sort=household") == in_village


@pytest.mark.parametrize("order", ["sort=household", "sort=household&desc=1",
                                   "sort=completed_at", "sort=completed_at&desc=1",
                                   "sort=failed_checks&desc=1", "sort=received_at"])
def test_next_walks_the_queue_in_its_order(console, scenario, township_1, team, order):
    """Walking "next" from the first row visits the queue's rows in the queue's order, ties
    and a survey without a completion time (last either way) included."""
    made = [scenario.record_edit("inv1", h, {"address": "x"}, investigators=team)
            for h in township_1[:5]]
    set_assessment(made[1], assessment(failed=2))
    set_assessment(made[3], assessment(failed=2))
    no_time = db.session.scalar(select(Submission).where(Submission.instance_id == made[2]))
    no_time.completed_at = None
    no_time.outcome_seq = next_change_seq()
    db.session.commit()
    client = console.as_user("sup1")
    listed = re.findall(r"/console/submissions/([0-9a-f-]{36})",
                        client.text(f"/console/queue?{order}"))
    assert sorted(listed) == sorted(made)
    assert walk(client, order) == listed
    if "completed_at" in order:
        assert listed[-1] == made[2]


def test_the_all_states_view_offers_only_what_waits(console, three):
    """In "all states", the approved ones are listed but next skips them."""
    first, second, third = three
    client = console.as_user("sup1")
    client.post(f"/console/submissions/{second}/review", {"state": "approved"})
    path, _ = landed_on(next_after(client, first, "state=all&sort=household"))
    assert path == submission_path(third)


def test_next_never_leaves_the_supervisors_scope(console, scenario, sup2, demo, three):
    """A township-2 supervisor walks township 2 only, whatever the URL names."""
    own = [scenario.record_edit("inv3", h, {"address": "y"},
                                investigators=[demo.user("inv3").id])
           for h in sorted(demo.households_in(TOWNSHIP_2), key=lambda h: h.code)[:2]]
    client = console.as_user("sup2")
    assert walk(client, BY_HOUSEHOLD) == own
    # Township 1's code in the filter is no township of theirs: the 404 page, not a leak.
    response = next_after(client, own[0], f"township={TOWNSHIP_1}&{BY_HOUSEHOLD}")
    assert response.status_code == 404 and "克山镇" not in response.get_data(as_text=True)
    # A submission of township 1 as the starting point is no submission at all.
    assert next_after(client, three[0]).status_code == 404


@pytest.mark.parametrize("after", ["", "nonsense", "00000000-0000-4000-8000-000000000000",
                                   "x" * 300])
def test_next_after_an_unknown_submission_is_not_found(console, three, after):
    """An unknown or malformed starting point is a 404, not the queue's first row."""
    assert console.as_user("sup1").get(f"/console/queue/next?after={after}").status_code == 404


def test_back_to_the_queue_returns_to_the_page_it_was_opened_from(console, scenario, township_1,
                                                                   team):
    """36 waiting, 25 a page: a submission opened from page 2 (filters and order with it)
    goes back (Q) to page 2, also after deciding it and going on to the next one; after the
    last one, "next" ends on that page too."""
    made = [scenario.record_edit("inv1", h, {"address": f"地址{i}"}, investigators=team)
            for i, h in enumerate(township_1[:12] * 3)]
    client = console.as_user("sup1")
    query = "state=received&sort=household&per_page=25&page=2"
    queue = client.text(f"/console/queue?{query}")
    on_page_2 = re.findall(r"/console/submissions/([0-9a-f-]{36})", queue)
    assert len(on_page_2) == 11 and set(on_page_2) < set(made)
    carried = {"state": ["received"], "sort": ["household"], "per_page": ["25"],
               "page": ["2"]}

    def back_link(instance: str) -> dict:
        """Return the query of the submission page's back-to-the-queue (Q) link."""
        html = client.text(f"{submission_path(instance)}?{query}")
        link = re.search(r'href="(/console/queue[^"]*)"[^>]*data-shortcut="q"', html).group(1)
        target = urlsplit(link.replace("&amp;", "&"))
        assert target.path == "/console/queue"
        return parse_qs(target.query)

    link = re.search(r'href="(/console/submissions/[^"]+)"', queue).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query) == carried
    assert back_link(on_page_2[0]) == carried
    response = client.post(f"/console/submissions/{on_page_2[0]}/review?{query}",
                           {"state": "approved", "seen_state": "received", "then": "next"})
    path, landed = landed_on(client.get(response.headers["Location"]))
    assert (path, landed) == (submission_path(on_page_2[1]), carried)
    assert back_link(on_page_2[1]) == carried
    back = client.text(f"/console/queue?{query}")
    assert re.findall(r"/console/submissions/([0-9a-f-]{36})", back) == on_page_2[1:]
    assert "第 2 / 2 页" in back
    # The queue's end from page 2 goes back to page 2 (or the last page, if emptied).
    path, landed = landed_on(next_after(client, on_page_2[-1], query))
    assert (path, landed) == ("/console/queue", carried)
