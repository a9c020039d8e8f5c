"""Cross-check lists (信息比对): import another department's list, match it against the
master record, and turn every match into a flag on the member and household.

Import: every row checked (domain/audit_lists.py), every bad row reported with its number,
nothing stored unless the whole file is valid. Matching (domain/audit_matching.py): on the
ID number (strong), or on name and birth date (weak, shown as such). Each person named by a
kind of list gets one flag, whatever how often the list is re-imported: a newer list adds
its rows as further evidence of the same flag. A new flag opens a ledger entry that needs a
re-survey, which marks the household for a re-visit in the investigators' app.

Only county supervisors and admins import or read lists (services/audit_files.py), and only
the lists and rows about their region (_lists_in_scope); flags of a household are seen by
every supervisor whose scope covers it.
"""

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.orm import selectinload

from .. import county_clock
from ..domain import audit_lists
from ..domain.audit_categories import category_label
from ..domain.audit_matching import Match, Person, match_rows
from ..extensions import MAX_DB_INT, db
from ..models import (
    CrosscheckFlag,
    CrosscheckList,
    CrosscheckMatch,
    CrosscheckRow,
    Household,
    LedgerEntry,
    Member,
    Region,
    Supporter,
    User,
)
from . import audit, ledger
from .audit_files import (
    file_digest,
    keep_upload,
    plain_text,
    read_table,
    require_county_auditor,
)
from .errors import Invalid, NotFound
from .import_households import refuse_if_errors
from .region_tree import village_filter
from .scope import scoped_households

# Households whose people are matched: everyone but closed cases (applicants too: a vehicle
# found before approval saves a wrong approval).
MATCHED_STATUSES = ("applicant", "pending_review", "covered", "suspended")
MAX_PAGE = 500


@dataclass
class ImportSummary:
    """What an import found."""

    list: CrosscheckList
    rows: int = 0
    matched_rows: int = 0
    strong: int = 0
    weak: int = 0
    new_flags: int = 0
    seen_flags: int = 0
    households: set[int] = field(default_factory=set)


def _kind(kind: str) -> audit_lists.ListKind:
    """Return the list kind or refuse an unknown one."""
    if kind not in audit_lists.LIST_KINDS:
        raise Invalid(
            f"未知名单类型 / unknown list kind: {kind}",
            errors={"kind": [f"one of {', '.join(audit_lists.LIST_KIND_IDS)}"]},
        )
    return audit_lists.LIST_KINDS[kind]


def parse_list(path: Path, kind: audit_lists.ListKind, *, today: date) -> list:
    """Read and check every row of a list file; refuse it, naming each bad row, if any is bad."""
    rows, errors = [], []
    for number, cells in read_table(path, audit_lists.columns_of(kind)):
        row, problems = audit_lists.parse_row(kind, number, cells, today=today)
        if problems:
            errors.extend(f"row {number}: {p}" for p in problems)
        else:
            rows.append(row)
    refuse_if_errors(errors)
    return rows


def people_in_scope(user: User | None) -> list[Person]:
    """Return the members and supporters of the households the list is matched against."""
    households = select(Household.id).where(Household.status.in_(MATCHED_STATUSES))
    if user is not None:
        households = (
            scoped_households(user)
            .with_only_columns(Household.id)
            .where(Household.status.in_(MATCHED_STATUSES))
        )
    members = db.session.execute(
        select(
            Member.household_id, Member.id, Member.name, Member.id_number, Member.birth_date
        ).where(Member.household_id.in_(households))
    ).all()
    supporters = db.session.execute(
        select(Supporter.household_id, Supporter.id, Supporter.name, Supporter.id_number).where(
            Supporter.household_id.in_(households)
        )
    ).all()
    return [Person(h, "member", i, n, num, b) for h, i, n, num, b in members] + [
        Person(h, "supporter", i, n, num, None) for h, i, n, num in supporters
    ]


def _describe(kind: audit_lists.ListKind, match: Match, source: str) -> str:
    """Return the ledger description of a new flag (no ID number: the entry is widely read)."""
    strength = "强匹配(身份证号)" if match.strength == "strong" else "弱匹配(姓名+出生日期)"
    who = "家庭成员" if match.person.kind == "member" else "赡养(抚养)义务人"
    labels = {c.name: (c.aliases or (c.name,))[0] for c in kind.columns}
    facts = ",".join(f"{labels.get(k, k)}:{v}" for k, v in match.row.detail.items())
    origin = f"{kind.label['zh']}" + (f"({source})" if source else "")
    return f"{origin}名单{strength}:{who}{match.person.name}。{facts}"


