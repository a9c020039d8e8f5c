"""JSON columns are written by orjson (server/json_columns.py) and read back unchanged."""

import json

from sqlalchemy import select, text

from server import json_columns
from server.extensions import db
from server.models import AuditEntry
from server.services import audit


def test_values_come_back_as_the_standard_library_reads_them():
    value = {"name": "王建国", "n": 3, "x": 2.5, "none": None, "ok": True,
             "list": [1, "二", {"k": []}], 7: "int key"}
    written = json_columns.dumps(value)
    assert json.loads(written) == json.loads(json.dumps(value))
    assert json.loads(written) == {**{k: v for k, v in value.items() if k != 7},
                                   "7": "int key"}
    assert "王建国" in written  # UTF-8, not \u escapes


def test_a_value_orjson_refuses_is_written_by_the_standard_library():
    huge = {"garbled_number": 10**30}
    assert json.loads(json_columns.dumps(huge)) == huge


def _stored_detail(action: str) -> tuple[dict, str]:
    """Return an audit entry's detail as the model reads it and as the column's text."""
    db.session.expire_all()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == action))
    raw = db.session.execute(text("SELECT CAST(detail AS TEXT) FROM audit_entry "
                                  "WHERE action = :action"), {"action": action}).scalar()
    return entry.detail, raw


def test_the_database_stores_and_returns_them(app):
    detail = {"note": "入户核查 ✓", "nested": {"a": [1, 2.5, None, True]}}
    huge = {"note": "乱码", "garbled_number": -(10**30)}
    audit.record("test.json", object_type="test", object_id="j1", detail=detail)
    audit.record("test.huge", object_type="test", object_id="j2", detail=huge)
    db.session.commit()
    stored, raw = _stored_detail("test.json")
    assert stored == detail
    assert "入户核查" in raw  # written by orjson: the engine uses json_columns
    stored, raw = _stored_detail("test.huge")
    assert stored == huge
    assert "10000000000000000000" in raw
