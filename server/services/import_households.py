"""Importing households from CSV or XLSX: all rows valid, or nothing imported.

Columns (one row per member; rows sharing `household_code` form one household; the household
columns are read from the household's first row):

    household_code, village_code, address, phone, status,
    member_name, id_number, relation, sex, birth_date,
    health, disability_grade, work_ability, occupation, co_resident
"""

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select

from .. import county_clock
from ..domain import idcard
from ..extensions import db
from ..models import Household, Member, Region, User
from ..models.household import HOUSEHOLD_STATUSES
from . import audit
from .errors import Invalid
from .register import register_household

REQUIRED_COLUMNS = ("household_code", "village_code", "member_name", "relation")
COLUMNS = (
    "household_code",
    "village_code",
    "address",
    "phone",
    "status",
    "member_name",
    "id_number",
    "relation",
    "sex",
    "birth_date",
    "health",
    "disability_grade",
    "work_ability",
    "occupation",
    "co_resident",
)
RELATIONS = (
    "self",
    "spouse",
    "child",
    "parent",
    "grandchild",
    "grandparent",
    "sibling",
    "child_in_law",
    "other",
)
SEXES = ("male", "female")
TRUE_WORDS = {"", "1", "true", "yes", "y", "是"}
FALSE_WORDS = {"0", "false", "no", "n", "否"}


@dataclass
class ImportResult:
    """What an import did (or would do)."""

    households: int = 0
    members: int = 0
    errors: list[str] = field(default_factory=list)


