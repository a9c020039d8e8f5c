"""20 phones, 200 submissions, 20 households at once: nothing lost, nothing doubled, and a
conflict exactly where two writes really competed (on the engine the suite runs on).

Each phone (a thread with its own client, so its own session, as separate requests on a
real server) repeatedly picks a household, sometimes downloads it again and sometimes works
from what it downloaded earlier (a stale base), and submits one field set to one of a few
values. Some answers are "lost" and the phone posts the same body again. Afterwards the
server's result is checked against a model replaying the same submissions in the order
the server merged them (the household lock decides that order), using only the rule of
the three-way merge for one field: equal to the base or to the server's value → nothing;
server still at the base → applied; otherwise → a conflict.
"""

import random
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Household, HouseholdVersion, Submission
from tests.conftest import TOWNSHIP_1, TOWNSHIP_2
from tests.integrity import (
    assert_each_submission_once,
    assert_versions_consistent,
    conflicts_by_submission,
)
from tests.sync_helpers import survey

pytestmark = pytest.mark.slow

URL = "/api/v1/submissions"
PHONES = 20
SUBMISSIONS = 200
HOUSEHOLDS = 20
VALUES = {"address": ["东街1号", "西街2号", "南街3号"], "phone": ["13900000001", "13900000002"]}


@dataclass
class Sent:
    """One acknowledged submission: what the phone sent and what the server answered."""

    instance_id: str
    household_id: int
    base_version: int
    field: str
    value: str
    outcome: dict = field(default_factory=dict)


