"""The console's view of households: a searchable list and one household's whole file.

Lists never show ID numbers; the household page does, and reading it is audited (through
services.households.get and services.conflicts.history). Every query starts from
services.scope.scoped_households.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import selectinload

from .. import county_clock
from ..domain.audit_categories import category_label
from ..domain.record_form import RECORD_FORM_ID
from ..extensions import db
from ..models import Conflict, Household, Member, Submission, User
from ..models.household import HOUSEHOLD_STATUSES
from . import conflicts, crosscheck, households, ledger
from .household_record import to_record
from .pagination import Page, paginate
from .region_tree import names, village_filter
from .scope import scoped_households

FLAGS = ("staff_relative", "disputed", "open_conflict", "review_due", "never_visited")
SORTS = ("code", "next_review_on", "updated_at", "last_visit")
REVIEW_DUE_DAYS = 30


@dataclass
class HouseholdRow:
    """One line of the household list."""

    household: Household
    township: str
    village: str
    head_name: str
    member_count: int
    open_conflicts: int
    last_visit: datetime | None


@dataclass
class Evidence:
    """The photos and signatures of one submission, as the phone described them."""

    photos: list = field(default_factory=list)
    signatures: list = field(default_factory=list)


# A visit is a survey done at the door and not rejected, dated when it was done: a record
# edit is no visit, and a survey sent days later was still done on its day.
_VISITED_AT = func.max(func.coalesce(Submission.completed_at, Submission.received_at))
_IS_VISIT = (Submission.form_id != RECORD_FORM_ID) & (Submission.review_state != "rejected")


def _last_visit():
    """Return a correlated subquery: when the household was last visited."""
    return (
        select(_VISITED_AT)
        .where(Submission.household_id == Household.id, _IS_VISIT)
        .correlate(Household)
        .scalar_subquery()
    )


def search(
    user: User,
    *,
    q: str = "",
    township: str | None = None,
    village: str | None = None,
    status: str | None = None,
    flags: tuple[str, ...] = (),
    sort: str = "code",
    descending: bool = False,
    page: int = 1,
    per_page: int = 50,
    today: date | None = None,
) -> Page:
    """Return one page of the households in scope that match the filters, as HouseholdRows."""
    today = today or county_clock.today()
    query = scoped_households(user)
    if township or village:
        query = query.where(Household.village_id.in_(village_filter(user, township, village)))
    if status in HOUSEHOLD_STATUSES:
        query = query.where(Household.status == status)
    text = q.strip()[:64]
    if text:
        like = f"%{text}%"
        query = query.where(
            or_(
                Household.code.like(like),
                Household.address.like(like),
                exists().where(
                    Member.household_id == Household.id,
                    or_(Member.name.like(like), Member.id_number == text.upper()),
                ),
            )
        )
    if "staff_relative" in flags:
        query = query.where(Household.staff_relative.is_(True))
    if "disputed" in flags:
        query = query.where(Household.disputed.is_(True))
    if "open_conflict" in flags:
        query = query.where(
            exists().where(Conflict.household_id == Household.id, Conflict.status == "open")
        )
    if "review_due" in flags:
        query = query.where(
            Household.next_review_on.is_not(None),
            Household.next_review_on <= today + timedelta(days=REVIEW_DUE_DAYS),
        )
    if "never_visited" in flags:
        query = query.where(~exists().where(Submission.household_id == Household.id, _IS_VISIT))
    order = {
        "code": Household.code,
        "next_review_on": Household.next_review_on,
        "updated_at": Household.updated_at,
        "last_visit": _last_visit(),
    }.get(sort, Household.code)
    # Households without the value (never visited, no review date) come last either way,
    # on both engines (PostgreSQL put them first when descending).
    query = query.order_by((order.desc() if descending else order.asc()).nulls_last(),
                           Household.id)
    result = paginate(query.options(selectinload(Household.members)), page, per_page)
    result.items = _rows(result.items)
    return result


def _rows(page_households: list[Household]) -> list[HouseholdRow]:
    """Decorate a page of households with names, counts and last visits (one query each)."""
    ids = [h.id for h in page_households]
    region_names = names({h.village_id for h in page_households})
    open_counts = conflicts.open_conflict_counts(ids) if ids else {}
    last_visits = dict(
        db.session.execute(
            select(Submission.household_id, _VISITED_AT)
            .where(Submission.household_id.in_(ids), _IS_VISIT)
            .group_by(Submission.household_id)
        ).all()
    )
    rows = []
    for household in page_households:
        township, village = region_names.get(household.village_id, ("", ""))
        rows.append(
            HouseholdRow(
                household=household,
                township=township,
                village=village,
                head_name=head_name(household),
                member_count=sum(1 for m in household.members if m.co_resident and not m.died_on),
                open_conflicts=open_counts.get(household.id, 0),
                last_visit=last_visits.get(household.id),
            )
        )
    return rows


def head_name(household: Household) -> str:
    """Return the name of the household's head (or its first member)."""
    for member in household.members:
        if member.relation == "self":
            return member.name
    return household.members[0].name if household.members else ""