def read_rows(path: Path) -> list[dict]:
    """Read a CSV (UTF-8, with or without BOM) or XLSX file into dicts keyed by column."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise Invalid(
                "CSV 文件须为 UTF-8 编码 / the CSV file must be UTF-8 encoded",
                errors={"file": [f"not UTF-8 at byte {error.start}"]},
            ) from None
        return [dict(row) for row in csv.DictReader(io.StringIO(text))]
    if suffix in (".xlsx", ".xlsm"):
        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError):
            raise Invalid(
                "无法读取 XLSX 文件 / not a readable XLSX workbook",
                errors={"file": ["not an XLSX workbook"]},
            ) from None
        try:
            rows = list(book.worksheets[0].iter_rows(values_only=True))
        finally:
            book.close()  # read-only workbooks keep the file open until closed
        if not rows:
            return []
        header = [str(c).strip() if c is not None else "" for c in rows[0]]
        return [
            {header[i]: ("" if v is None else v) for i, v in enumerate(row) if i < len(header)}
            for row in rows[1:]
            if any(v not in (None, "") for v in row)
        ]
    raise Invalid(
        f"不支持的文件类型 / unsupported file type: {suffix} (use .csv or .xlsx)",
        errors={"file": ["csv or xlsx"]},
    )


def cell_text(row: dict, column: str) -> str:
    """Return a cell as stripped text ('' when empty; XLSX dates as YYYY-MM-DD)."""
    value = row.get(column)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, date):
        return value.isoformat()[:10]
    return str(value).strip()


def require_rows(rows: list[dict]) -> None:
    """Refuse a file without data rows."""
    if not rows:
        raise Invalid("文件没有数据行 / the file has no data rows", errors={"file": ["empty"]})


def refuse_missing_columns(missing: list[str]) -> None:
    """Refuse a file that lacks required columns, naming them."""
    if missing:
        raise Invalid(
            f"缺少列 / missing columns: {', '.join(missing)}",
            errors={"columns": [f"missing {c}" for c in missing]},
        )


def refuse_if_errors(errors: list[str]) -> None:
    """Refuse the whole file when any row is bad: every "row N: ..." listed, nothing imported."""
    if errors:
        raise Invalid(
            f"导入失败，共 {len(errors)} 处错误，未导入任何数据 / "
            f"import refused: {len(errors)} errors, nothing imported",
            errors={"rows": errors},
        )


def import_households(path: Path, *, actor: User | None = None) -> ImportResult:
    """Validate every row, then import all households in one transaction (or none). Commits."""
    rows = read_rows(path)
    result = ImportResult()
    require_rows(rows)
    refuse_missing_columns([c for c in REQUIRED_COLUMNS if c not in rows[0]])
    villages = {
        r.code: r for r in db.session.scalars(select(Region).where(Region.level == "village"))
    }
    existing_codes = set(db.session.scalars(select(Household.code)))
    existing_ids = set(
        db.session.scalars(select(Member.id_number).where(Member.id_number.is_not(None)))
    )
    seen_ids: dict[str, int] = {}
    households: dict[str, dict] = {}
    # The county's day, not the server's: a number born "tomorrow" on a UTC host's date is
    # born today in Beijing from 00:00 to 08:00.
    today = county_clock.today()
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        problems = []
        code, village_code = cell_text(row, "household_code"), cell_text(row, "village_code")
        if not code:
            problems.append("household_code is empty")
        elif code in existing_codes:
            problems.append(f"household {code} already exists")
        village = villages.get(village_code)
        if village is None:
            problems.append(f"unknown village_code {village_code!r}")
        if not cell_text(row, "member_name"):
            problems.append("member_name is empty")
        relation = cell_text(row, "relation")
        if relation not in RELATIONS:
            problems.append(f"relation {relation!r} not one of {', '.join(RELATIONS)}")
        sex = cell_text(row, "sex")
        if sex and sex not in SEXES:
            problems.append(f"sex {sex!r} not male or female")
        status = cell_text(row, "status") or "applicant"
        if status not in HOUSEHOLD_STATUSES:
            problems.append(f"status {status!r} not one of {', '.join(HOUSEHOLD_STATUSES)}")
        birth = cell_text(row, "birth_date")
        if birth:
            try:
                date.fromisoformat(birth)
            except ValueError:
                problems.append(f"birth_date {birth!r} is not YYYY-MM-DD")
        id_number = idcard.normalise(cell_text(row, "id_number"))
        if id_number:
            id_problems = idcard.problems(id_number, today=today, birth_date=birth or None,
                                          sex=sex or None)
            if id_problems:
                problems.extend(f"ID number {id_number}: {p['en']}" for p in id_problems)
            elif id_number in existing_ids:
                problems.append(f"ID number {id_number} is already registered in another household")
            elif id_number in seen_ids:
                problems.append(f"ID number {id_number} repeats row {seen_ids[id_number]}")
            else:
                seen_ids[id_number] = number
        co_resident = cell_text(row, "co_resident").lower()
        if co_resident not in TRUE_WORDS | FALSE_WORDS:
            problems.append(f"co_resident {co_resident!r} is not yes/no")
        if code in households and households[code]["village"] is not village:
            problems.append(f"household {code} has rows in two villages")
        if problems:
            result.errors.extend(f"row {number}: {p}" for p in problems)
            continue
        entry = households.setdefault(
            code,
            {
                "village": village,
                "record": {
                    "household": {
                        "address": cell_text(row, "address"),
                        "phone": cell_text(row, "phone") or None,
                        "status": status,
                    },
                    "members": [],
                },
            },
        )
        entry["record"]["members"].append(
            {
                "name": cell_text(row, "member_name"),
                "id_number": id_number or None,
                "relation": relation,
                "sex": sex or None,
                "birth_date": birth or None,
                "health": cell_text(row, "health") or None,
                "disability_grade": cell_text(row, "disability_grade") or None,
                "work_ability": cell_text(row, "work_ability") or None,
                "occupation": cell_text(row, "occupation") or None,
                "co_resident": co_resident not in FALSE_WORDS,
                "died_on": None,
            }
        )
    refuse_if_errors(result.errors)
    for code, entry in households.items():
        register_household(
            entry["village"],
            code=code,
            record=entry["record"],
            cause="import",
            actor=actor,
            source_ref=path.name[:64],
        )
        result.households += 1
        result.members += len(entry["record"]["members"])
    audit.record(
        "household.import",
        actor=actor,
        object_type="file",
        object_id=path.name[:64],
        detail={"households": result.households, "members": result.members},
    )
    db.session.commit()
    return result