def import_list(
    path: Path,
    kind: str,
    *,
    actor: User | None,
    source: str = "",
    as_of: date | None = None,
    filename: str | None = None,
    today: date | None = None,
    ip: str | None = None,
) -> ImportSummary:
    """Import a list, match it, flag every match (no duplicates on re-import). Commits.

    `actor` None is the command line acting for the county. The raw file is not kept unless
    RUHU_AUDIT_KEEP_UPLOADS is set; only the rows that matched someone are stored.
    """
    require_county_auditor(actor)
    list_kind = _kind(kind)
    today = today or county_clock.today()
    rows = parse_list(path, list_kind, today=today)
    matches = match_rows(list_kind, rows, people_in_scope(actor), today=today)
    digest = file_digest(path)
    imported = CrosscheckList(
        kind=kind,
        source=plain_text(source)[:100],
        as_of=as_of,
        filename=(filename or path.name)[:255],
        file_sha256=digest,
        imported_by=actor.id if actor else None,
        row_count=len(rows),
        kept_path=keep_upload(path, kind=kind, sha256=digest),
    )
    db.session.add(imported)
    db.session.flush()
    summary = ImportSummary(list=imported, rows=len(rows))
    stored_rows: dict[int, CrosscheckRow] = {}
    flags = {
        (f.household_id, f.person_id): f
        for f in db.session.scalars(
            select(CrosscheckFlag)
            .where(CrosscheckFlag.list_kind == kind)
            .options(selectinload(CrosscheckFlag.ledger_entry))
        )
    }
    households = {}
    for match in matches:
        row = stored_rows.get(match.row.row_number)
        if row is None:
            row = stored_rows[match.row.row_number] = CrosscheckRow(
                list_id=imported.id,
                row_number=match.row.row_number,
                id_number=match.row.id_number,
                name=match.row.name,
                birth_date=match.row.birth_date,
                detail=match.row.detail,
            )
            db.session.add(row)
            db.session.flush()
        setattr(summary, match.strength, getattr(summary, match.strength) + 1)
        key = (match.person.household_id, match.person.id)
        flag = flags.get(key)
        if flag is None:
            flag = flags[key] = CrosscheckFlag(
                household_id=match.person.household_id,
                person_kind=match.person.kind,
                person_id=match.person.id,
                list_kind=kind,
                category=match.category,
                strength=match.strength,
                first_list_id=imported.id,
                last_list_id=imported.id,
            )
            db.session.add(flag)
            db.session.flush()
            summary.new_flags += 1
        elif flag.last_list_id != imported.id:
            summary.seen_flags += 1
            flag.last_list_id = imported.id
        upgraded = flag.strength == "weak" and match.strength == "strong"
        if upgraded:
            flag.strength = "strong"
        entry = flag.ledger_entry
        if entry is None or (upgraded and entry.resolution == "unfounded"):
            # A new flag opens its entry; a weak match closed as a namesake is opened again
            # when a later list names the person by ID number.
            household = households.get(flag.household_id) or db.session.get(
                Household, flag.household_id
            )
            households[household.id] = household
            flag.ledger_entry = ledger.open_entry(
                household=household,
                category=flag.category,
                source="crosscheck",
                source_ref=f"flag:{flag.id}:{flag.strength}",
                actions=["resurvey"],
                description=_describe(list_kind, match, source),
                member_id=match.person.id if match.person.kind == "member" else None,
                found_by=actor,
                found_on=today,
            )
            summary.households.add(household.id)
        db.session.add(CrosscheckMatch(flag_id=flag.id, row_id=row.id, strength=match.strength))
    imported.matched_rows = summary.matched_rows = len(stored_rows)
    imported.new_flags = summary.new_flags
    audit.record(
        "crosscheck.import",
        actor=actor,
        object_type="crosscheck_list",
        object_id=imported.id,
        ip=ip,
        detail={
            "kind": kind,
            "sha256": digest,
            "rows": summary.rows,
            "matched_rows": summary.matched_rows,
            "strong": summary.strong,
            "weak": summary.weak,
            "new_flags": summary.new_flags,
            "kept": imported.kept_path is not None,
        },
    )
    ledger.mark_changed(summary.households)
    db.session.commit()
    return summary


# ---- reading ------------------------------------------------------------------------------