def _phone(app, index: int, token: str, team: list[int], households: list[int],
           count: int, sent: list, errors: list, start: threading.Barrier) -> None:
    """One phone's session: `count` submissions, retried until acknowledged."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(1000 + index)
    downloaded: dict[int, int] = {}
    start.wait()
    for _ in range(count):
        household_id = rng.choice(households)
        if household_id not in downloaded or rng.random() < 0.5:
            response = client.get(f"/api/v1/households/{household_id}", headers=headers)
            if response.status_code != 200:
                errors.append(("download", response.status_code, response.get_json()))
                return
            downloaded[household_id] = response.get_json()["version"]
        name = rng.choice(sorted(VALUES))
        value = rng.choice(VALUES[name])
        body = survey(SimpleNamespace(id=household_id, version=downloaded[household_id]),
                      {name: value}, investigators=team, device_id=f"phone-{index}")
        outcome = None
        for attempt in range(2 if rng.random() < 0.1 else 1):  # the answer got lost: again
            for _retry in range(100):
                response = client.post(URL, json=body, headers=headers)
                if response.status_code != 503:
                    break
                time.sleep(0.05)
            expected = 201 if attempt == 0 else 200
            if response.status_code != expected:
                errors.append(("submit", response.status_code, response.get_json()))
                return
            if outcome is not None and response.get_json()["household_version"] != \
                    outcome["household_version"]:
                errors.append(("retry changed the outcome", outcome, response.get_json()))
            outcome = response.get_json()
        sent.append(Sent(body["instance_id"], household_id, downloaded[household_id], name,
                         value, outcome))


def _replay(initial: dict[int, dict[int, dict]], merged: list[Sent]) -> dict[str, str]:
    """Replay submissions in merge order with the one-field merge rule.

    `initial` holds each household's snapshots ({version: household fields}) before the
    run. Returns {instance_id: "applied" | "conflict" | "unchanged"} and updates `initial`
    with the versions the model writes.
    """
    verdicts = {}
    for item in merged:
        history = initial[item.household_id]
        current = history[max(history)]
        base = history[item.base_version][item.field]
        server = current[item.field]
        if item.value in (base, server):
            verdicts[item.instance_id] = "unchanged"
        elif server == base:
            verdicts[item.instance_id] = "applied"
            history[max(history) + 1] = {**current, item.field: item.value}
        else:
            verdicts[item.instance_id] = "conflict"
    return verdicts


def test_twenty_phones_two_hundred_submissions_twenty_households(app, api, demo):
    """Every acknowledged submission once, versions = changing merges, conflicts exact."""
    teams = {TOWNSHIP_1: ("inv1", [demo.user("inv1").id, demo.user("inv2").id]),
             TOWNSHIP_2: ("inv3", [demo.user("inv3").id, demo.user("inv1").id])}
    plan = []  # (username, team, households) per township
    for township, (username, team) in teams.items():
        ids = [h.id for h in demo.households_in(township)][:HOUSEHOLDS // 2]
        assert len(ids) == HOUSEHOLDS // 2
        plan.append((api.as_user(username).token, team, ids))
    initial = {}
    for _token, _team, ids in plan:
        for household_id in ids:
            initial[household_id] = {
                v.version: {name: v.snapshot["household"].get(name) for name in VALUES}
                for v in assert_versions_consistent(household_id)
            }
    versions_before = {hid: max(history) for hid, history in initial.items()}

    sent: list[Sent] = []
    errors: list = []
    start = threading.Barrier(PHONES)
    threads = []
    for index in range(PHONES):
        token, team, ids = plan[index % 2]
        threads.append(threading.Thread(target=_phone, args=(
            app, index, token, team, ids, SUBMISSIONS // PHONES, sent, errors, start)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors, errors[:3]
    assert len(sent) == SUBMISSIONS

    # Every acknowledged submission is stored once; nothing else is.
    db.session.expire_all()
    assert_each_submission_once(item.instance_id for item in sent)
    rows = {s.instance_id: s for s in db.session.scalars(select(Submission))}
    assert len(rows) == SUBMISSIONS
    assert {s.merge_state for s in rows.values()} == {"merged"}

    # The model, replayed in the order the server merged (each merge took the next number).
    merged = sorted(sent, key=lambda item: rows[item.instance_id].outcome_seq)
    verdicts = _replay(initial, merged)
    conflicts = conflicts_by_submission()
    for item in sent:
        row = rows[item.instance_id]
        verdict = verdicts[item.instance_id]
        assert bool(row.applied) == (verdict == "applied"), (item, verdict, row.applied)
        assert conflicts.get(item.instance_id, 0) == (verdict == "conflict"), (item, verdict)
        assert len(item.outcome["conflicts"]) == (verdict == "conflict"), (item, verdict)
    assert sum(v == "conflict" for v in verdicts.values()) > 0, "the run made no conflict"
    assert sum(v == "applied" for v in verdicts.values()) > 0

    for household_id, history in initial.items():
        # The final version = the versions before + the changing merges, and no half-merge.
        versions = assert_versions_consistent(household_id)
        applied = sum(1 for item in sent if item.household_id == household_id
                      and verdicts[item.instance_id] == "applied")
        assert len(versions) == versions_before[household_id] + applied
        household = db.session.get(Household, household_id)
        assert {name: getattr(household, name) for name in VALUES} == history[max(history)]
        sources = [v.source_ref for v in versions[versions_before[household_id]:]]
        assert sorted(sources) == sorted(item.instance_id for item in sent
                                         if item.household_id == household_id
                                         and verdicts[item.instance_id] == "applied")

    # Order-free facts. Two submissions from the same base to the same field with different
    # values are never both applied, unless a write in between restored the base value (then
    # the later one rightly found the field untouched). Each conflict had a real competitor:
    # a write to that field after the conflict's base, with another value.
    def changes_to(household_id, name, after, before):
        """Return the new values written to a field by versions in (after, before)."""
        return [change["new"] for version in db.session.scalars(select(HouseholdVersion).where(
            HouseholdVersion.household_id == household_id, HouseholdVersion.version > after,
            HouseholdVersion.version < before)) for change in version.changes
            if change["path"] == f"household.{name}"]

    groups: dict[tuple, list[Sent]] = {}
    for item in merged:
        if verdicts[item.instance_id] == "applied":
            groups.setdefault((item.household_id, item.base_version, item.field), []).append(item)
    for (household_id, base_version, name), items in groups.items():
        base_value = initial[household_id][base_version][name]
        for earlier, later in zip(items, items[1:], strict=False):
            if earlier.value != later.value:
                between = changes_to(household_id, name,
                                     rows[earlier.instance_id].household_version,
                                     rows[later.instance_id].household_version)
                assert base_value in between, (earlier, later)
    for item in sent:
        if verdicts[item.instance_id] == "conflict":
            rivals = changes_to(household_id=item.household_id, name=item.field,
                                after=item.base_version, before=2**31 - 1)
            assert any(value != item.value for value in rivals), item
