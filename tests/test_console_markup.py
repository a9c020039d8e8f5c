"""Markup sent by a phone (answers, names, captions) is shown as text on every console page."""

import uuid

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Conflict
from tests.conftest import TOWNSHIP_1

pytest_plugins = ["tests.console_helpers"]

PAYLOADS = [
    '<script>alert("ruhu")</script>',
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(2)>',
    "javascript:alert(3)",
]
MARKUP = "".join(PAYLOADS[:3])


def _inert(html: str) -> None:
    """Assert no payload survived as live markup, and that its text is shown escaped."""
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<svg onload" not in html
    assert 'href="javascript:' not in html
    shown = ("&lt;script&gt;alert", "\\u003cscript\\u003e", "&lt;img src=x", "&lt;svg onload")
    assert any(text in html for text in shown), "the payload is not shown as text"


@pytest.fixture
def hostile(scenario, demo):
    """A household whose survey carries markup in an address, a member's name, an unknown
    answer, a photo caption, and a conflict whose values are markup."""
    households = demo.households_in(TOWNSHIP_1)
    household = households[0]
    member = str(uuid.uuid4())
    instance = scenario.record_edit(
        "inv1",
        household,
        {
            "address": MARKUP,
            "members": [{"id": member, "name": PAYLOADS[0][:60], "relation": "other"}],
            f"x{PAYLOADS[0]}": PAYLOADS,
            "note": {"caption": MARKUP, "link": PAYLOADS[3]},
        },
        photos=[scenario.photo(near=household)],
    )
    other = households[1]
    base = other.version
    scenario.record_edit("inv1", other, {"address": PAYLOADS[1]}, base_version=base)
    scenario.record_edit("inv2", other, {"address": PAYLOADS[2]}, base_version=base,
                         investigators=[demo.user("inv2").id])
    return {"household": household, "instance": instance, "other": other}


def test_markup_in_answers_is_inert_on_every_page(console, hostile):
    """Queue, submission, household, survey record, conflicts, lists: text, never markup."""
    client = console.as_user("sup1")
    client.post(f"/console/submissions/{hostile['instance']}/review",
                {"state": "has_issues", "comment": MARKUP})
    household = hostile["household"]
    pages = [
        "/console/queue?state=all",
        f"/console/submissions/{hostile['instance']}",
        f"/console/households/{household.id}",
        f"/console/households/{household.id}/record",
        f"/console/households/{hostile['other'].id}",
        "/console/conflicts",
        "/console/households?per_page=200",
    ]
    for url in pages:
        html = client.text(url)
        if url.startswith(("/console/submissions", "/console/households/", "/console/conflicts")):
            _inert(html)
        else:
            assert "<script>alert" not in html and "<img src=x" not in html, url


def test_conflict_values_with_markup_are_text(console, hostile):
    """Both sides of a conflict are shown escaped, and resolving works."""
    client = console.as_user("sup1")
    html = client.text("/console/conflicts")
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "&#34;&gt;&lt;svg onload=alert(2)&gt;" in html
    conflict = db.session.scalar(select(Conflict).where(Conflict.status == "open"))
    db.session.expire_all()
    client.post(f"/console/conflicts/{conflict.id}/resolve",
                {"choice": "server", "seen_version": hostile["other"].version})
    db.session.expire_all()
    assert conflict.status == "resolved"


def test_no_template_marks_user_data_safe():
    """No `|safe` or autoescape off in the console's templates (the rule, checked)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "server" / "console" / "templates"
    for path in root.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", ""), path
        assert "autoescape false" not in text, path
        assert "<script>" not in text and "<script " not in text.replace(
            '<script type="module" src=', ""
        ), path
