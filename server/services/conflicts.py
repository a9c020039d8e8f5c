"""Conflicts a merge left for a supervisor, their resolution, and a household's history."""

from sqlalchemy import func, select

from ..domain import merge as merging
from ..domain.record import COLLECTION_FIELDS, get_value, shows_sensitive, split_path
from ..extensions import db
from ..models import Conflict, Household, HouseholdVersion, Submission, User
from ..models.clock import utcnow
from . import audit, sync
from .errors import Conflict as ConflictError
from .errors import Forbidden, Invalid, NotFound
from .household_record import apply_record, to_record
from .locks import begin_household_write
from .scope import covers_village, scoped_households
from .versions import record_version


def open_conflict_counts(household_ids: list[int]) -> dict[int, int]:
    """Return {household_id: open conflicts} (the flag the console filters on)."""
    rows = db.session.execute(
        select(Conflict.household_id, func.count())
        .where(Conflict.household_id.in_(household_ids), Conflict.status == "open")
        .group_by(Conflict.household_id)
    )
    return {household_id: count for household_id, count in rows}


def audit_sensitive_read(user: User, conflicts: list[Conflict], *, ip: str | None) -> None:
    """Audit that `user` was shown conflicts whose values are sensitive (an ID number, health,
    an income ...): deciding one needs its values in full, so the read is recorded instead,
    as opening a household's page is. Nothing is written when none is."""
    shown = [c for c in conflicts
             if shows_sensitive(c.path, c.base_value, c.server_value, c.submitted_value)]
    if not shown:
        return
    audit.record("conflicts.read", actor=user, object_type="conflict",
                 object_id=shown[0].id, ip=ip,
                 detail={"conflicts": [c.id for c in shown],
                         "households": sorted({c.household_id for c in shown})})


def list_conflicts(user: User, *, status: str, household_id: int | None, limit: int,
                   ip: str | None = None) -> dict:
    """Return conflicts in the user's scope, with each household's current version (the
    read of sensitive values audited)."""
    sync.release_overdue()
    in_scope = scoped_households(user).with_only_columns(Household.id)
    query = select(Conflict).where(Conflict.household_id.in_(in_scope))
    if status != "all":
        query = query.where(Conflict.status == status)
    if household_id is not None:
        query = query.where(Conflict.household_id == household_id)
    conflicts = db.session.scalars(query.order_by(Conflict.id).limit(limit)).all()
    ids = {c.household_id for c in conflicts}
    versions = dict(db.session.execute(
        select(Household.id, Household.version).where(Household.id.in_(ids))).all())
    audit_sensitive_read(user, conflicts, ip=ip)
    db.session.commit()
    return {"conflicts": conflicts, "household_versions": {str(k): v for k, v in versions.items()}}


def _value_errors(path: str, value, household_id: int) -> dict[str, list[str]]:
    """Return why a resolution value does not fit its path (column types, required fields)."""
    section, item_id, name = split_path(path)
    if section == "household":
        changes = {"household": {name: value}}
    elif name is not None:
        changes = {section: {item_id: {name: value}}}
    elif value is None:
        return {}
    elif not isinstance(value, dict):
        return {"value": ["must be an object (the whole item) or null"]}
    else:
        changes = {section: {item_id: {k: v for k, v in value.items()
                                       if k in COLLECTION_FIELDS[section]}}}
        missing = sync.missing_required(changes, {})
        missing.update(sync.items_elsewhere(changes, household_id))
        if missing:
            return {"value": [m for messages in missing.values() for m in messages]}
    errors = sync.change_errors(changes)
    return {"value": [m for messages in errors.values() for m in messages]} if errors else {}