def _rows_in_scope(user: User) -> Select:
    """Return a select of the ids of the stored rows behind a flag of a household in the
    user's region: of a list, the part that is this user's business."""
    return (
        select(CrosscheckMatch.row_id)
        .join(CrosscheckFlag, CrosscheckFlag.id == CrosscheckMatch.flag_id)
        .where(
            CrosscheckFlag.household_id.in_(
                scoped_households(user).with_only_columns(Household.id)
            )
        )
    )


def _lists_in_scope(user: User) -> Select:
    """Return a select of the lists a user may open: imported by someone of the user's region
    (a list matching nobody too), or holding a row about one of the region's households (a
    list the admin matched against every county). Another county's list is none of theirs:
    its rows name that county's people."""
    importers = (
        select(User.id)
        .join(Region, Region.id == User.region_id)
        .where(Region.path.startswith(user.region_path or "-"))  # no region: none
    )
    with_our_rows = select(CrosscheckRow.list_id).where(CrosscheckRow.id.in_(_rows_in_scope(user)))
    return select(CrosscheckList).where(
        CrosscheckList.imported_by.in_(importers) | CrosscheckList.id.in_(with_our_rows)
    )


def lists(user: User, *, ip: str | None = None) -> list[CrosscheckList]:
    """Return the lists the user may open (_lists_in_scope), newest first (county
    supervisors and admins). Audited."""
    require_county_auditor(user)
    result = db.session.scalars(
        _lists_in_scope(user).order_by(
            CrosscheckList.imported_at.desc(), CrosscheckList.id.desc()
        )
    ).all()
    audit.record(
        "crosscheck.lists",
        actor=user,
        object_type="crosscheck_list",
        object_id="*",
        ip=ip,
        detail={"count": len(result)},
    )
    db.session.commit()
    return result


def get_list(user: User, list_id: int, *, ip: str | None = None) -> tuple[CrosscheckList, list]:
    """Return a list with its stored (matched) rows about the user's region (county
    supervisors and admins); another county's list is a 404, as one that does not exist.
    Audited."""
    require_county_auditor(user)
    imported = (
        db.session.scalar(_lists_in_scope(user).where(CrosscheckList.id == list_id))
        if 0 < list_id <= MAX_DB_INT
        else None
    )
    if imported is None:
        raise NotFound("名单不存在 / no such list")
    rows = db.session.scalars(
        select(CrosscheckRow)
        .where(CrosscheckRow.list_id == list_id, CrosscheckRow.id.in_(_rows_in_scope(user)))
        .order_by(CrosscheckRow.row_number)
    ).all()
    audit.record(
        "crosscheck.list.read",
        actor=user,
        object_type="crosscheck_list",
        object_id=list_id,
        ip=ip,
        detail={"rows": len(rows)},
    )
    db.session.commit()
    return imported, rows


def flags_in_scope(user: User) -> Select:
    """Return a select of the flags of households in the user's scope."""
    ledger.require_supervisor(user)
    return select(CrosscheckFlag).where(
        CrosscheckFlag.household_id.in_(scoped_households(user).with_only_columns(Household.id))
    )


#: The one rule of an active flag (the audit queue, the flag list's state=active, the review
#: queue's "flagged by audit"): its ledger entry is not closed yet.
FLAG_IS_ACTIVE = CrosscheckFlag.ledger_entry_id.in_(
    select(LedgerEntry.id).where(LedgerEntry.state != "closed")
)


def active_flag_households():
    """Return a select of the households with an active flag (any scope: callers add theirs)."""
    return select(CrosscheckFlag.household_id).where(FLAG_IS_ACTIVE)


