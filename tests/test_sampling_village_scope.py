"""A supervisor whose region is one village sees of a draw only that village: its drawn
village and households, on the draw's page and in the list of draws; the township's
supervisor still sees the whole township. (The draw's page listed every household and drawn
village of the township: the scope was the townships with a village in scope.)"""

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import SamplingRun
from server.services import sampling, users
from server.services.errors import Forbidden
from tests.conftest import DEMO_PASSWORD, TOWNSHIP_2

pytest_plugins = ["tests.console_helpers"]

OWN_VILLAGE = "230229101201"  # 兴旺村, in 北兴镇 (township 2)


@pytest.fixture
def village_sup(app):
    """A supervisor of one village of township 2 (兴旺村)."""
    return users.add_user(
        "supv", role="supervisor", region_code=OWN_VILLAGE, password=DEMO_PASSWORD,
        display_name="兴旺村督导",
    )


@pytest.fixture
def township_draw(demo, sup2, village_sup):
    """Draw township 2 (Keshan's policy: every village) with one household of each of its
    villages disputed (always visited). Return the draw, the names of the villages drawn and
    the codes of the households drawn, each split into (the supervisor's village, the
    township's others)."""
    for household in demo.households_in(TOWNSHIP_2)[:3]:  # one in each village
        household.disputed = True
    db.session.commit()
    sampling.draw(demo.user("sup1"), TOWNSHIP_2, seed="村级范围")
    run = db.session.scalar(select(SamplingRun))
    names = {v.village.name: v.village.code == OWN_VILLAGE for v in run.villages}
    codes = {h.household.code: h.household.village.code == OWN_VILLAGE for h in run.households}
    split = [({k for k, ours in found.items() if ours}, {k for k, ours in found.items()
                                                          if not ours})
             for found in (names, codes)]
    (own_names, other_names), (own_codes, other_codes) = split
    assert own_names == {"兴旺村"} and len(other_names) == 2
    assert own_codes and len({c[:12] for c in other_codes}) == 2  # the other two villages
    return run, own_names, other_names, own_codes, other_codes


def _row(page: str, run_id: int) -> str:
    """Return the list of draws' row of a draw."""
    row = page[page.index(f'/console/sampling/{run_id}"'):]
    return row[: row.index("</tr>")]


def test_a_village_supervisor_sees_only_their_village_of_a_draw(
    console, township_draw, village_sup, sup2
):
    """On the draw's page and in the list of draws, the village supervisor sees their
    village and its households, not the township's other drawn villages nor their
    households (by name or by code); the township supervisor sees them all."""
    run, own_names, other_names, own_codes, other_codes = township_draw

    page = console.as_user("supv").text(f"/console/sampling/{run.id}")
    assert all(code in page for code in own_codes) and "兴旺村" in page
    assert not any(code in page for code in other_codes)
    assert not any(name in page for name in other_names)
    assert not any(code[:12] in page for code in other_codes)  # nor their villages' codes
    assert f"<dd>{len(own_names)}</dd>" in page and f"<dd>{len(own_codes)}</dd>" in page

    # The list of draws: the page shows it without the draw form (a village's supervisor
    # does not draw), and sampling.runs holds the village's part only.
    page = console.as_user("supv").text("/console/sampling")
    assert 'id="no-draw"' in page and 'name="share"' not in page
    row = _row(page, run.id)
    assert all(name in row for name in own_names)
    assert not any(name in row for name in other_names)
    (listed,) = sampling.runs(village_sup)
    assert {v.village.name for v in listed.villages} == own_names
    assert {h.household.code for h in listed.households} == own_codes
    assert set(listed.townships) == {TOWNSHIP_2}
    assert listed.townships[TOWNSHIP_2]["drawn"] == [OWN_VILLAGE]
    assert listed.townships[TOWNSHIP_2]["k"] == 3  # the township's figure stays

    page = console.as_user("sup2").text(f"/console/sampling/{run.id}")
    assert all(code in page for code in own_codes | other_codes)
    assert all(name in page for name in own_names | other_names)
    assert "<dd>3</dd>" in page and f"<dd>{len(own_codes | other_codes)}</dd>" in page
    row = _row(console.as_user("sup2").text("/console/sampling"), run.id)
    assert all(name in row for name in own_names | other_names)
    assert f'<td class="num">{len(own_codes | other_codes)}</td>' in row
    (listed,) = sampling.runs(sup2)
    assert {h.household.code for h in listed.households} == own_codes | other_codes


def test_a_village_supervisors_assignments_hold_their_village_only(api, township_draw):
    """The app's assignments (GET /api/v1/assignments) were scoped by village already: the
    village supervisor gets their own village's households, none of the township's others."""
    run, own_names, other_names, own_codes, other_codes = township_draw
    codes = {a["household_code"]
             for a in api.as_user("supv").get("/api/v1/assignments").get_json()["assignments"]}
    assert own_codes <= codes
    assert not codes & other_codes
    assert all(code.startswith(OWN_VILLAGE) for code in codes)


def test_a_village_supervisor_cannot_replace_the_township_draw(console, township_draw, village_sup):
    """The newest draw of a township is the one in force: a draw by the supervisor of one
    village would have put a draw of their own village alone in force for the whole
    township. It is refused (in the console, with a message, and in the service), and the
    township's draw stays the one in force."""
    run = township_draw[0]
    supv = console.as_user("supv")
    response = supv.post("/console/sampling", {"region": TOWNSHIP_2, "seed": "一村"},
                         follow_redirects=True)
    assert "draws are made by township or county supervisors" in response.get_data(as_text=True)
    for region in (TOWNSHIP_2, OWN_VILLAGE, village_sup.region.parent.parent.code):
        with pytest.raises(Forbidden) as refused:
            sampling.draw(village_sup, region, seed="一村")
        assert refused.value.code == "sampling.forbidden"
    assert db.session.scalars(select(SamplingRun.id)).all() == [run.id]
    assert not sampling.may_draw(village_sup)