def resolve(user: User, conflict_id: int, *, choice: str, value=None,
            seen_version: int, comment: str = "", ip: str | None = None) -> Conflict:
    """Decide a conflict: keep the server value, take a side, or a new value. Commits.

    `seen_version` is the household version the supervisor looked at: if the conflicting
    field changed after it, the decision was made on a stale view and is refused (409).
    """
    conflict = db.session.get(Conflict, conflict_id)
    household = db.session.get(Household, conflict.household_id) if conflict else None
    if conflict is None or not covers_village(user, household.village_id):
        raise NotFound("冲突不存在 / no such conflict")
    if user.role not in ("supervisor", "admin"):
        raise Forbidden("无权处理冲突 / only supervisors resolve conflicts")
    household = begin_household_write(conflict.household_id)
    conflict = db.session.scalar(select(Conflict).where(Conflict.id == conflict_id)
                                 .with_for_update().execution_options(populate_existing=True))
    if conflict.status != "open":
        raise ConflictError("冲突已处理 / the conflict is no longer open",
                            code="conflict.closed", errors={"status": [conflict.status]})
    if seen_version > household.version:
        raise Invalid("版本号无效 / unknown version",
                      errors={"seen_version": [f"the household is at {household.version}"]})
    changed_since = db.session.scalars(
        select(HouseholdVersion.version).where(
            HouseholdVersion.household_id == household.id,
            HouseholdVersion.version > seen_version)
        .order_by(HouseholdVersion.version)
    ).all()
    for version in changed_since:
        changes = db.session.scalar(select(HouseholdVersion.changes).where(
            HouseholdVersion.household_id == household.id, HouseholdVersion.version == version))
        if any(merging.paths_overlap(conflict.path, c["path"]) for c in changes):
            raise ConflictError(
                "此字段已被修改，请刷新后再处理 / the field changed since you looked; reload",
                code="conflict.stale",
                errors={"seen_version": [f"the household is at {household.version}"]})
    current = to_record(household)
    section, item_id, name = split_path(conflict.path)
    if choice == "server":
        chosen = get_value(current, conflict.path)
    elif choice == "value":
        chosen = value
    else:
        chosen = {"submitted": conflict.submitted_value, "base": conflict.base_value}[choice]
    if name is not None and item_id is not None and item_id not in current[section]:
        raise ConflictError("该项已被删除 / the item no longer exists; resolve the item itself",
                            code="conflict.stale")
    errors = _value_errors(conflict.path, chosen, household.id)
    if errors:
        raise Invalid("取值无效 / invalid value", errors=errors)
    if conflict.path == "household.village_id" and chosen != household.village_id:
        # A move: to a village of the resolver's region, as a survey's (sync).
        sync.village_in_scope(chosen, user, "value")
    record = merging.set_value(current, conflict.path, chosen)
    if record != current:
        apply_record(household, record)
        record_version(household, before=current, cause="conflict", actor=user,
                       source_ref=f"conflict:{conflict.id}", note=comment or None)
    conflict.status = "resolved"
    conflict.resolution_value = chosen
    conflict.resolved_by = user.id
    conflict.resolved_at = utcnow()
    conflict.comment = comment or None
    sync.stamp([conflict.submission])
    audit.record("conflict.resolve", actor=user, object_type="conflict", object_id=conflict.id,
                 ip=ip, detail={"household_id": household.id, "path": conflict.path,
                                "choice": choice, "version": household.version})
    db.session.commit()
    return conflict


def history(user: User, household_id: int, *, ip: str | None = None) -> dict:
    """Return a household's versions (newest first) with their sources, and its conflicts."""
    household = db.session.get(Household, household_id)
    if household is None:
        raise NotFound("户不存在 / no such household")
    if not covers_village(user, household.village_id):
        raise Forbidden("此户不在您的负责范围内 / household outside your region",
                        code="scope.forbidden")
    versions = db.session.scalars(
        select(HouseholdVersion).where(HouseholdVersion.household_id == household_id)
        .order_by(HouseholdVersion.version.desc())
    ).all()
    refs = {v.source_ref for v in versions if v.cause in ("submission", "revert")}
    submissions = {
        s.instance_id: s for s in db.session.scalars(
            select(Submission).where(Submission.instance_id.in_(refs)))
    }
    conflicts = db.session.scalars(
        select(Conflict).where(Conflict.household_id == household_id).order_by(Conflict.id)
    ).all()
    entries = []
    for version in versions:
        source = submissions.get(version.source_ref)
        entries.append({
            "version": version.version, "created_at": version.created_at,
            "cause": version.cause, "source_ref": version.source_ref,
            "actor_id": version.actor_id, "note": version.note, "changes": version.changes,
            "submission": None if source is None else {
                "instance_id": source.instance_id, "form_id": source.form_id,
                "form_version": source.form_version,
                "investigator_ids": source.investigator_ids, "device_id": source.device_id,
                "completed_at": source.completed_at.isoformat() if source.completed_at else None,
                "review_state": source.review_state,
                "merge_base": source.merge_base,
            },
        })
    audit.record("household.history", actor=user, object_type="household",
                 object_id=household_id, ip=ip)
    db.session.commit()
    return {"household_id": household_id, "version": household.version,
            "open_conflicts": sum(1 for c in conflicts if c.status == "open"),
            "versions": entries, "conflicts": conflicts}
