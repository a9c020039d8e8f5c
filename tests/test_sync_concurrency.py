"""Concurrent submissions: retries at the same instant and merges racing for one household.

Every thread has its own test client, so its own app context and database session, as
separate requests on a real server would. The merge is slowed down on purpose to widen
the window between reading the household and writing it: without the household lock,
these tests lose updates.
"""

import threading
import time

import pytest
from sqlalchemy import func, select

from server.domain import merge as merging
from server.extensions import db
from server.models import Household, HouseholdVersion, Submission
from tests.conftest import TOWNSHIP_1
from tests.sync_helpers import frozen, household, new_id, survey, versions_of

URL = "/api/v1/submissions"


@pytest.fixture
def slow_merge(monkeypatch):
    """Make every merge take a while, so racing requests overlap."""
    real = merging.merge

    def slow(base, server, mine):
        time.sleep(0.05)
        return real(base, server, mine)

    monkeypatch.setattr(merging, "merge", slow)


@pytest.fixture
def team(demo):
    """Township 1's investigator ids."""
    return [demo.user("inv1").id, demo.user("inv2").id]


def race(app, token: str, bodies: list[dict]) -> list[tuple[int, dict]]:
    """Post every body from its own thread, all released at the same instant."""
    barrier = threading.Barrier(len(bodies))
    results: list = [None] * len(bodies)

    def run(index: int, body: dict) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(URL, json=body, headers={"Authorization": f"Bearer {token}"})
        results[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i, b)) for i, b in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    db.session.expire_all()
    return results


def test_ten_identical_posts_at_once_make_exactly_one(app, api, demo, team, slow_merge):
    """One 201, nine 200 with the same outcome; one row, one new version."""
    target = frozen(demo.households_in(TOWNSHIP_1)[0])
    body = survey(target, {"address": "并发路10号"}, investigators=team)
    results = race(app, api.as_user("inv1").token, [body] * 10)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 9 + [201], results
    assert len({r["household_version"] for _, r in results}) == 1
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1
    assert household(target.id).version == target.version + 1


def test_ten_identical_new_applications_at_once_create_one_household(app, api, demo, team,
                                                                      slow_merge):
    """Creating a household is serialised too: one household, not ten."""
    village = demo.households_in(TOWNSHIP_1)[0].village_id
    households_before = db.session.scalar(select(func.count()).select_from(Household))
    body = survey(None, {"village_id": village, "address": "新申请",
                         "members": [{"id": new_id(), "name": "申请人"}]}, investigators=team)
    results = race(app, api.as_user("inv1").token, [body] * 10)
    assert sorted(s for s, _ in results) == [200] * 9 + [201], results
    assert db.session.scalar(select(func.count()).select_from(Household)) \
        == households_before + 1


def test_different_submissions_for_one_household_at_once_lose_no_update(app, api, demo, team,
                                                                        slow_merge):
    """Eight phones, same base, each adding its own member at once: all eight land."""
    target = frozen(demo.households_in(TOWNSHIP_1)[0])
    members = [new_id() for _ in range(8)]
    bodies = [survey(target, {"members": [{"id": m, "name": f"成员{i}"}]},
                     investigators=team, device_id=f"phone-{i}")
              for i, m in enumerate(members)]
    results = race(app, api.as_user("inv1").token, bodies)
    assert all(status == 201 and not r["conflicts"] for status, r in results), results
    fresh = household(target.id)
    assert set(members) <= {m.id for m in fresh.members}
    assert fresh.version == target.version + 8
    assert sorted(r["household_version"] for _, r in results) == list(
        range(target.version + 1, target.version + 9))
    assert len(versions_of(target.id)) == fresh.version


def test_racing_edits_of_one_field_give_one_winner_and_conflicts(app, api, demo, team,
                                                                 slow_merge):
    """Four teams change the address from the same base at once: one lands, three conflict."""
    target = frozen(demo.households_in(TOWNSHIP_1)[1])
    bodies = [survey(target, {"address": f"地址{i}"}, investigators=team) for i in range(4)]
    results = race(app, api.as_user("inv1").token, bodies)
    conflicts = [len(r["conflicts"]) for _, r in results]
    assert sorted(conflicts) == [0, 1, 1, 1], results
    winner = next(b for b, (_, r) in zip(bodies, results, strict=True) if not r["conflicts"])
    assert household(target.id).address == winner["answers"]["address"]


def test_a_chain_and_its_predecessor_racing_never_strand_the_later_link(app, api, demo, team):
    """Link 2 and link 1 posted at the same instant: link 2 always ends up merged."""
    for attempt in range(3):
        target = frozen(household(demo.households_in(TOWNSHIP_1)[2 + attempt].id))
        first = survey(target, {"phone": f"1390000000{attempt}"}, investigators=team)
        second = survey(target, {"address": f"链{attempt}"}, investigators=team,
                        previous_instance_id=first["instance_id"])
        race(app, api.as_user("inv1").token, [second, first])
        states = dict(db.session.execute(
            select(Submission.instance_id, Submission.merge_state).where(
                Submission.instance_id.in_([first["instance_id"], second["instance_id"]]))
        ).all())
        assert set(states.values()) == {"merged"}, states
        assert household(target.id).address == f"链{attempt}"
        sources = db.session.scalars(select(HouseholdVersion.source_ref).where(
            HouseholdVersion.household_id == target.id).order_by(HouseholdVersion.version))
        assert list(sources)[-2:] == [first["instance_id"], second["instance_id"]]


def test_a_refusal_under_the_lock_releases_it(app, api, demo, team):
    """A 422 raised while holding the household lock never leaves it held."""
    target = frozen(demo.households_in(TOWNSHIP_1)[0])
    inv1 = api.as_user("inv1")
    held = survey(target, {"address": "x"}, investigators=team,
                  previous_instance_id=new_id())
    held["base_version"] = target.version + 7  # held: unknown base, predecessor awaited
    assert inv1.post(URL, json=held).status_code == 201
    corrected = survey(target, {"address": "y"}, investigators=team,
                       corrects_instance_id=new_id())  # refused under the lock
    assert inv1.post(URL, json=corrected).status_code == 422
    results = race(app, inv1.token, [survey(target, {"phone": "1"}, investigators=team)])
    assert [status for status, _ in results] == [201]
