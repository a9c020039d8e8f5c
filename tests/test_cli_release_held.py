"""`ruhu release-held`: a chain link whose predecessor never came is merged after the wait."""

import pytest

from tests.sync_helpers import household, new_id, survey


@pytest.mark.parametrize("app_config", [{"SYNC_HOLD_SECONDS": 0}])
def test_release_held_merges_links_past_the_wait(api, demo, runner):
    """A held link is merged by the command once the configured wait has passed."""
    inv1 = api.as_user("inv1")
    target = demo.households_in("230229100")[0]
    team = [demo.user("inv1").id, demo.user("inv2").id]
    orphan = survey(
        target, {"address": "等了很久"}, investigators=team, previous_instance_id=new_id()
    )
    response = inv1.post("/api/v1/submissions", json=orphan)
    assert response.status_code == 201 and response.get_json()["merge_state"] == "held"
    result = runner.invoke(args=["release-held"])
    assert result.exit_code == 0 and "released 1 held submissions" in result.output
    assert household(target.id).address == "等了很久"


def test_release_held_leaves_links_inside_the_wait(api, demo, runner):
    """With the default 72-hour wait a fresh held link stays held."""
    inv1 = api.as_user("inv1")
    target = demo.households_in("230229100")[0]
    team = [demo.user("inv1").id, demo.user("inv2").id]
    orphan = survey(
        target, {"address": "还在等"}, investigators=team, previous_instance_id=new_id()
    )
    assert inv1.post("/api/v1/submissions", json=orphan).get_json()["merge_state"] == "held"
    assert "released 0 held submissions" in runner.invoke(args=["release-held"]).output
    assert household(target.id).address != "还在等"
