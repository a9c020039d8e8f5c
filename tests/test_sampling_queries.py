"""A sampling draw, its page and the list of draws read villages and townships with the
households and draws: the number of queries does not grow with the households drawn.

Only the draw's reads are compared: it inserts one row per village and household drawn, and
SQLite gets each insert as a statement of its own (PostgreSQL gets them in batches)."""

from sqlalchemy import select

from server.extensions import db
from server.models import SamplingRun
from server.services import sampling
from tests.conftest import TOWNSHIP_1, TOWNSHIP_2
from tests.query_helpers import counted, households_in_new_villages, reads

pytest_plugins = ["tests.console_helpers"]


def always_visited_in_new_villages(demo, count: int, start: int) -> list[str]:
    """Add `count` villages to each demo township, each with one disputed household; return
    the households' codes."""
    codes = [
        household.code
        for township_code in (TOWNSHIP_1, TOWNSHIP_2)
        for household in households_in_new_villages(
            demo.region(township_code), range(start, start + count), disputed=True)
    ]
    db.session.commit()
    return codes


def draw_and_show(console, demo, codes: list[str], seed: str) -> tuple[int, int, int]:
    """Draw over the county with the codes reported; return the reads of the draw, the
    statements of its page and of the list of draws, each starting without anything loaded."""
    client = console.as_user("sup1")
    db.session.expunge_all()
    sup1 = demo.user("sup1")
    with counted() as drawing:
        run_id = sampling.draw(sup1, "230229", seed=seed, reported=codes).id
    db.session.expunge_all()
    with counted() as showing:
        page = client.text(f"/console/sampling/{run_id}")
    for code in codes:
        assert code in page
    db.session.expunge_all()
    with counted() as listing:
        assert seed in client.text("/console/sampling")
    return len(reads(drawing)), len(showing), len(listing)


def test_the_draw_and_its_page_do_not_query_per_household(console, demo):
    """2 then 8 always-visited households in villages of their own per township: the same
    number of statements for the draw, for its page, and for the list (one draw, then two)."""
    few = always_visited_in_new_villages(demo, 1, 0)
    small = draw_and_show(console, demo, few, "few")
    many = few + always_visited_in_new_villages(demo, 3, 1)
    large = draw_and_show(console, demo, many, "many")
    run = db.session.scalar(select(SamplingRun).where(SamplingRun.seed == "many"))
    drawn = [h.household.code for h in run.households]
    assert all(drawn.count(code) == 2 for code in many)  # disputed and reported
    assert large == small, (small, large)
