"""Progress per township and village, the daily chart, and sampling draws and assignments."""

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, Household, SamplingRun
from server.services import sampling
from tests.conftest import TOWNSHIP_1, TOWNSHIP_2

pytest_plugins = ["tests.console_helpers"]

YEAR = "from=2026-01-01&to=2026-12-31"


@pytest.fixture
def xinmi_policy_for_the_demo(app, tmp_path):
    """Give the demo county a policy with Xinmi's 30% share and 96%/80% thresholds."""
    import shutil
    from pathlib import Path

    import yaml

    forms = tmp_path / "forms"
    shutil.copytree(Path(app.config["FORMS_DIR"]), forms)
    keshan = forms / "policies" / "keshan-2022.yaml"
    data = yaml.safe_load(keshan.read_text("utf-8"))
    data["sampling"]["village_share"] = 0.3
    data["quality"]["submission_pass_rate"] = 0.96
    data["quality"]["sampled_pass_rate_min"] = 0.8
    keshan.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    app.config["FORMS_DIR"] = str(forms)
    app.extensions.pop("ruhu_policies", None)  # services.policies reloads from the copy
    return data


def test_progress_counts_per_township_and_village(console, scenario, demo):
    """Households, visited, submitted, approved, has issues and the rates add up."""
    households = demo.households_in(TOWNSHIP_1)
    client = console.as_user("sup1")
    instances = [scenario.record_edit("inv1", h, {"phone": f"1390000{i:04d}"})
                 for i, h in enumerate(households[:4])]
    scenario.record_edit("inv1", households[0], {"phone": "13900009999"})  # a second visit
    client.post(f"/console/submissions/{instances[0]}/review", {"state": "approved"})
    client.post(f"/console/submissions/{instances[1]}/review", {"state": "approved"})
    client.post(f"/console/submissions/{instances[2]}/review",
                {"state": "has_issues", "comment": "缺照片"})
    page = client.text(f"/console/progress?{YEAR}")
    township_1 = re.search(r'<tr class="township-row">\s*<th scope="row">克山镇.*?</tr>', page,
                           re.S).group(0)
    numbers = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', township_1)]
    # households, visited, [rate], submitted, to review, approved, has issues, rejected
    assert numbers[:2] == [len([h for h in households if h.status != "closed"]), 4]
    assert numbers[2:] == [5, 2, 2, 1, 0]
    assert "66.7%" in township_1  # 2 approved of 3 reviewed
    assert "below-threshold" in township_1  # under 96%
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "progress.read"))


def test_a_visited_household_closed_since_is_neither_counted_nor_visited(app, scenario, demo):
    """The visit rate stays a share of the open households (it went above 100% when a
    visited household was closed afterwards)."""
    from datetime import date

    from server.services import progress

    households = demo.households_in(TOWNSHIP_1)
    for i, household in enumerate(households[:3]):
        scenario.record_edit("inv1", household, {"phone": f"1391111{i:04d}"})
    before = progress.report(demo.user("sup1"), date_from=date(2026, 1, 1),
                             date_to=date(2026, 12, 31)).total
    closed = db.session.get(Household, households[0].id)
    closed.status = "closed"
    db.session.commit()
    after = progress.report(demo.user("sup1"), date_from=date(2026, 1, 1),
                            date_to=date(2026, 12, 31)).total
    assert (after.households, after.visited) == (before.households - 1, before.visited - 1)
    assert after.submitted == before.submitted  # its survey still counts as a survey
    assert after.visited <= after.households


def test_progress_chart_is_server_rendered_svg(console, scenario, demo):
    """The daily chart is an inline SVG with a bar per day and the visit-rate line."""
    scenario.record_edit("inv1", demo.households_in(TOWNSHIP_1)[0], {"phone": "13900001111"})
    page = console.as_user("sup1").text("/console/progress?from=2026-05-01&to=2026-05-07")
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert svg.count("<g><title>") == 7
    assert "2026-05-02: 1 / 0" in svg
    assert "<polyline" in svg
    assert "<script" not in svg


