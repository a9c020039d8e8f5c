"""Security rules not tested elsewhere, one test each.

Elsewhere: token expiry, rate limits and password hashing (test_auth.py); security headers and
the cookie settings (test_security_headers.py); the console's CSRF and session cookie
(test_console_auth.py); masking in every export (test_console_exports.py); SQL UPDATE of the
audit log and the version history (test_migrations.py).
"""

import io
import zipfile

import pytest
from flask import url_for
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from server.console import nav
from server.domain.masking import mask_id_number
from server.extensions import db
from server.models import (
    AuditEntry,
    HouseholdVersion,
    LedgerTransition,
    Member,
    SubmissionReview,
)
from tests.conftest import PG_URL, TOWNSHIP_1
from tests.sync_helpers import frozen

pytest_plugins = ["tests.console_helpers"]

APPEND_ONLY = [AuditEntry, HouseholdVersion, SubmissionReview, LedgerTransition]


def readable(response) -> str:
    """Return a response's text; for an XLSX file, the text of every part of it."""
    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "".join(archive.read(name).decode("utf-8", "replace")
                           for name in archive.namelist())
    return data.decode("utf-8", "replace")


def full_ids_in(content: str) -> set[str]:
    """Return the demo's full ID numbers that appear in some text."""
    numbers = db.session.scalars(select(Member.id_number).where(Member.id_number.is_not(None)))
    return {number for number in numbers if number in content}


@pytest.fixture
def surveyed(scenario, demo):
    """Township 1's first household, edited by two phones from one base (one conflict on a
    member, so the queue, the conflict list and the outcome feed all have rows)."""
    household = frozen(demo.households_in(TOWNSHIP_1)[0])
    member = household.members[0]
    team = [demo.user("inv1").id, demo.user("inv2").id]
    first = scenario.record_edit("inv1", household, {"members": [
        {"id": member.id, "occupation": "务农"}]}, investigators=team)
    second = scenario.record_edit("inv2", household, {"members": [
        {"id": member.id, "occupation": "打工"}]}, investigators=team)
    return household, first, second


@pytest.mark.parametrize("username", ["sup1", "admin"])
def test_no_console_list_shows_a_full_id_number(app, console, surveyed, username, demo):
    """Every page of the navigation bar (the lists) shows ID numbers masked, if at all."""
    client = console.as_user(username)
    pages = []
    for item in nav.items_for(demo.user(username)):
        with app.test_request_context():
            pages.append(url_for(item.endpoint))
    assert "/console/households" in pages and "/console/queue" in pages
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert full_ids_in(readable(response)) == set(), page


def test_api_lists_carry_full_id_numbers_only_in_an_investigators_download(api, surveyed):
    """Every list the API offers, for every role: no full ID number, except the household
    download of an investigator (checked against the 户口本 during the visit, offline)."""
    spec = api.as_user("sup1").get("/api/v1/openapi.json").get_json()
    # A list needs no parameter (a lookup by QR token, say, needs its token: not a list).
    lists = [path for path, operations in spec["paths"].items()
             if "get" in operations and "{" not in path
             and not any(p.get("required") for p in operations["get"].get("parameters", []))]
    assert "/api/v1/households" in lists and "/api/v1/conflicts" in lists
    read = set()
    for username in ("inv1", "sup1", "admin"):
        for path in lists:
            response = api.as_user(username).get(path)
            # Refusals are fine (a role may not read a list) but are checked too: an error
            # body must not echo an ID number either.
            assert response.status_code in (200, 403), (username, path, response.status_code)
            if response.status_code == 200:
                read.add(path)
            found = full_ids_in(readable(response))
            if path == "/api/v1/households" and username == "inv1":
                assert found, "the investigator's download lost its ID numbers"
            else:
                assert found == set(), (username, path)
    # Every list was really read by some role (none checked only through a refusal).
    assert read == set(lists)


