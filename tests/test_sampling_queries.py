"""A sampling draw, its page and the list of draws read villages and townships with the
households and draws: the number of queries does not grow with the households drawn.

Only the draw's reads are compared: it inserts one row per village and household drawn, and
SQLite gets each insert as a statement of its own (PostgreSQL gets them in batches)."""

from contextlib import contextmanager

from sqlalchemy import event, select

from server.extensions import db
from server.models import SamplingRun
from server.services import sampling
from server.services.regions import add_region
from server.services.register import register_household
from tests.conftest import TOWNSHIP_1, TOWNSHIP_2

pytest_plugins = ["tests.console_helpers"]


@contextmanager
def counted():
    """Yield a list that collects every SQL statement run inside the block."""
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def always_visited_in_new_villages(demo, count: int, start: int) -> list[str]:
    """Add `count` villages to each demo township, each with one disputed household; return
    the households' codes."""
    codes = []
    for township_code in (TOWNSHIP_1, TOWNSHIP_2):
        township = demo.region(township_code)
        for serial in range(start, start + count):
            village = add_region(name=f"测试村{serial}", code=f"{township_code}9{serial:02d}",
                                 level="village", parent=township, area_type="rural")
            household = register_household(village, code=f"{village.code}0001", record={},
                                           cause="test")
            household.disputed = True
            codes.append(household.code)
    db.session.commit()
    return codes


def reads(statements: list[str]) -> list[str]:
    """Return the SELECT statements among these."""
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


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
