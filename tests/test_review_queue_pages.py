"""The review queue holds its page in range (services.pagination): a page past the end
shows the last page, a page below 1 the first, a size that is not one of the choices 50,
and an empty queue page 1 without reading any rows."""

import re

import pytest

from server.services import review_queue
from server.services.pagination import page_within
from tests.conftest import TOWNSHIP_1
from tests.query_helpers import counted

pytest_plugins = ["tests.console_helpers"]


def queue_ids(html: str) -> list[str]:
    """Return the instance ids linked from a queue page, in order."""
    return re.findall(r"/console/submissions/([0-9a-f-]{36})", html)


def page_label(html: str) -> str:
    """Return the pager's "page n of m" of a console page."""
    return re.search(r"<span>(第 \d+ / \d+ 页)</span>", html).group(1)


@pytest.fixture
def sixty(scenario, demo) -> list[str]:
    """Sixty submissions waiting for review in township 1 (five visits of twelve households)."""
    team = [demo.user("inv1").id, demo.user("inv2").id]
    return [scenario.record_edit("inv1", h, {"address": f"地址{i}"}, investigators=team)
            for i, h in enumerate(demo.households_in(TOWNSHIP_1)[:12] * 5)]


@pytest.mark.parametrize(("page", "per_page", "total", "shown"), [
    (1, 25, 60, 1), (3, 25, 60, 3), (4, 25, 60, 3), (99, 25, 60, 3), (2, 50, 50, 1),
    (2, 50, 51, 2), (5, 50, 0, 1),
])
def test_page_within(page, per_page, total, shown):
    """A page past the end is the last page; no rows, page 1."""
    assert page_within(page, per_page, total) == shown


def test_a_page_past_the_end_shows_the_last_page(console, sixty):
    """25 per page of 60: page 99 is page 3, with the last 10."""
    client = console.as_user("sup1")
    last = client.text("/console/queue?per_page=25&page=3")
    past = client.text("/console/queue?per_page=25&page=99")
    assert len(queue_ids(last)) == 10
    assert queue_ids(past) == queue_ids(last)
    assert page_label(past) == "第 3 / 3 页"


@pytest.mark.parametrize("page", ["0", "-3", "x"])
def test_a_page_below_one_shows_the_first_page(console, sixty, page):
    """Page 0, a negative page or no number at all is page 1."""
    client = console.as_user("sup1")
    first = client.text("/console/queue?per_page=25")
    shown = client.text(f"/console/queue?per_page=25&page={page}")
    assert len(queue_ids(first)) == 25
    assert queue_ids(shown) == queue_ids(first)
    assert page_label(shown) == "第 1 / 3 页"


@pytest.mark.parametrize("per_page", ["1000", "30", "x"])
def test_a_size_not_offered_is_fifty(console, sixty, per_page):
    """A size above the largest choice, or not a choice, pages by 50: 50 then 10."""
    client = console.as_user("sup1")
    first = client.text(f"/console/queue?per_page={per_page}")
    rest = client.text(f"/console/queue?per_page={per_page}&page=9")
    assert len(queue_ids(first)) == 50 and len(queue_ids(rest)) == 10
    assert set(queue_ids(first)) | set(queue_ids(rest)) == set(sixty)
    assert page_label(first) == "第 1 / 2 页" and page_label(rest) == "第 2 / 2 页"


def test_the_service_holds_the_page_in_range(app, demo, sixty):
    """review_queue.queue itself: page 99 of 60 by 25 is page 3 with the last 10 rows."""
    sup1 = demo.user("sup1")
    filters = review_queue.QueueFilters()
    last = review_queue.queue(sup1, filters, page=3, per_page=25).page
    past = review_queue.queue(sup1, filters, page=99, per_page=25).page
    assert (past.page, past.pages, past.total) == (3, 3, 60)
    assert [row.submission.id for row in past.items] == [row.submission.id
                                                         for row in last.items]
    assert len(past.items) == 10


def test_an_empty_queue_is_page_one_and_reads_no_rows(console, demo, sixty):
    """Nothing rejected: page 4 is page 1 of 1, and only the counts are read."""
    client = console.as_user("sup1")
    page = client.text("/console/queue?state=rejected&page=4")
    assert queue_ids(page) == [] and page_label(page) == "第 1 / 1 页"
    with counted() as statements:
        result = review_queue.queue(demo.user("sup1"), review_queue.QueueFilters(
            state="rejected"), page=4, per_page=25).page
    assert (result.page, result.total, result.items) == (1, 0, [])
    assert not [s for s in statements if "JOIN submission ON" in s], statements
    with counted() as statements:
        review_queue.queue(demo.user("sup1"), review_queue.QueueFilters(), per_page=25)
    assert [s for s in statements if "JOIN submission ON" in s]  # the rows' query, when any