def flags(
    user: User, filters: dict, *, limit: int = 100, offset: int = 0, ip: str | None = None
) -> dict:
    """Return a page of flags in scope (filters: household_id, category, list_kind, strength,
    township_code, state = active|closed), newest first. Audited."""
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid("limit 超出范围 / limit out of range", errors={"limit": [f"1..{MAX_PAGE}"]})
    query = flags_in_scope(user)
    for key in ("household_id", "category", "list_kind", "strength"):
        if filters.get(key) is not None:
            query = query.where(getattr(CrosscheckFlag, key) == filters[key])
    if filters.get("township_code"):
        villages = village_filter(user, township=filters["township_code"])
        query = query.where(
            CrosscheckFlag.household_id.in_(
                select(Household.id).where(Household.village_id.in_(villages))
            )
        )
    if filters.get("state") == "active":
        query = query.where(FLAG_IS_ACTIVE)
    elif filters.get("state") == "closed":
        query = query.where(
            CrosscheckFlag.ledger_entry_id.in_(
                select(LedgerEntry.id).where(LedgerEntry.state == "closed")
            )
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = db.session.scalars(
        query.order_by(CrosscheckFlag.id.desc())
        .limit(limit)
        .offset(offset)
        .options(
            selectinload(CrosscheckFlag.matches).selectinload(CrosscheckMatch.row),
            selectinload(CrosscheckFlag.ledger_entry),
        )
    ).all()
    people = _people_of(page)
    audit.record(
        "crosscheck.flags",
        actor=user,
        object_type="crosscheck_flag",
        object_id="*",
        ip=ip,
        detail={"count": len(page), "households": sorted({f.household_id for f in page})},
    )
    db.session.commit()
    return {"flags": [flag_view(f, people) for f in page], "total": total}


def _people_of(page: list[CrosscheckFlag]) -> dict[str, dict]:
    """Return the names of the flagged members and supporters, and their households."""
    ids = {f.person_id for f in page}
    names = {
        pid: {"name": name}
        for pid, name in db.session.execute(
            select(Member.id, Member.name).where(Member.id.in_(ids))
        )
    }
    names.update(
        {
            pid: {"name": name}
            for pid, name in db.session.execute(
                select(Supporter.id, Supporter.name).where(Supporter.id.in_(ids))
            )
        }
    )
    households = {
        h.id: h
        for h in db.session.scalars(
            select(Household)
            .where(Household.id.in_({f.household_id for f in page}))
            .options(selectinload(Household.village).selectinload(Region.parent))
        )
    }
    for flag in page:
        household = households[flag.household_id]
        names.setdefault(flag.person_id, {"name": ""})["household"] = household
    return names


def flag_view(flag: CrosscheckFlag, people: dict[str, dict]) -> dict:
    """Return a flag as the API and the console show it (the matched rows' details included:
    they concern this household; whole lists stay with the county)."""
    person = people.get(flag.person_id, {})
    household = person.get("household")
    entry = flag.ledger_entry
    return {
        "id": flag.id,
        "household_id": flag.household_id,
        "household_code": household.code if household else None,
        "village": household.village.name if household else None,
        "township": household.village.parent.name
        if household and household.village.parent
        else None,
        "person_kind": flag.person_kind,
        "person_id": flag.person_id,
        "person_name": person.get("name", ""),
        "list_kind": flag.list_kind,
        "list_label": audit_lists.LIST_KINDS[flag.list_kind].label,
        "category": flag.category,
        "category_label": category_label(flag.category),
        "strength": flag.strength,
        "ledger_entry_id": entry.id if entry else None,
        "ledger_state": entry.state if entry else None,
        "created_at": flag.created_at,
        "matches": [
            {
                "list_id": m.row.list_id,
                "row_number": m.row.row_number,
                "strength": m.strength,
                "name": m.row.name,
                "birth_date": m.row.birth_date.isoformat(),
                "detail": m.row.detail,
            }
            for m in flag.matches
        ],
    }


def flagged_households(user: User, *, ip: str | None = None) -> list[dict]:
    """Return the households in scope with active flags: the console's audit queue. Audited."""
    query = (
        flags_in_scope(user)
        .where(FLAG_IS_ACTIVE)
        .with_only_columns(
            CrosscheckFlag.household_id,
            func.count(CrosscheckFlag.id),
            func.sum(case((CrosscheckFlag.strength == "strong", 1), else_=0)),
        )
        .group_by(CrosscheckFlag.household_id)
    )
    counts = {hid: (n, strong or 0) for hid, n, strong in db.session.execute(query)}
    households = db.session.scalars(
        select(Household)
        .where(Household.id.in_(counts))
        .options(selectinload(Household.village).selectinload(Region.parent))
        .order_by(Household.code)
    ).all()
    audit.record(
        "crosscheck.queue",
        actor=user,
        object_type="household",
        object_id="*",
        ip=ip,
        detail={"count": len(households)},
    )
    db.session.commit()
    return [
        {"household": h, "flags": counts[h.id][0], "strong": counts[h.id][1]} for h in households
    ]


# The ID numbers (of the "numbers" list) an imported death list names: the survey checks'
# AssessmentContext.deceased_id_numbers, asked within services/forms.py's one fact
# statement. Only rows that matched someone are stored, so a person registered after a list
# was imported is found once the list is imported again.
ON_DEATH_LISTS = (
    select(CrosscheckRow.id_number)
    .join(CrosscheckList, CrosscheckList.id == CrosscheckRow.list_id)
    .where(CrosscheckList.kind == "deaths",
           CrosscheckRow.id_number.in_(bindparam("numbers", expanding=True)))
)
