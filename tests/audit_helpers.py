"""Helpers shared by the audit tests: list and roll files, picking demo people, uploads,
stored surveys."""

import csv
import io
import uuid
from datetime import date, datetime

from openpyxl import Workbook

from server.extensions import db
from server.models import Household, Member, Submission, User
from server.services import users
from server.services.demo import id_number


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    """Return a UTF-8 CSV with BOM (as Excel saves it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(header: list[str], rows: list[list]) -> bytes:
    """Return an XLSX workbook with one sheet."""
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client, url: str, content: bytes, filename: str, **form):
    """POST a file with form fields as multipart."""
    return client.post(
        url,
        data={**form, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def living_member(household: Household) -> Member:
    """Return the household's first living member with an ID number."""
    return next(m for m in household.members if m.id_number and not m.died_on)


def covered(households: list[Household]) -> list[Household]:
    """Return the covered households among these, whose members all live and have ID numbers."""
    return [
        h
        for h in households
        if h.status == "covered" and all(m.id_number and not m.died_on for m in h.members)
    ]


def stranger(serial: int) -> list:
    """Return a death-list row of someone who is in no household."""
    return [
        id_number("230230", date(1940, 1, 1 + serial % 27), 400 + serial, True),
        "陌生人",
        "2026-01-05",
    ]


def merged_survey(household: Household, user: User, *, completed_at: datetime,
                  answers: dict | None = None, assessment: dict | None = None) -> Submission:
    """Store (and commit) a complete survey of the household, merged into the record."""
    submission = Submission(
        instance_id=str(uuid.uuid4()),
        body_hash="0" * 64,
        form_id="dibao_household_survey",
        form_version="2026.1",
        household_id=household.id,
        submitted_by=user.id,
        merge_state="merged",
        status="complete",
        answers=answers or {},
        completed_at=completed_at,
        assessment=assessment,
    )
    db.session.add(submission)
    db.session.commit()
    return submission


def township_supervisor(username: str, township_code: str, password: str) -> User:
    """Add a supervisor scoped to one township."""
    return users.add_user(username, role="supervisor", region_code=township_code, password=password)


def refresh(obj):
    """Reload an object from the database."""
    db.session.refresh(obj)
    return obj


def patch(api_client, url: str, **kw):
    """PATCH with an ApiClient's token (conftest's client has no patch of its own)."""
    return api_client.client.patch(
        url, headers={"Authorization": f"Bearer {api_client.token}"}, **kw
    )


def household_of_another_county() -> Household:
    """Add the county 另一县 (230230), with a township and a village holding one covered
    household (not committed): what another county's supervisor sees, and ours must not."""
    from server.services.regions import add_region
    from server.services.register import register_household

    county = add_region(name="另一县", code="230230", level="county", parent=None)
    township = add_region(name="另一镇", code="230230100", level="township", parent=county)
    village = add_region(
        name="另一村", code="230230100201", level="village", parent=township, area_type="rural"
    )
    household = register_household(village, code="2302301002010001", record={}, cause="test")
    household.status = "covered"
    return household
