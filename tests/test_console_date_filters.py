"""A date filter at the calendar's very ends (0001-01-01, 9999-12-31) is a date like any
other, never a 500: the services work out the UTC instant a local day starts (8 hours
before midnight) and the day after the last one, which those days do not have."""

import pytest

pytest_plugins = ["tests.console_helpers"]

SCREENS = [
    "/console/queue?state=all&",
    "/console/progress?",
    "/console/progress.xlsx?",
    "/console/exports/submissions.csv?",
    "/console/exports/assessments.xlsx?",
]


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("query", [
    "from=0001-01-01", "to=9999-12-31", "from=0001-01-01&to=9999-12-31",
    "from=9999-12-31&to=9999-12-31",
])
def test_a_date_at_the_calendars_ends_is_a_filter_like_any_other(console, demo, screen, query):
    """Every screen with a period answers such a filter (it answered 500: OverflowError)."""
    response = console.as_user("sup1").get(screen + query)
    assert response.status_code == 200, response.status_code
    response.get_data()  # a download is streamed: its rows are made now


def test_the_widest_period_holds_every_submission_and_one_after_the_end_none(
    console, scenario, demo
):
    """From the first day to the last is everything; from the last day on, nothing."""
    household = demo.households_in("230229100")[0]
    instance = scenario.record_edit("inv1", household, {"address": "边界日期"})
    client = console.as_user("sup1")
    widest = client.get("/console/exports/submissions.csv?from=0001-01-01&to=9999-12-31")
    assert instance in widest.get_data(as_text=True)
    assert instance in client.text("/console/queue?state=all&from=0001-01-01&to=9999-12-31")
    none = client.get("/console/exports/submissions.csv?from=9999-12-31")
    assert instance not in none.get_data(as_text=True)
    assert instance not in client.text("/console/queue?state=all&from=9999-12-31")
