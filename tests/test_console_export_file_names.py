"""A download's file name names its region by the code as it was found, never as it was
typed: a code with a line break at an end (the region filters strip it, so it names the
region) put the break into the Content-Disposition header, which refuses it: a 500."""

import pytest

from tests.conftest import TOWNSHIP_1

pytest_plugins = ["tests.console_helpers"]

VILLAGE_OF_TOWNSHIP_1 = "230229100001"


@pytest.mark.parametrize("path", [
    "/console/exports/households.csv?",
    "/console/exports/members.xlsx?",
    "/console/publicity?format=csv&",
])
@pytest.mark.parametrize("query, code", [
    (f"village={VILLAGE_OF_TOWNSHIP_1}%0A", VILLAGE_OF_TOWNSHIP_1),
    (f"village=%0D%0A{VILLAGE_OF_TOWNSHIP_1}", VILLAGE_OF_TOWNSHIP_1),
    (f"township={TOWNSHIP_1}%0D%0A", TOWNSHIP_1),
])
def test_a_code_with_a_line_break_downloads_under_the_regions_code(
    console, demo, path, query, code
):
    """The download is the region's, named by its code alone."""
    response = console.as_user("sup1").get(path + query)
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert f"-{code}-" in disposition and "\n" not in disposition and "\r" not in disposition
