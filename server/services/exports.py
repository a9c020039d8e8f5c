"""Downloads of the user's region: households, members, submissions, assessments, and the
public posting list (公示), as CSV or XLSX.

ID numbers and phone numbers are masked in every export (domain.md, Privacy); the full
values are only on the household and submission pages, whose reads are audited. Every
export is audited with its filters and row count. Text cells that a spreadsheet would run as
a formula (= + - @ at the start) are written as plain text; in XLSX, control characters XML
cannot hold are shown as U+FFFD.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import county_clock
from ..domain.masking import mask_id_number, mask_phone
from ..extensions import db
from ..models import Household, ReviewFlags, Submission, User
from ..models.submission import REVIEW_STATES
from . import audit
from .household_directory import head_name
from .region_tree import names, require_in_scope, village_filter
from .review_queue import refresh_flags
from .scope import scoped_households
from .spreadsheet_cells import plain, xlsx_row

DATASETS = ("households", "members", "submissions", "assessments")
FORMATS = ("csv", "xlsx")
BATCH = 500

COLUMNS = {
    "households": (
        "code", "township", "village", "area_type", "address", "phone", "status",
        "benefit_class", "hardship_cause", "staff_relative", "disputed", "persons",
        "head_name", "head_id_number", "next_review_on", "version",
    ),
    "members": (
        "household_code", "township", "village", "name", "id_number", "relation", "sex",
        "birth_date", "health", "disability_grade", "work_ability", "occupation",
        "co_resident", "died_on",
    ),
    "submissions": (
        "instance_id", "household_code", "township", "village", "investigators",
        "started_at", "completed_at", "received_at", "review_state", "review_comment",
        "merge_state", "upload_status", "failed_checks", "county_review", "missing_media",
        "open_conflicts",
    ),
    "assessments": (
        "household_code", "township", "village", "instance_id", "completed_at",
        "review_state", "policy_id", "area_type", "unit", "household_income",
        "counted_members", "per_capita_income", "standard", "eligible", "near_poverty",
        "benefit", "benefit_class", "next_review_on", "county_review", "failed_checks",
    ),
    "publicity": (
        "seq", "township", "village", "head_name", "head_id_number", "persons", "benefit",
        "benefit_class",
    ),
}  # fmt: skip

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class ExportFilters:
    """Which part of the region to export."""

    township: str | None = None
    village: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    review_state: str | None = None

    def as_dict(self) -> dict:
        """Return the filters for the audit log."""
        return {k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in self.__dict__.items() if v}


@dataclass
class Table:
    """An export: its column keys and its rows (produced lazily)."""

    name: str
    columns: tuple[str, ...]
    rows: Iterable[list]


def _local(moment: datetime | None) -> str:
    """Return a stored naive-UTC time as local text (the county's clock)."""
    if moment is None:
        return ""
    return county_clock.local_time(moment).strftime("%Y-%m-%d %H:%M:%S")


def _day_start(day: date, *, end: bool = False) -> datetime:
    """Return the naive-UTC instant where a local day starts (or the next one does)."""
    return county_clock.day_start(day + timedelta(days=1) if end else day)


def _households(user: User, filters: ExportFilters):
    """Return the select of households in scope narrowed by the filters, by code."""
    query = scoped_households(user)
    if filters.township or filters.village:
        query = query.where(
            Household.village_id.in_(village_filter(user, filters.township, filters.village))
        )
    return query.order_by(Household.code)


def _household_batches(user: User, filters: ExportFilters) -> Iterator[list[Household]]:
    """Yield the households in scope in batches by code, members loaded (keyset paging: each
    batch is one indexed query, however deep into the county). Batches are let go of after
    use, so memory stays flat."""
    last = ""
    query = _households(user, filters).options(selectinload(Household.members))
    while True:
        batch = db.session.scalars(query.where(Household.code > last).limit(BATCH)).all()
        if not batch:
            return
        yield batch
        last = batch[-1].code
        for household in batch:
            db.session.expunge(household)


def _region_names(village_ids: set[int], cache: dict) -> None:
    """Add the (township, village) names of these villages to the cache."""
    missing = village_ids - cache.keys()
    if missing:
        cache.update(names(missing))


def _household_rows(user: User, filters: ExportFilters) -> Iterator[list]:
    """Yield one row per household."""
    cache: dict = {}
    for batch in _household_batches(user, filters):
        _region_names({h.village_id for h in batch}, cache)
        for h in batch:
            township, village = cache.get(h.village_id, ("", ""))
            head = next((m for m in h.members if m.relation == "self"), None)
            yield [
                h.code, township, village, h.area_type, h.address, mask_phone(h.phone),
                h.status, h.benefit_class, h.hardship_cause, h.staff_relative, h.disputed,
                sum(1 for m in h.members if m.co_resident and not m.died_on), head_name(h),
                mask_id_number(head.id_number) if head else None, h.next_review_on, h.version,
            ]


def _member_rows(user: User, filters: ExportFilters) -> Iterator[list]:
    """Yield one row per member of the households in scope."""
    cache: dict = {}
    for batch in _household_batches(user, filters):
        _region_names({h.village_id for h in batch}, cache)
        for h in batch:
            township, village = cache.get(h.village_id, ("", ""))
            for m in h.members:
                yield [
                    h.code, township, village, m.name, mask_id_number(m.id_number), m.relation,
                    m.sex, m.birth_date, m.health, m.disability_grade, m.work_ability,
                    m.occupation, m.co_resident, m.died_on,
                ]


SUBMISSION_COLUMNS = (
    Submission.id, Submission.instance_id, Submission.investigator_ids, Submission.started_at,
    Submission.completed_at, Submission.received_at, Submission.review_state,
    Submission.review_comment, Submission.merge_state, Submission.status,
    Household.code, Household.village_id, ReviewFlags.failed_checks, ReviewFlags.county_review,
    ReviewFlags.missing_media, ReviewFlags.open_conflicts,
)


def _submissions(user: User, filters: ExportFilters, *, assessments: bool):
    """Return the select of the submission columns an export needs, in scope, by id."""
    in_scope = _households(user, filters).with_only_columns(Household.id).order_by(None)
    columns = (*SUBMISSION_COLUMNS, Submission.assessment) if assessments else SUBMISSION_COLUMNS
    query = (
        select(*columns)
        .join(Household, Household.id == Submission.household_id)
        .outerjoin(ReviewFlags, ReviewFlags.submission_id == Submission.id)
        .where(Submission.household_id.in_(in_scope))
        .order_by(Submission.id)
    )
    if filters.date_from:
        query = query.where(Submission.completed_at >= _day_start(filters.date_from))
    if filters.date_to:
        query = query.where(Submission.completed_at < _day_start(filters.date_to, end=True))
    if filters.review_state in REVIEW_STATES:
        query = query.where(Submission.review_state == filters.review_state)
    return query


def _submission_rows(user: User, filters: ExportFilters, *, assessments: bool) -> Iterator[list]:
    """Yield one row per submission (or per assessed submission), in order of receipt."""
    refresh_flags()
    query = _submissions(user, filters, assessments=assessments)
    cache: dict = {}
    people: dict[int, str] = {}
    last = 0
    while True:
        rows = db.session.execute(query.where(Submission.id > last).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        _region_names({row.village_id for row in rows}, cache)
        wanted = {i for row in rows for i in row.investigator_ids or [] if isinstance(i, int)}
        wanted -= people.keys()
        if wanted:
            people.update(
                (u.id, u.display_name or u.username)
                for u in db.session.scalars(select(User).where(User.id.in_(wanted)))
            )
        for row in rows:
            township, village = cache.get(row.village_id, ("", ""))
            if assessments:
                # Checked here, not in SQL: a JSON column may hold JSON null, not SQL NULL.
                if not row.assessment:
                    continue
                a = row.assessment
                failed = [c.get("id") for c in a.get("checks") or []
                          if isinstance(c, dict) and c.get("passed") is False]
                yield [
                    row.code, township, village, row.instance_id, _local(row.completed_at),
                    row.review_state, a.get("policy_id"), a.get("area_type"), a.get("unit"),
                    a.get("household_income"), a.get("counted_members"),
                    a.get("per_capita_income"), a.get("standard"), a.get("eligible"),
                    a.get("near_poverty"), a.get("benefit"), a.get("benefit_class"),
                    a.get("next_review_on"), a.get("county_review"), " ".join(map(str, failed)),
                ]
            else:
                yield [
                    row.instance_id, row.code, township, village,
                    "、".join(people.get(i, str(i)) for i in row.investigator_ids or []),
                    _local(row.started_at), _local(row.completed_at), _local(row.received_at),
                    row.review_state, row.review_comment, row.merge_state, row.status,
                    row.failed_checks, row.county_review, row.missing_media, row.open_conflicts,
                ]


def _audited(user: User, name: str, rows: Iterable[list], filters: dict,
             ip: str | None) -> Iterator[list]:
    """Pass the rows through, and write the audit entry with the count once all are out.

    A download cut short is audited too, with the rows that went out (`finally`).
    """
    count = 0
    try:
        for row in rows:
            count += 1
            yield row
    finally:
        audit.record(f"export.{name}", actor=user, object_type="export", object_id=name,
                     ip=ip, detail={"filters": filters, "rows": count})
        db.session.commit()


def table(user: User, dataset: str, filters: ExportFilters, *, ip: str | None = None) -> Table:
    """Return one dataset of the user's region as a Table (rows made as they are written)."""
    # The filter's region is checked now, not with the first row: the rows are streamed, and
    # a refusal must come before the response has begun (a CSV of headings said "nothing").
    require_in_scope(user, filters.township, filters.village)
    if dataset == "households":
        rows = _household_rows(user, filters)
    elif dataset == "members":
        rows = _member_rows(user, filters)
    elif dataset in ("submissions", "assessments"):
        rows = _submission_rows(user, filters, assessments=dataset == "assessments")
    else:
        raise ValueError(f"unknown dataset {dataset}")
    return Table(dataset, COLUMNS[dataset], _audited(user, dataset, rows, filters.as_dict(), ip))


# --- the public posting list (公示) ------------------------------------------------------------


@dataclass
class PublicityRow:
    """One line of the posting: what may be shown in public, and no more."""

    seq: int
    township: str
    village: str
    head_name: str
    head_id_number: str | None
    persons: int
    benefit: float | None
    benefit_class: str | None

    def as_list(self) -> list:
        """Return the row in COLUMNS["publicity"] order."""
        return [self.seq, self.township, self.village, self.head_name, self.head_id_number,
                self.persons, self.benefit, self.benefit_class]


def publicity(user: User, filters: ExportFilters, *, ip: str | None = None) -> list[PublicityRow]:
    """Return the households to post: those whose latest approved survey found them eligible.

    Name of the head, the number of persons and the monthly amount; the ID number masked like
    ``35**************23`` (domain.md, Privacy). Audited.
    """
    in_scope = _households(user, filters).with_only_columns(Household.id).order_by(None)
    latest = (
        select(func.max(Submission.id))
        .where(
            Submission.household_id.in_(in_scope),
            Submission.review_state == "approved",
            Submission.assessment.is_not(None),
        )
        .group_by(Submission.household_id)
    )
    submissions = db.session.scalars(select(Submission).where(Submission.id.in_(latest))).all()
    eligible = {
        s.household_id: s.assessment for s in submissions if (s.assessment or {}).get("eligible")
    }
    households = db.session.scalars(
        select(Household)
        .where(Household.id.in_(list(eligible)))
        .order_by(Household.code)
        .options(selectinload(Household.members))
    ).all()
    cache: dict = {}
    _region_names({h.village_id for h in households}, cache)
    rows = []
    for seq, h in enumerate(households, start=1):
        a = eligible[h.id]
        head = next((m for m in h.members if m.relation == "self"), None)
        persons = a.get("counted_members")
        if not isinstance(persons, int):
            persons = sum(1 for m in h.members if m.co_resident and not m.died_on)
        township, village = cache.get(h.village_id, ("", ""))
        rows.append(
            PublicityRow(
                seq=seq, township=township, village=village, head_name=head_name(h),
                head_id_number=mask_id_number(head.id_number) if head else None,
                persons=persons, benefit=a.get("benefit"),
                benefit_class=a.get("benefit_class") or h.benefit_class,
            )
        )
    audit.record("export.publicity", actor=user, object_type="export", object_id="publicity",
                 ip=ip, detail={"filters": filters.as_dict(), "rows": len(rows)})
    db.session.commit()
    return rows


# --- writing files ----------------------------------------------------------------------------


def csv_chunks(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """Yield a CSV file in pieces: UTF-8 with BOM (Excel in China opens it right), CRLF."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for index, row in enumerate(rows, start=1):
        writer.writerow(["" if v is None else plain(v) for v in row])
        if index % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_bytes(sheet_name: str, header: list[str], rows: Iterable[list]) -> bytes:
    """Return an XLSX workbook of one sheet (write-only mode: rows stream to the file)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_name[:31])
    sheet.append(header)
    for row in rows:
        sheet.append(xlsx_row(sheet, row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
