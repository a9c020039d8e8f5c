"""Numbers too large for the database in the console's query strings are bad input, never a
500: SQLite holds 64-bit integers only, and refused the statement (OverflowError) for a page
number or an id past them (PostgreSQL answered)."""

import pytest

pytest_plugins = ["tests.console_helpers"]

HUGE = "9" * 30


@pytest.mark.parametrize("screen", [
    "/console/audit", "/console/ledger", "/console/households", "/console/queue",
    "/console/conflicts", "/console/accounts",
])
def test_a_huge_page_number_is_a_page_past_the_end(console, demo, screen):
    """?page=999…9 answers like any page past the end (the lists of flags and of ledger
    entries answered 500 on SQLite: their offset is the page times its size)."""
    assert console.as_user("admin").get(f"{screen}?page={HUGE}").status_code == 200


@pytest.mark.parametrize("url", [
    f"/console/conflicts?household={HUGE}",
    f"/console/queue?state=all&investigator={HUGE}",
])
def test_a_huge_id_in_a_filter_is_no_filter(console, demo, url):
    """A household or investigator filter past any id is read as one that is not a number:
    no filter (it answered 500 on SQLite)."""
    assert console.as_user("sup1").get(url).status_code == 200
