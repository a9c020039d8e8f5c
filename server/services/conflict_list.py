"""Open merge conflicts as a supervisor works through them: each with both submissions'
photos, so the decision rests on the evidence. Resolving goes through services.conflicts."""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Conflict, Household, Submission, User
from . import conflicts as conflict_service
from .errors import Invalid
from .household_directory import evidence, head_name
from .household_record import to_record
from .pagination import Page, paginate
from .region_tree import names, village_filter
from .scope import scoped_households
from .transactions import commit_keeping_loaded


@dataclass
class ConflictCase:
    """One open conflict with what the page needs to decide it."""

    conflict: Conflict
    household: Household
    township: str
    village: str
    head_name: str
    record: dict
    submitted: Submission
    server: Submission | None
    submitted_photos: list = field(default_factory=list)
    server_photos: list = field(default_factory=list)


def server_instance(conflict: Conflict) -> str | None:
    """Return the instance id of the submission whose value stands (when one wrote it)."""
    cause, _, ref = (conflict.server_source or "").partition(":")
    return ref if cause in ("submission", "revert") and ref else None


def open_cases(
    user: User,
    *,
    household_id: int | None = None,
    township: str | None = None,
    village: str | None = None,
    page: int = 1,
    per_page: int = 25,
    ip: str | None = None,
) -> Page:
    """Return one page of the open conflicts in scope, oldest first, as ConflictCases (the
    read of sensitive values audited; commits)."""
    query = (
        select(Conflict)
        .join(Household, Household.id == Conflict.household_id)
        .where(
            Conflict.status == "open",
            Household.id.in_(scoped_households(user).with_only_columns(Household.id)),
        )
        .order_by(Conflict.created_at, Conflict.id)
    )
    if household_id is not None:
        query = query.where(Conflict.household_id == household_id)
    if township or village:
        query = query.where(Household.village_id.in_(village_filter(user, township, village)))
    result = paginate(query, page, per_page)
    conflicts = result.items
    households = {
        h.id: h
        for h in db.session.scalars(
            select(Household)
            .where(Household.id.in_({c.household_id for c in conflicts}))
            .options(selectinload(Household.members))
        )
    }
    wanted = {c.submission_id for c in conflicts}
    refs = {server_instance(c) for c in conflicts} - {None}
    submissions = db.session.scalars(
        select(Submission)
        .where((Submission.id.in_(wanted)) | (Submission.instance_id.in_(refs)))
        .options(selectinload(Submission.media))
    ).all()
    by_id = {s.id: s for s in submissions}
    by_instance = {s.instance_id: s for s in submissions}
    region_names = names({h.village_id for h in households.values()})
    records = {hid: to_record(h) for hid, h in households.items()}
    cases = []
    for conflict in conflicts:
        household = households[conflict.household_id]
        submitted = by_id[conflict.submission_id]
        server = by_instance.get(server_instance(conflict) or "")
        township_name, village_name = region_names.get(household.village_id, ("", ""))
        cases.append(
            ConflictCase(
                conflict=conflict,
                household=household,
                township=township_name,
                village=village_name,
                head_name=head_name(household),
                record=records[household.id],
                submitted=submitted,
                server=server,
                submitted_photos=[m for m in evidence(submitted).photos if m.received_at],
                server_photos=[m for m in evidence(server).photos if m.received_at]
                if server
                else [],
            )
        )
    result.items = cases
    conflict_service.audit_sensitive_read(user, conflicts, ip=ip)
    commit_keeping_loaded()
    return result


def parse_value(text: str, examples: list) -> object:
    """Turn a typed value into the type of the values it replaces (number, yes/no, text)."""
    text = (text or "").strip()
    if text == "":
        return None
    kinds = {type(v) for v in examples if v is not None}
    if bool in kinds:
        return text.lower() in ("1", "true", "yes", "是", "y")
    if kinds & {int, float}:
        try:
            number = float(text)
        except ValueError:
            return text  # the service refuses it with a field message
        return int(number) if number.is_integer() and int in kinds else number
    return text


def resolve(
    user: User,
    conflict_id: int,
    *,
    choice: str | None,
    typed: str,
    seen_version: int,
    comment: str,
    ip: str | None = None,
) -> Conflict:
    """Resolve a conflict with a side taken or a typed value (services.conflicts commits)."""
    conflict = db.session.get(Conflict, conflict_id)
    value = None
    if choice not in ("server", "submitted", "base"):
        if not (typed or "").strip():
            # "Use this value" with nothing typed (or Enter pressed in the note, which the
            # form's first button answers) would blank the field: a side is taken instead.
            raise Invalid(
                "请填写要采用的值，或选择一方的值 / type the value to use, or take one side's value",
                code="conflict.no_value",
                errors={"value": ["required"]},
            )
        choice = "value"
        examples = [conflict.base_value, conflict.server_value, conflict.submitted_value] if (
            conflict
        ) else []
        value = parse_value(typed, examples)
    return conflict_service.resolve(
        user, conflict_id, choice=choice, value=value, seen_version=seen_version,
        comment=comment.strip()[:2000], ip=ip,
    )
