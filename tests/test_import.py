"""Importing households from CSV and XLSX: every bad row reported, nothing half-imported."""

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from server.extensions import db
from server.models import Household, HouseholdVersion, Member
from server.services.demo import id_number
from server.services.errors import Invalid
from server.services.import_households import COLUMNS, import_households

VALID_ID = id_number("230229", __import__("datetime").date(1970, 5, 17), 11, True)
OTHER_ID = id_number("230229", __import__("datetime").date(1998, 2, 3), 12, False)


def row(**values) -> dict:
    """Return one import row with sensible defaults."""
    base = {c: "" for c in COLUMNS}
    base.update(
        {
            "household_code": "IMP-0001",
            "village_code": "230229100201",
            "address": "新兴村3组5号",
            "member_name": "王建国",
            "relation": "self",
            "sex": "male",
            "birth_date": "1970-05-17",
            "id_number": VALID_ID,
            "co_resident": "是",
        }
    )
    base.update(values)
    return base


def write_csv(path: Path, rows: list[dict]) -> Path:
    """Write rows as a UTF-8 CSV with BOM (as Excel saves it)."""
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[dict]) -> Path:
    """Write rows as an XLSX workbook."""
    book = Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    for r in rows:
        sheet.append([r[c] for c in COLUMNS])
    book.save(path)
    return path


def counts() -> tuple[int, int, int]:
    """Return how many households, members and versions exist."""
    return tuple(
        db.session.scalar(select(func.count()).select_from(m))
        for m in (Household, Member, HouseholdVersion)
    )


@pytest.mark.parametrize("writer", [write_csv, write_xlsx])
def test_valid_file_imports_households_with_members(app, tmp_path, writer):
    """Two rows with one code make one household of two members, with version 1."""
    before = counts()
    path = writer(
        tmp_path / f"ok.{'csv' if writer is write_csv else 'xlsx'}",
        [
            row(),
            row(
                member_name="李秀英",
                relation="spouse",
                sex="female",
                birth_date="1998-02-03",
                id_number=OTHER_ID,
            ),
        ],
    )
    result = import_households(path)
    assert (result.households, result.members) == (1, 2)
    household = db.session.scalar(select(Household).where(Household.code == "IMP-0001"))
    assert household.area_type == "rural" and len(household.members) == 2 and household.version == 1
    assert counts() == (before[0] + 1, before[1] + 2, before[2] + 1)


def test_bad_rows_are_all_reported_and_nothing_is_imported(app, tmp_path):
    """Each bad row is named with its row number and reason; the database is unchanged."""
    before = counts()
    path = write_csv(
        tmp_path / "bad.csv",
        [
            row(),  # row 2: fine
            row(household_code="IMP-0002", village_code="999"),  # row 3: unknown village
            row(household_code="IMP-0003", id_number="230229197005171234"),  # row 4: check digit
            row(
                household_code="IMP-0004", relation="boss", birth_date="1970-13-01", id_number=""
            ),  # row 5
            row(household_code="IMP-0005", id_number=VALID_ID),  # row 6: repeats row 2's ID
        ],
    )
    with pytest.raises(Invalid) as caught:
        import_households(path)
    errors = caught.value.errors["rows"]
    assert any(e.startswith("row 3:") and "village" in e for e in errors)
    assert any(e.startswith("row 4:") and "check character" in e for e in errors)
    assert any(e.startswith("row 5:") and "relation" in e for e in errors)
    assert any(e.startswith("row 5:") and "birth_date" in e for e in errors)
    assert any(e.startswith("row 6:") and "repeats row 2" in e for e in errors)
    assert not any(e.startswith("row 2:") for e in errors)
    assert counts() == before


def test_existing_household_code_and_registered_id_are_refused(app, tmp_path, demo):
    """A code already in the register or a member already registered elsewhere is an error."""
    existing = demo.households_in("230229100")[0]
    path = write_csv(
        tmp_path / "dup.csv",
        [
            row(household_code=existing.code, id_number=""),
            row(
                household_code="IMP-0009",
                id_number=existing.members[0].id_number,
                birth_date="",
                sex="",
            ),
        ],
    )
    with pytest.raises(Invalid) as caught:
        import_households(path)
    errors = caught.value.errors["rows"]
    assert any("row 2:" in e and "already exists" in e for e in errors)
    assert any("row 3:" in e and "already registered" in e for e in errors)


@pytest.mark.parametrize(
    "content,suffix,message",
    [
        ("", ".csv", "no data rows"),
        ("household_code,member_name\nX,Y\n", ".csv", "missing columns"),
        ("whatever", ".txt", "unsupported file type"),
        ("not a zip at all", ".xlsx", "not a readable XLSX"),
    ],
)
def test_unusable_files_are_refused(app, tmp_path, content, suffix, message):
    """Empty files, missing columns and unknown types are refused before any row is read."""
    path = tmp_path / f"file{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(Invalid, match=message):
        import_households(path)


def test_cli_import_reports_rows_and_exits_non_zero(runner, tmp_path):
    """`ruhu import-households` prints each bad row and exits 1."""
    path = write_csv(tmp_path / "bad.csv", [row(village_code="nowhere")])
    result = runner.invoke(args=["import-households", str(path)])
    assert result.exit_code == 1
    assert "row 2: unknown village_code 'nowhere'" in result.output


def test_csv_in_another_encoding_is_refused(app, tmp_path):
    """A GBK-encoded CSV is refused with a clear message instead of garbled names."""
    path = tmp_path / "gbk.csv"
    path.write_bytes(",".join(COLUMNS).encode() + "\n王建国".encode("gbk"))
    with pytest.raises(Invalid, match="UTF-8"):
        import_households(path)


def test_an_id_number_typed_as_the_card_prints_it_is_stored_without_spaces(app, tmp_path):
    """A spreadsheet cell '230229 19700517 xxxx' (groups as on the card, maybe a small x) is
    stored as the 18 characters, as a survey's binding stores it."""
    spaced = f"{VALID_ID[:6]} {VALID_ID[6:14]} {VALID_ID[14:].lower()}"
    import_households(write_csv(tmp_path / "spaced.csv", [row(id_number=spaced)]))
    member = db.session.scalar(select(Member).where(Member.name == "王建国",
                                                    Member.id_number == VALID_ID))
    assert member is not None


def test_id_numbers_are_checked_against_the_countys_day(app, tmp_path, monkeypatch):
    """A birth date in an ID number is 'in the future' by the county's calendar, never the
    server's: with the county's clock on 2099-03-01 a number born 2099-02-01 is imported
    (the server's own date would refuse it), one born 2099-03-02 is refused."""
    from datetime import date, datetime

    from server import county_clock

    monkeypatch.setattr(county_clock, "utcnow", lambda: datetime(2099, 3, 1, 2, 0))
    born = id_number("230229", date(2099, 2, 1), 13, True)
    result = import_households(write_csv(tmp_path / "ok.csv", [row(
        household_code="IMP-2099", birth_date="2099-02-01", id_number=born)]))
    assert (result.households, result.members) == (1, 1)
    unborn = id_number("230229", date(2099, 3, 2), 13, True)
    with pytest.raises(Invalid) as refused:
        import_households(write_csv(tmp_path / "bad.csv", [row(
            household_code="IMP-2100", birth_date="2099-03-02", id_number=unborn)]))
    assert "birth date 2099-03-02 is out of range" in str(refused.value.errors)