def test_a_supervisors_download_masks_id_numbers_like_the_rule(api, demo):
    """The whole county in one list: ``35**************23``, never the number itself."""
    page = api.as_user("sup1").get("/api/v1/households?limit=500").get_json()
    members = {m["id"]: m for h in page["households"] for m in h["members"]}
    stored = db.session.scalars(select(Member).where(Member.id_number.is_not(None))).all()
    assert stored
    for member in stored:
        assert members[member.id]["id_number"] == mask_id_number(member.id_number)
        assert members[member.id]["id_number"][2:-2] == "*" * 14


def test_pages_showing_full_id_numbers_record_the_read(console, api, surveyed, demo):
    """The household page, its survey record and a submission show full ID numbers: each
    read is in the audit log under the reader's name."""
    household, first, _ = surveyed
    client = console.as_user("sup1")
    for url, object_id in ((f"/console/households/{household.id}", str(household.id)),
                           (f"/console/households/{household.id}/record", str(household.id)),
                           (f"/console/submissions/{first}", first)):
        before = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
        response = client.get(url)
        assert response.status_code == 200, url
        assert full_ids_in(readable(response)), url
        db.session.expire_all()
        reads = db.session.scalars(select(AuditEntry).where(AuditEntry.id > before)).all()
        assert any(entry.actor_name == "sup1" and entry.object_id == object_id
                   for entry in reads), (url, [(e.action, e.object_id) for e in reads])


@pytest.fixture
def logged(api, surveyed):
    """Rows in every append-only table: a review decision and a ledger entry with a move."""
    household, first, _ = surveyed
    supervisor = api.as_user("sup1")
    response = supervisor.post(f"/api/v1/submissions/{first}/review",
                               json={"state": "approved", "comment": "核实"})
    assert response.status_code == 200, response.get_json()
    response = supervisor.post("/api/v1/audit/ledger", json={
        "household_id": household.id, "category": "unreported_change",
        "actions": ["resurvey"], "description": "长期外出务工未报告"})
    assert response.status_code == 201, response.get_json()
    response = supervisor.post(f"/api/v1/audit/ledger/{response.get_json()['id']}/transitions",
                               json={"to_state": "in_progress", "comment": "已通知"})
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("model", APPEND_ONLY, ids=lambda m: m.__tablename__)
def test_append_only_rows_cannot_be_changed_through_the_orm(app, logged, model):
    """Changing or deleting a logged row through the ORM fails in the database, and the row
    stays as it was (the triggers hold whatever code path tries)."""
    row = db.session.scalar(select(model).order_by(model.id.desc()).limit(1))
    key = row.id
    column = next(c for c in ("action", "cause", "comment", "note", "to_state")
                  if hasattr(model, c))
    original = getattr(row, column)
    setattr(row, column, "forged")
    with pytest.raises(DatabaseError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(model, key))
    with pytest.raises(DatabaseError):
        db.session.commit()
    db.session.rollback()
    for statement in (update(model).where(model.id == key).values({column: "forged"}),
                      delete(model).where(model.id == key)):
        with pytest.raises(DatabaseError):
            db.session.execute(statement)
            db.session.commit()
        db.session.rollback()
    db.session.expire_all()
    assert getattr(db.session.get(model, key), column) == original


@pytest.mark.skipif(not PG_URL, reason="TRUNCATE is PostgreSQL's (SQLite has only DELETE)")
@pytest.mark.parametrize("model", APPEND_ONLY, ids=lambda m: m.__tablename__)
def test_append_only_tables_cannot_be_truncated(app, logged, model):
    """TRUNCATE skips row triggers, so a statement trigger refuses it."""
    count = db.session.scalar(select(db.func.count()).select_from(model))
    with pytest.raises(DatabaseError):
        db.session.execute(text(f"TRUNCATE {model.__tablename__} CASCADE"))
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(model)) == count


@pytest.mark.parametrize("app_config", [{"SESSION_COOKIE_SECURE": True}])
def test_the_console_cookie_is_secure_behind_https(console):
    """With RUHU_SECURE_COOKIES the session cookie the browser receives says Secure."""
    response = console.anonymous().login("sup1")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