def test_progress_xlsx_export(console, scenario, demo):
    """The table downloads as XLSX: one line per township, then its villages, then the total."""
    scenario.record_edit("inv1", demo.households_in(TOWNSHIP_1)[0], {"phone": "13900001112"})
    response = console.as_user("sup1").get(f"/console/progress.xlsx?{YEAR}")
    rows = list(load_workbook(io.BytesIO(response.get_data())).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("乡镇", "村(社区)", "户数")
    assert rows[1][0] == "克山镇" and rows[1][3] == 1
    assert rows[-1][0] == "合计"


def test_progress_of_a_township_supervisor_holds_their_township_only(console, sup2, scenario,
                                                                     demo):
    """sup2 sees 北兴镇 only; asking for 克山镇 is the 404 page."""
    scenario.record_edit("inv1", demo.households_in(TOWNSHIP_1)[0], {"phone": "13900001113"})
    page = console.as_user("sup2").text(f"/console/progress?{YEAR}&township={TOWNSHIP_1}", 404)
    assert "克山镇" not in page and "城东社区" not in page
    page = console.as_user("sup2").text(f"/console/progress?{YEAR}")
    assert "北兴镇" in page and "克山镇" not in page


def test_policy_thresholds_drive_the_highlight(console, scenario, demo,
                                               xinmi_policy_for_the_demo):
    """With 96%/80% in the policy, they are shown as the policy's, not as defaults."""
    page = console.as_user("sup1").text(f"/console/progress?{YEAR}")
    assert "合格率须达到 96%" in page and "80%" in page
    assert "未规定合格率" not in page


# --- sampling -----------------------------------------------------------------------------------


def test_a_draw_is_reproducible_from_its_seed(app, demo, xinmi_policy_for_the_demo):
    """Same seed, same villages; the recorded draw recomputes; another seed may differ."""
    sup1 = demo.user("sup1")
    first = sampling.draw(sup1, "230229", seed="2026-抽查-1")
    second = sampling.draw(sup1, "230229", seed="2026-抽查-1")
    assert first.params["townships"] == second.params["townships"]
    assert sampling.verify(first) and sampling.verify(second)
    assert sampling.redraw(first) == {code: part["drawn"]
                                      for code, part in first.params["townships"].items()}
    for part in first.params["townships"].values():
        assert part["k"] == 1  # ceil(30% of 3 villages)
        assert set(part["drawn"]) <= set(part["candidates"])
    draws = {tuple(sampling.draw(sup1, "230229", seed=f"s{i}").params["townships"][TOWNSHIP_1]
                   ["drawn"]) for i in range(12)}
    assert len(draws) > 1  # the seed matters


def test_a_tampered_draw_does_not_verify(app, demo, xinmi_policy_for_the_demo):
    """Editing the recorded villages by hand is caught by redrawing."""
    run = sampling.draw(demo.user("sup1"), "230229", seed="fixed")
    part = run.params["townships"][TOWNSHIP_1]
    other = next(c for c in part["candidates"] if c not in part["drawn"])
    run.params = {**run.params, "townships": {**run.params["townships"],
                                              TOWNSHIP_1: {**part, "drawn": [other]}}}
    assert not sampling.verify(run)


def test_share_below_the_policy_is_refused_and_above_is_allowed(app, demo,
                                                                xinmi_policy_for_the_demo):
    """At least the policy's share; more is fine."""
    from server.services.errors import Invalid

    with pytest.raises(Invalid):
        sampling.draw(demo.user("sup1"), "230229", seed="x", share=0.2)
    run = sampling.draw(demo.user("sup1"), "230229", seed="x", share=0.7)
    assert all(part["k"] == 3 for part in run.params["townships"].values())


def test_draw_from_the_console_is_recorded_and_assigns_households(
    console, api, demo, xinmi_policy_for_the_demo
):
    """The supervisor draws; the app's assignments list the drawn villages' households and
    the always-visited ones, with reasons."""
    reported = demo.households_in(TOWNSHIP_1)[0]
    staff = db.session.scalar(select(Household).where(Household.staff_relative.is_(True)))
    client = console.as_user("sup1")
    response = client.post("/console/sampling", {
        "region": "230229", "seed": "公开种子", "share": "30", "reported": reported.code,
    })
    assert response.status_code == 302
    run = db.session.scalar(select(SamplingRun))
    assert run.seed == "公开种子" and run.drawn_by == demo.user("sup1").id
    page = client.text(f"/console/sampling/{run.id}")
    assert "已用种子复核一致" in page and "公开种子" in page
    drawn = {v.village_id for v in run.villages}
    body = api.as_user("inv1").get("/api/v1/assignments").get_json()
    by_id = {a["household_id"]: a for a in body["assignments"]}
    township_1 = demo.households_in(TOWNSHIP_1)
    for household in township_1:
        if household.village_id in drawn and household.status != "closed":
            assert "sampled_village" in by_id[household.id]["reasons"]
    assert "reported" in by_id[reported.id]["reasons"]
    if staff is not None and staff in township_1:
        assert "staff_relative" in by_id[staff.id]["reasons"]
    assert not {h.id for h in demo.households_in(TOWNSHIP_2)} & set(by_id)
    inv3 = api.as_user("inv3").get("/api/v1/assignments").get_json()["assignments"]
    assert not {h.id for h in township_1} & {a["household_id"] for a in inv3}
    household_page = client.text(f"/console/households/{reported.id}")
    assert "抽查户" in household_page and "被举报" in household_page


def test_a_newer_draw_replaces_the_older_for_its_township(app, demo, api,
                                                          xinmi_policy_for_the_demo):
    """The newest draw of a township is in force; another township keeps its own."""
    sup1 = demo.user("sup1")
    sampling.draw(sup1, "230229", seed="first")
    second = sampling.draw(sup1, TOWNSHIP_1, seed="second")
    active = sampling.active_villages(sup1)
    drawn_1 = {v.village_id for v in second.villages}
    township_1_villages = {h.village_id for h in demo.households_in(TOWNSHIP_1)}
    assert {v for v in active if v in township_1_villages} == drawn_1
    assert any(v not in township_1_villages for v in active)


def test_unknown_reported_code_is_refused(console, demo, xinmi_policy_for_the_demo):
    """A typo in a reported code draws nothing and says which code."""
    client = console.as_user("sup1")
    client.post("/console/sampling", {"region": "230229", "reported": "NOPE-123"})
    assert db.session.scalar(select(SamplingRun)) is None
    assert "NOPE-123" in client.text("/console/sampling")


def test_township_supervisor_cannot_draw_for_another_township(console, sup2, demo,
                                                              xinmi_policy_for_the_demo):
    """sup2 asking for township 1 is refused; the county code draws their township only."""
    client = console.as_user("sup2")
    client.post("/console/sampling", {"region": TOWNSHIP_1})
    assert db.session.scalar(select(SamplingRun)) is None
    client.post("/console/sampling", {"region": "230229", "seed": "x"})
    run = db.session.scalar(select(SamplingRun))
    assert set(run.params["townships"]) == {TOWNSHIP_2}
    assert "克山镇" not in client.text(f"/console/sampling/{run.id}")


def test_a_draw_outside_the_scope_is_not_found(console, sup2, demo, xinmi_policy_for_the_demo):
    """A draw of township 1 alone is sup1's to see, not sup2's; an unknown draw is 404."""
    console.as_user("sup1").post("/console/sampling", {"region": TOWNSHIP_1, "seed": "y"})
    run = db.session.scalar(select(SamplingRun))
    assert set(run.params["townships"]) == {TOWNSHIP_1}
    assert "克山镇" in console.as_user("sup1").text(f"/console/sampling/{run.id}")
    console.as_user("sup2").text(f"/console/sampling/{run.id}", status=404)
    console.as_user("sup1").text(f"/console/sampling/{run.id + 1000}", status=404)


def test_assignments_need_sign_in(client):
    """The assignments list is not public."""
    assert client.get("/api/v1/assignments").status_code == 401


def test_keshan_policy_samples_every_village(app, demo):
    """Keshan's own policy says 100%: every village is drawn (一个100%)."""
    run = sampling.draw(demo.user("sup1"), "230229", seed="k")
    for part in run.params["townships"].values():
        assert part["drawn"] == part["candidates"]


def test_always_visited_households_outside_the_drawn_villages_count_in_the_sample(
    app, scenario, demo, xinmi_policy_for_the_demo
):
    """A township's sampled figures are its drawn villages' plus each always-visited
    household outside them, once (disputed and reported alike), with its period's surveys."""
    from datetime import date

    from server.services import progress

    sup1 = demo.user("sup1")
    households = demo.households_in(TOWNSHIP_1)
    for household in households:
        household.disputed = True
    db.session.commit()
    drawn = {v.village_id for v in sampling.draw(sup1, TOWNSHIP_1, seed="抽查").villages}
    outside = [h for h in households if h.village_id not in drawn]
    # The same seed draws the same villages; the newer draw is in force.
    sampling.draw(sup1, TOWNSHIP_1, seed="抽查", reported=[outside[0].code])
    for i, household in enumerate(outside[:3]):
        scenario.record_edit("inv1", household, {"phone": f"1392222{i:04d}"})
    scenario.record_edit("inv1", outside[0], {"phone": "13922229999"})

    report = progress.report(sup1, date_from=date(2026, 1, 1), date_to=date(2026, 12, 31))
    row = next(r for r in report.townships if r.township.code == TOWNSHIP_1)
    in_drawn = progress.Counts()
    for village_row in row.villages:
        if village_row.sampled:
            in_drawn.add(village_row.counts)
    assert row.sampled.households == in_drawn.households + len(outside)
    assert row.sampled.submitted == in_drawn.submitted + 4
    assert row.sampled.received == in_drawn.received + 4


def test_a_county_wide_draw_shows_a_township_supervisor_their_part_only(
    console, sup2, demo, xinmi_policy_for_the_demo
):
    """The county's draw touches both townships: sup2 sees it, but of its drawn villages and
    households only township 2's, in the list of draws and on the draw's page (the other
    township's village names and household count were listed)."""
    sampling.draw(demo.user("sup1"), "230229", seed="县级抽查")
    run = db.session.scalar(select(SamplingRun))
    ours = [v for v in run.villages if v.village.parent.code == TOWNSHIP_2]
    theirs = [v for v in run.villages if v.village.parent.code == TOWNSHIP_1]
    assert ours and theirs
    households = [h for h in run.households if h.household.village.parent.code == TOWNSHIP_2]

    listed = console.as_user("sup2").text("/console/sampling")
    row = listed[listed.index(f'/console/sampling/{run.id}"'):]
    row = row[: row.index("</tr>")]
    assert all(v.village.name in row for v in ours)
    assert not any(v.village.name in row for v in theirs)
    assert f'<td class="num">{len(households)}</td>' in row
    page = console.as_user("sup2").text(f"/console/sampling/{run.id}")
    assert f"<dd>{len(ours)}</dd>" in page and f"<dd>{len(households)}</dd>" in page
    assert not any(v.village.name in page for v in theirs)
    county = console.as_user("sup1").text("/console/sampling")
    assert all(v.village.name in county for v in theirs + ours)