def evidence(submission: Submission) -> Evidence:
    """Split a submission's media into photos and signatures, using what its answers say."""
    signature_hashes = set()
    for value in submission.answers.values():
        if isinstance(value, dict) and "role" in value and "sha256" in value:
            signature_hashes.add(str(value["sha256"]).lower())
    result = Evidence()
    for item in submission.media:
        if item.sha256 in signature_hashes or item.category == "signature":
            result.signatures.append(item)
        else:
            result.photos.append(item)
    return result


def signature_answers(submission: Submission) -> dict[str, dict]:
    """Return {sha256: signature answer} (role, signer name) of a submission."""
    found = {}
    for value in submission.answers.values():
        if isinstance(value, dict) and "role" in value and "sha256" in value:
            found[str(value["sha256"]).lower()] = value
    return found


def audit_facts(user: User, household: Household, *, ip: str | None = None) -> dict:
    """Return the household's cross-check flags and ledger entries, the ones still open
    first (flags: newest first; entries: overdue first, then by deadline), as their own
    screens show them: scoped and audited by services.crosscheck and services.ledger.

    A flag is open while its ledger entry is not closed (crosscheck.FLAG_IS_ACTIVE)."""
    flags = crosscheck.flags(
        user, {"household_id": household.id}, limit=crosscheck.MAX_PAGE, ip=ip)["flags"]
    flags.sort(key=lambda f: f["ledger_state"] in (None, "closed"))
    entries = list(ledger.list_entries(
        user, {"household_id": household.id}, limit=ledger.MAX_PAGE, ip=ip)["entries"])
    entries.sort(key=lambda e: e.state == "closed")
    members = {m.id: m.name for m in household.members}
    return {
        "flags": flags,
        "entries": [
            {"entry": e, "overdue": ledger.is_overdue(e), "member": members.get(e.member_id),
             "category_label": category_label(e.category)}
            for e in entries
        ],
        "open_flags": sum(1 for f in flags if f["ledger_state"] not in (None, "closed")),
        "open_entries": sum(1 for e in entries if e.state != "closed"),
    }


def household_file(user: User, household_id: int, *, ip: str | None = None) -> dict:
    """Return everything the household page shows. Audited (a read of personal data). A
    household outside the user's region is NotFound, as one that does not exist."""
    household = households.get(user, household_id, ip=ip, as_missing=True)
    history = conflicts.history(user, household_id, ip=ip)
    visits = db.session.scalars(
        select(Submission)
        .where(Submission.household_id == household_id)
        .order_by(Submission.received_at.desc())
        .options(selectinload(Submission.media))
    ).all()
    actor_ids = {v["actor_id"] for v in history["versions"] if v["actor_id"]}
    for visit in visits:
        actor_ids.add(visit.submitted_by)
        actor_ids.update(i for i in visit.investigator_ids or [] if isinstance(i, int))
    people = {
        u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))
    }
    township, village = names({household.village_id}).get(household.village_id, ("", ""))
    # Names for the paths of the timeline: the current record, plus items since removed.
    record = to_record(household)
    for version in history["versions"]:
        for change in version["changes"]:
            section = change["path"].split(".")[0]
            removed = change["old"] if isinstance(change["old"], dict) else change["new"]
            if section in record and isinstance(removed, dict) and change["path"].count(".") == 1:
                record[section].setdefault(change["path"].split(".")[1], removed)
    return {
        "record": record,
        "household": household,
        "township": township,
        "village": village,
        "versions": history["versions"],
        "conflicts": history["conflicts"],
        "open_conflicts": history["open_conflicts"],
        "visits": [(visit, evidence(visit)) for visit in visits],
        "people": people,
        "audit": audit_facts(user, household, ip=ip),
    }

