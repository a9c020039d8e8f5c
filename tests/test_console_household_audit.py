"""The household page (户档案) shows the household's cross-check flags and ledger entries,
the open ones first, each linking to its own screen, within the supervisor's scope."""

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from server import county_clock
from server.extensions import db
from server.models import AuditEntry, CrosscheckFlag, Household, LedgerEntry

from .audit_helpers import covered, csv_bytes, stranger, township_supervisor
from .conftest import DEMO_PASSWORD, TOWNSHIP_1

pytest_plugins = ["tests.console_helpers"]


@pytest.fixture
def household(demo) -> Household:
    """A covered household of township 1 with at least three living members."""
    return next(h for h in covered(demo.households_in(TOWNSHIP_1)) if len(h.members) >= 3)


def import_deaths(client, *members) -> None:
    """Import a death list naming these members (one flag and one ledger entry each)."""
    rows = [[m.id_number, m.name, "2026-02-11"] for m in members] + [stranger(1)]
    response = client.post(
        "/console/audit/lists",
        data={"kind": "deaths", "source": "殡仪馆",
              "file": (io.BytesIO(csv_bytes(["身份证号", "姓名", "死亡日期"], rows)), "d.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302


def audit_part(page: str) -> str:
    """Return the audit sections of a household page."""
    start = page.index('id="audit-flags"')
    return page[start:page.index('<section class="card">', page.index('id="audit-ledger"'))]


def close_with_note(client, entry_id: int) -> None:
    """Close a ledger entry as unfounded with a supervisor's note, through the console."""
    client.post(f"/console/ledger/{entry_id}/transition",
                data={"to_state": "closed", "resolution": "unfounded", "note": "同名不同人"})


def test_flags_and_entries_are_shown_open_first_with_links(console, household):
    """Three members on a death list, the first and last cleared: the flag and entry still
    open come before both closed ones, in both sections (whatever the order of their ids);
    each links to its screen; found dates, deadlines and states shown."""
    members = household.members[:3]
    sup1 = console.as_user("sup1")
    import_deaths(sup1, *members)
    flags = {f.person_id: f for f in db.session.scalars(
        select(CrosscheckFlag).where(CrosscheckFlag.household_id == household.id))}
    entries = [flags[m.id].ledger_entry_id for m in members]
    close_with_note(sup1, entries[0])
    close_with_note(sup1, entries[2])

    page = sup1.text(f"/console/households/{household.id}")
    part = audit_part(page)
    assert "清查疑点 1 个未销号" in page and "整改 1 条未销号" in page
    assert f'href="/console/audit?household={household.id}"' in part
    assert f'href="/console/audit?household={household.id}&amp;state=closed"' in part
    flags_html, ledger_html = part.split('id="audit-ledger"')
    opened, *cleared = entries[1], entries[0], entries[2]
    for closed in cleared:
        assert flags_html.index(f"/console/ledger/{opened}") < flags_html.index(
            f"/console/ledger/{closed}")
        assert ledger_html.index(f"#{opened}<") < ledger_html.index(f"#{closed}<")
    assert "已死亡人员领取低保金" in part and "强匹配" in part and "2026-02-11" in part
    assert "待整改" in ledger_html and "已销号" in ledger_html and "信息比对" in ledger_html
    found_on = db.session.get(LedgerEntry, opened).found_on.isoformat()
    assert f"发现日期 {found_on}" in ledger_html
    assert re.search(r"销号于 \d{4}-\d{2}-\d{2}", ledger_html)


def test_the_ledger_heading_opens_the_ledger_of_this_household_only(console, household, demo):
    """The section's heading links to the ledger narrowed to the household, which lists its
    entries and not another household's."""
    sup1 = console.as_user("sup1")
    other = next(h for h in covered(demo.households_in(TOWNSHIP_1)) if h.id != household.id)
    import_deaths(sup1, household.members[0], other.members[0])
    part = audit_part(sup1.text(f"/console/households/{household.id}"))
    link = f'/console/ledger?household={household.id}'
    assert f'<h2><a href="{link}">整改台账</a>' in part
    ledger = sup1.text(link)
    assert household.members[0].name in ledger and other.members[0].name not in ledger
    assert other.code not in ledger
    assert "只看此户" in ledger and household.code in ledger


def test_id_numbers_of_the_lists_stay_off_the_audit_sections(console, household):
    """The members table shows the full ID number (an audited read, as before); the flags
    and entries name the person, never the list's ID number."""
    member = household.members[0]
    sup1 = console.as_user("sup1")
    import_deaths(sup1, member)
    page = sup1.text(f"/console/households/{household.id}")
    assert member.id_number in page
    assert member.id_number not in audit_part(page)
    assert member.name in audit_part(page)


def test_an_overdue_entry_and_one_made_by_hand(console, household):
    """A manual entry past its deadline shows as overdue, before the others."""
    sup1 = console.as_user("sup1")
    import_deaths(sup1, household.members[0])
    response = sup1.post("/console/ledger", data={
        "household_code": household.code, "category": "hidden_support",
        "actions": ["resurvey"], "description": "子女有稳定工作未申报赡养费",
        "due_on": (county_clock.today() - timedelta(days=3)).isoformat()})
    assert response.status_code == 302
    ledger_html = audit_part(sup1.text(f"/console/households/{household.id}")).split(
        'id="audit-ledger"')[1]
    assert ledger_html.index("子女有稳定工作未申报赡养费") < ledger_html.index("已死亡人员领取低保金")
    assert ledger_html.count(">逾期<") == 1 and "人工发现" in ledger_html


def test_a_household_without_any_says_so(console, household):
    """Nothing found: both sections say so, in both languages."""
    client = console.as_user("sup1")
    page = client.text(f"/console/households/{household.id}")
    assert "本户没有清查比对疑点。" in page and "本户没有整改条目。" in page
    assert "未销号" not in page
    client.post("/console/language", {"lang": "en", "next": "/console/"})
    page = client.text(f"/console/households/{household.id}")
    assert "No cross-check flag on this household." in page
    assert "No ledger entry for this household." in page


def test_english_page(console, household):
    """The sections' titles, states and badges in English."""
    client = console.as_user("sup1")
    import_deaths(client, household.members[0])
    client.post("/console/language", {"lang": "en", "next": "/console/"})
    page = client.text(f"/console/households/{household.id}")
    part = audit_part(page)
    assert "Cross-check flags" in part and "Rectification ledger" in part
    assert "Open cross-check flags: 1" in page and "Open ledger entries: 1" in page
    assert "deceased person still receiving benefits" in part and "strong" in part


def test_scope_township_supervisors(console, household, sup2):
    """A township-1 supervisor sees the flags of their household; township 2's supervisor
    gets no household page at all (and so no flag)."""
    import_deaths(console.as_user("sup1"), household.members[0])
    township_supervisor("sup1t", TOWNSHIP_1, DEMO_PASSWORD)
    part = audit_part(console.as_user("sup1t").text(f"/console/households/{household.id}"))
    assert "已死亡人员领取低保金" in part
    refused = console.as_user("sup2").get(f"/console/households/{household.id}")
    assert refused.status_code in (403, 404)
    assert "已死亡人员领取低保金" not in refused.get_data(as_text=True)


def test_reading_the_page_audits_the_flags_and_entries_read(console, household):
    """The flags and entries shown are reads of personal data: written to the audit log."""
    client = console.as_user("sup1")
    import_deaths(client, household.members[0])
    client.text(f"/console/households/{household.id}")
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"crosscheck.flags", "ledger.list", "household.read"} <= actions


@pytest.mark.parametrize(
    "lang, found, died", [("zh", "发现于", "死亡日期"), ("en", "found", "date of death")]
)
def test_a_flags_details_say_what_each_is(console, household, lang, found, died):
    """The flag line said 'found 2026-11-24 · 2025-06-01': the second date is the list's
    date of death, and now says so, on the household page and on the flags screen."""
    sup1 = console.as_user("sup1")
    import_deaths(sup1, household.members[0])
    if lang == "en":
        sup1.post("/console/language", {"lang": "en"})
    flags_html = audit_part(sup1.text(f"/console/households/{household.id}")).split(
        'id="audit-ledger"')[0]
    assert re.search(rf"{found} \d{{4}}-\d{{2}}-\d{{2}} · {died} 2026-02-11<", flags_html)
    assert f"{died} 2026-02-11" in sup1.text(f"/console/audit?household={household.id}")
    other = "date of death" if lang == "zh" else "死亡日期"
    assert other not in flags_html
    # The county's page of the imported list names its columns the same way.
    list_id = db.session.scalar(select(CrosscheckFlag.last_list_id).where(
        CrosscheckFlag.household_id == household.id))
    assert f"{died}: 2026-02-11" in sup1.text(f"/console/audit/lists/{list_id}")


def test_every_column_of_every_list_has_a_label_in_both_languages(app):
    """A matched row's detail is shown with what it is: every list column has its words."""
    from server.console.i18n import catalogue
    from server.domain.audit_lists import LIST_KINDS

    texts = catalogue()
    for kind in LIST_KINDS.values():
        for column in kind.columns:
            zh, en = texts[f"audit.field.{column.name}"]
            assert zh and en and zh != en
