"""Receiving submissions from the phones: each exactly once, merged under the household lock.

The life of a submission (docs/architecture.md, Submissions):

1. Validated without touching anything: structure (schema), form and answers, the bound
   changes, media list, scope.
2. Under the household's lock (services/locks.py) it is looked up by instance_id again: a
   retry with the same canonical body gets the stored outcome (200), a different body 409
   ``submission.changed``. The unique constraint on instance_id backs this up when two
   copies race through different locks.
3. Merged (domain/merge.py) against its *effective base*, or held while an earlier link of
   the same phone's chain (``previous_instance_id``) has not been merged yet.
4. One commit: the submission, its media slots, the new household version, conflicts, the
   audit entry. Merging a link releases the held links after it, in the same transaction.

Why the effective base of a chained link is the phone's own view: a phone that edited a
household twice offline made its second survey on top of its first one, not on top of the
server's merged result (which may hold another team's change the phone never saw). Using
the server's result as the base would make that other change look like "the base" and the
second survey would overwrite it silently; using the bare base_version would make the
phone's own first edit look like someone else's, a false conflict.
"""

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from flask import current_app
from sqlalchemy import Boolean as BooleanType
from sqlalchemy import (
    Date,
    Integer,
    Numeric,
    String,
    bindparam,
    inspect,
    literal,
    select,
    union_all,
)
from sqlalchemy import Float as FloatType
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from ..domain import merge as merging
from ..domain.binding import BindingError, bound_changes
from ..domain.record import COLLECTION_FIELDS, HOUSEHOLD_FIELDS, diff, empty_record
from ..domain.record_form import RECORD_FORM_ID, RECORD_FORM_VERSION, record_form
from ..extensions import db
from ..models import (
    Conflict,
    Household,
    HouseholdVersion,
    Region,
    Submission,
    SubmissionMedia,
    User,
)
from ..models.clock import utcnow
from . import audit, forms, ledger, merge_store
from .auth import Caller
from .errors import Conflict as ConflictError
from .errors import Forbidden, Invalid, NotFound
from .household_record import ITEM_MODELS, as_stored, read_record, write_record
from .locks import begin_household_write, is_sqlite, lock_household
from .plain_sql import Plain
from .register import register_household
from .scope import covers_village, household_in_scope, refuse_outside
from .transactions import commit_keeping_loaded
from .versions import SNAPSHOT_AT, next_change_seq, record_version, snapshot_at

log = logging.getLogger(__name__)
MAX_CHAIN = 1000

# The statements every submission runs, built once: building a statement and its cache key
# costs about as much Python as running it. Those that load no ORM objects and need nothing
# flushed first are plain_sql.Plain: compiled once, run on the DB-API cursor.
_BY_INSTANCE = select(Submission).where(Submission.instance_id == bindparam("instance_id"))
_ID_BY_INSTANCE = Plain(select(Submission.id).where(
    Submission.instance_id == bindparam("instance_id")))
_HELD_AFTER = select(Submission).where(
    Submission.previous_instance_id == bindparam("instance_id"),
    Submission.merge_state == "held").order_by(Submission.id)
# Whether there are any: usually not, and a plain probe tells it without the ORM's loading.
_ANY_HELD_AFTER = Plain(
    _HELD_AFTER.with_only_columns(Submission.id).order_by(None).limit(1))
# Under the lock, one statement for two questions about a new submission's instance_id:
# is it stored already (a copy got in since it arrived), and do held links follow it? Both
# are usually no.
_STORED_OR_FOLLOWED = Plain(union_all(
    _ID_BY_INSTANCE.statement.with_only_columns(literal("stored").label("kind")),
    _HELD_AFTER.with_only_columns(literal("held").label("kind")).order_by(None),
))
_KNOWN_USERS = Plain(select(User.id).where(User.id.in_(bindparam("ids", expanding=True))))


@functools.cache
def _items_elsewhere(sections: tuple[str, ...]) -> Plain:
    """The statement that finds which of the given collections' ids belong to another
    household: one SELECT per collection that has ids, joined in one round trip."""
    return Plain(union_all(*[
        select(literal(section).label("section"), ITEM_MODELS[section].id.label("id")).where(
            ITEM_MODELS[section].id.in_(bindparam(f"ids_{section}", expanding=True)),
            ITEM_MODELS[section].household_id != bindparam("own"))
        for section in sections
    ]))

# Takes the row locks only: the rows are not loaded as objects.
_LOCK_HELD_AFTER = (
    select(Submission.instance_id)
    .where(Submission.previous_instance_id.in_(bindparam("frontier", expanding=True)),
           Submission.merge_state == "held")
    .with_for_update()
)
# Before the lock a submission needs only these of its household, as a plain row: the
# scope (the village's path), what the assessment needs (forms.HouseholdFacts), the row's
# record fields with its version (a lone re-visit's merge is worked out before the lock on
# them: _foresee) and, in the same round trip, the record at the phone's base_version
# (history never changes).
_HOUSEHOLD_PLACE = Plain(
    select(Household.id, *[getattr(Household, name) for name in HOUSEHOLD_FIELDS],
           Household.version,
           Region.code.label("village_code"), Region.path.label("village_path"),
           SNAPSHOT_AT.scalar_subquery().label("snapshot"))
    .join(Region, Household.village_id == Region.id)
    .where(Household.id == bindparam("household_id"))
)


# --- the body and its identity -------------------------------------------------------------


def canonical_hash(data: dict) -> str:
    """Return the SHA-256 of the loaded body as sorted-keys compact JSON (a retry hashes the
    same), written by orjson: the standard library's json took 3% of a merge's CPU here.

    Times are written as ISO 8601, anything else orjson does not know as str(); an integer
    beyond 64 bits (orjson refuses it) is hashed as the standard library writes it.
    """
    try:
        text = orjson.dumps(data, option=_HASHED_JSON, default=str)
    except orjson.JSONEncodeError:
        return _hash_as_json_writes_it(data)
    return hashlib.sha256(text).hexdigest()


_HASHED_JSON = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _hash_as_json_writes_it(data: dict) -> str:
    """Return the body's hash as stored before 2026-11-24: the standard library's json.

    It writes the same text as canonical_hash except for numbers in exponent form (json
    writes 1e-05, orjson 0.00001): a stored hash that is not canonical_hash's may be this.
    """
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))
    return hashlib.sha256(text.encode()).hexdigest()


def by_instance(instance_id: str | None) -> Submission | None:
    """Return the submission with this instance_id, if any."""
    if instance_id is None:
        return None
    return db.session.scalar(_BY_INSTANCE, {"instance_id": instance_id})


def _stored(instance_id: str) -> Submission | None:
    """Return the stored submission with this instance_id, checking cheaply first.

    Nearly every instance_id a phone sends is new: one indexed lookup of a single column
    answers that without building an ORM object.
    """
    found = _ID_BY_INSTANCE.scalar({"instance_id": instance_id})
    return None if found is None else by_instance(instance_id)


def _stored_or_followed(instance_id: str) -> tuple[Submission | None, bool]:
    """Return, under the lock, the stored submission with this instance_id (if any) and
    whether held links follow it: _stored's probe and _held_successors' in one round trip."""
    kinds = {row.kind for row in _STORED_OR_FOLLOWED.execute({"instance_id": instance_id})}
    return (by_instance(instance_id) if "stored" in kinds else None), "held" in kinds


def _replay(existing: Submission, body_hash: str, data: dict) -> Submission:
    """Return the stored submission for an identical retry (the body `data`, hashed
    `body_hash`); refuse a changed body."""
    if existing.body_hash != body_hash and existing.body_hash != _hash_as_json_writes_it(data):
        raise ConflictError(
            "同一问卷编号已提交了不同内容 / this instance_id was already submitted with a "
            "different body",
            code="submission.changed",
            errors={"instance_id": [existing.instance_id]},
        )
    return existing


# --- forms (integration point with the forms issue) ------------------------------------------


def load_form(form_id: str, form_version: str) -> dict:
    """Return the form definition a submission names; unknown form or version → 422.

    The built-in record form (domain/record_form.py) is always there; survey forms come
    from the forms catalogue (services/forms.py).
    """
    if (form_id, form_version) == (RECORD_FORM_ID, RECORD_FORM_VERSION):
        return record_form()
    return forms.get_form(form_id, form_version)


def _validate_answers(form: dict, answers: dict) -> None:
    """Check answers against the form with the forms service (types, required, constraints)."""
    if form.get("id") != RECORD_FORM_ID:
        forms.validate_answers(form, answers)


def _assess(form: dict, submission: Submission, household: forms.HouseholdFacts | None,
            seen: dict) -> dict | None:
    """Return the policy assessment of a merged submission (forms issue), or None.

    It is computed on the record the phone saw (`seen`, the effective base), which the
    assessment lays the answers over, exactly as the phone computed it; the investigator's
    conclusion is compared with that. A failing assessment never blocks the survey: the
    survey is kept, the failure logged, the assessment left empty.
    """
    if form.get("id") == RECORD_FORM_ID:
        return None
    # The submission's changes are its answers bound by its own form version (a published
    # version never changes): with that form they need not be worked out again.
    own_form = (form.get("id"), form.get("version")) == (submission.form_id,
                                                         submission.form_version)
    try:
        return forms.assess(form, submission.answers, seen, household, submission,
                            submission.changes if own_form else None)
    except Exception:
        log.exception("assessment of %s failed", submission.instance_id)
        return None


# --- validating the bound changes ------------------------------------------------------------


def _column_error(column, value) -> str | None:
    """Return why a JSON value cannot go into a column, or None when it can."""
    if value is None or (value == "" and isinstance(column.type, Date)):
        return None if column.nullable else "may not be empty"
    kind = column.type
    if isinstance(kind, BooleanType):
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(kind, Integer):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "must be a whole number"
    if isinstance(kind, FloatType | Numeric):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "must be a number"
    if isinstance(kind, Date):
        try:
            datetime.strptime(value, "%Y-%m-%d")
        except (TypeError, ValueError):
            return "must be a date YYYY-MM-DD"
        return None
    if isinstance(kind, String):
        if not isinstance(value, str):
            return "must be text"
        if kind.length and len(value) > kind.length:
            return f"at most {kind.length} characters"
    return None


@functools.cache
def _columns(model) -> dict:
    """Return the model's columns by attribute name."""
    return {c.key: c for c in inspect(model).columns}


def _required_fields(section: str) -> tuple[str, ...]:
    """Return the fields a new item of a collection must carry (NOT NULL, no default)."""
    columns = _columns(ITEM_MODELS[section])
    return tuple(
        name for name in COLLECTION_FIELDS[section]
        if not columns[name].nullable and columns[name].default is None
    )


def change_errors(changes: dict) -> dict[str, list[str]]:
    """Return {record path: [messages]} for values that do not fit their columns."""
    errors: dict[str, list[str]] = {}
    household_columns = _columns(Household)
    for name, value in changes.get("household", {}).items():
        if name == "code":
            errors["household.code"] = ["is set by the server"]
        elif message := _column_error(household_columns[name], value):
            errors[f"household.{name}"] = [message]
    for section in COLLECTION_FIELDS:
        columns = _columns(ITEM_MODELS[section])
        for item_id, item in changes.get(section, {}).items():
            if len(item_id) > 36:
                errors[f"{section}.{item_id[:40]}"] = ["item ids are UUIDs"]
                continue
            for name, value in (item or {}).items():
                if name in columns and (message := _column_error(columns[name], value)):
                    errors[f"{section}.{item_id}.{name}"] = [message]
    return errors


def missing_required(changes: dict, known: dict) -> dict[str, list[str]]:
    """Return errors for items that are new to `known` but lack a required field."""
    errors = {}
    for section in COLLECTION_FIELDS:
        required = _required_fields(section)
        for item_id, item in changes.get(section, {}).items():
            if item is None or item_id in known.get(section, {}):
                continue
            missing = [name for name in required if item.get(name) in (None, "")]
            if missing:
                errors[f"{section}.{item_id}"] = [f"a new item needs {', '.join(missing)}"]
    return errors


def items_elsewhere(changes: dict, household_id: int | None) -> dict[str, list[str]]:
    """Return errors for item ids the changes use that belong to another household.

    Item UUIDs are global keys: a phone cannot add to one household a member (or asset
    ...) that is registered in another, whatever its form says.
    """
    ids = {section: [item_id for item_id, item in changes.get(section, {}).items()
                     if item is not None] for section in ITEM_MODELS}
    ids = {section: values for section, values in ids.items() if values}
    if not ids:
        return {}
    # One round trip for every collection (a survey adds members, incomes and assets). Ids
    # are positive: with no household yet, "another household" is any household.
    rows = _items_elsewhere(tuple(ids)).execute({
        "own": -1 if household_id is None else household_id,
        **{f"ids_{section}": values for section, values in ids.items()},
    })
    order = list(ITEM_MODELS)
    return {f"{section}.{item_id}": ["this id belongs to another household"]
            for section, item_id in sorted(rows, key=lambda row: (order.index(row[0]), row[1]))}


# --- receiving -------------------------------------------------------------------------------


def village_in_scope(village_id, user: User | Caller, path: str) -> Region:
    """Return a village the user may place a household in; raise Invalid or Forbidden."""
    village = db.session.get(Region, village_id) if isinstance(village_id, int) else None
    if village is None or village.level != "village":
        raise Invalid("未知的村/社区 / unknown village", errors={path: ["no such village"]})
    if not covers_village(user, village.id):
        raise Forbidden("此村不在您的负责范围内 / village outside your region",
                        code="scope.forbidden")
    return village


def _household_in_scope(user: User | Caller, household_id: int, base_version: int | None
                        ) -> Row:
    """Return the place of a household the user may submit for, with its record at
    base_version (_HOUSEHOLD_PLACE's row), or refuse it as reading it would be refused."""
    row = _HOUSEHOLD_PLACE.first({"household_id": household_id, "version": base_version})
    refuse_outside(user, row.village_path if row is not None else None)
    return row


@dataclass
class Foreseen:
    """A lone re-visit's merge worked out before the lock, on the household as it was at
    `version` (its record `server`): the items it would add without a required field
    (`missing`) and, when there are none, the merge itself (`result`) with, when it
    changes something, the record the rows will hold (`after`, as write_record gives it)
    and the version's changes (`changes`, as record_version finds them).

    Every change to a household's record writes a new version (versions.record_version:
    a merge here, conflicts.resolve, review's revert, register_household; none changes
    the record otherwise), so under the lock a household still at `version` still holds
    `server`, and the merge is the one the lock would have worked out; at any other
    version it is worked out again under the lock (_receive). This moves the record's read
    and the merge out of the database's single writer lock on SQLite: decisions still rest
    on what is read under the lock (the version), so concurrent submissions still never
    lose an update.
    """

    version: int
    server: dict
    missing: dict[str, list[str]]
    result: merging.MergeResult | None
    after: dict | None = None
    changes: list[dict] | None = None


@dataclass
class Prepared:
    """A submission validated before any lock: the row to write and what was learnt."""

    submission: Submission
    form: dict
    checked_village: int | None  # the household's village when its scope was checked
    snapshot: dict | None  # the household at base_version (history never changes)
    assessed: bool  # the assessment is computed on the final base already
    foreseen: Foreseen | None = None  # a lone re-visit's merge, worked out before the lock


def _prepare(user: User | Caller, data: dict, body_hash: str) -> Prepared:
    """Validate everything that needs no lock and build the (unsaved) submission row.

    The lock serialises every write to a household (on SQLite: every write), so whatever
    can be done before it is done here: form checks, scope, the base snapshot, and for a
    lone submission even the assessment, whose base cannot change.
    """
    form = load_form(data["form_id"], data["form_version"])
    _validate_answers(form, data["answers"])
    try:
        changes = bound_changes(form, data["answers"])
    except BindingError as error:
        raise Invalid("答案与问卷不符 / answers do not fit the form",
                      errors={f"answers.{k}": v for k, v in error.errors.items()}) from None
    errors = {f"answers.{k}": v for k, v in change_errors(changes).items()}
    limit = current_app.config["MAX_MEDIA_BYTES"]
    for index, item in enumerate(data["media"]):
        if item["size"] > limit:
            errors[f"media.{index}.size"] = [f"at most {limit} bytes"]
    wanted = set(data["investigator_ids"])
    known = {row.id for row in _KNOWN_USERS.execute({"ids": list(wanted)})}
    if wanted - known:
        errors["investigator_ids"] = [f"unknown user ids: {sorted(wanted - known)}"]
    if errors:
        raise Invalid("输入有误 / invalid input", errors=errors)
    village_id = changes["household"].get("village_id")
    checked_village = None
    lone = data["previous_instance_id"] is None
    household = None
    if data["household_id"] is not None:
        household = _household_in_scope(user, data["household_id"], data["base_version"])
        checked_village = household.village_id
    elif lone and village_id is None:
        raise Invalid("新申请需要填写村/社区 / a new household needs its village",
                      errors={"answers.household.village_id": ["required"]})
    # A village named moves the household, or places a new one (its first link, or a later
    # link of a new household's chain, whose first link may never come): in the sender's
    # region, whichever it is.
    if village_id is not None and village_id != checked_village:
        village_in_scope(village_id, user, "answers.household.village_id")
    missing = (
        missing_required(changes, empty_record()) if (data["household_id"] is None and lone) else {}
    )
    missing.update(items_elsewhere(changes, data["household_id"]))
    if missing:
        raise Invalid(
            "输入有误 / invalid input", errors={f"answers.{k}": v for k, v in missing.items()}
        )
    submission = Submission(
        instance_id=data["instance_id"],
        body_hash=body_hash,
        form_id=data["form_id"],
        form_version=data["form_version"],
        household_id=data["household_id"],
        base_version=data["base_version"],
        previous_instance_id=data["previous_instance_id"],
        corrects_instance_id=data["corrects_instance_id"],
        submitted_by=user.id,
        investigator_ids=data["investigator_ids"],
        device_id=data["device_id"],
        started_at=data["started_at"],
        completed_at=data["completed_at"],
        location=data["location"],
        answers=data["answers"],
        changes=changes,
        status="complete" if not data["media"] else "awaiting_media",
        merge_state="held",
        review_state="received",
        applied=[],
        received_at=utcnow(),
    )
    submission.media = [SubmissionMedia(**item) for item in data["media"]]
    # A new row has no conflicts yet: an empty loaded list (the merge adds to it) spares a
    # SELECT when the receipt's audit counts them, under the change-counter lock.
    submission.conflicts = []
    snapshot, assessed = None, False
    if data["household_id"] is not None:
        snapshot = household.snapshot
        if lone and snapshot is not None:
            # A lone submission's base is its base_version, fixed history: assess it now.
            facts = forms.HouseholdFacts(
                household.id, household.lat, household.lon, household.village_code)
            submission.assessment = _assess(form, submission, facts, snapshot)
            assessed = True
    foreseen = _foresee(household, snapshot, changes) if lone and snapshot is not None else None
    return Prepared(submission, form, checked_village, snapshot, assessed, foreseen)


def _foresee(household: Row, snapshot: dict, changes: dict) -> Foreseen:
    """Work out a lone re-visit's merge before the lock, on the household's record now.

    `household` is the row read at the start of _prepare (its fields and version); its
    collections are read after it. Read in that order the record is never newer than the
    version it is taken for, whatever commits meanwhile: a collection changed after the
    row was read comes with a higher version, which the lock's check then sees (_receive).
    For a lone submission the effective base is the snapshot at base_version
    (effective_base: no chain), and its new item ids were checked against other households
    on receipt, so the merge needs nothing else from the database.
    """
    server = read_record(household)
    missing = missing_required(changes, _known_items(server, snapshot))
    if missing:
        return Foreseen(household.version, server, missing, None)
    result = merging.merge(snapshot, server, changes)
    _unplaceable_additions(result, household.id, items_checked=True)
    if not result.applied:
        return Foreseen(household.version, server, missing, result)
    after = as_stored(server, result.record)
    return Foreseen(household.version, server, missing, result, after, diff(server, after))


def _known_items(server: dict, snapshot: dict | None) -> dict:
    """Return the item ids a household has now (its record `server`) or had at a snapshot
    (per collection)."""
    known = {section: dict.fromkeys(server[section]) for section in COLLECTION_FIELDS}
    for section in COLLECTION_FIELDS:
        known[section].update(dict.fromkeys((snapshot or {}).get(section, {})))
    return known


def submit(user: User | Caller, data: dict, *, ip: str | None = None) -> tuple[Submission, bool]:
    """Accept a submission once; return it and whether it was new. Commits.

    `user` submits: a User row, or the signed-in Caller (the API signs in without loading
    ORM objects; everything here needs only the id, the name and the region's path).

    `data` is the loaded SubmissionSchema. Raises Invalid (422), NotFound, Forbidden, or
    Conflict ``submission.changed`` (same instance_id, different body).

    The API calls it in one of the process's merge slots (services/gates.py), with the
    parsing before it and the answer after it.
    """
    body_hash = canonical_hash(data)
    existing = _stored(data["instance_id"])
    if existing is not None:
        return _replay(existing, body_hash, data), False
    return _submit_new(user, data, body_hash, ip)


def _submit_new(user: User | Caller, data: dict, body_hash: str, ip: str | None
                ) -> tuple[Submission, bool]:
    """Validate, merge (or hold) and commit a submission not seen on arrival."""
    try:
        prepared = _prepare(user, data, body_hash)
    except Invalid:
        # An identical copy may have been merged since arrival (a phone retrying at once):
        # its new members now "belong to another household". The retry gets the outcome.
        if (stored := _copy_got_in_first(data, body_hash)) is None:
            raise
        return stored, False
    try:
        submission, created = _receive(user, prepared, data, ip)
    except IntegrityError:
        # Two copies raced through different locks; the unique instance_id let one in.
        if (stored := _copy_got_in_first(data, body_hash)) is None:
            raise
        return stored, False
    if created and submission.merge_state == "held":
        _release_if_predecessor_merged(submission.instance_id)
    return submission, created


def _copy_got_in_first(data: dict, body_hash: str) -> Submission | None:
    """Roll back, then return the stored copy of this submission if one got in meanwhile
    (a changed body is refused as _replay refuses it), else None."""
    db.session.rollback()
    existing = _stored(data["instance_id"])
    return None if existing is None else _replay(existing, body_hash, data)


def _receive(user: User | Caller, prepared: Prepared, data: dict, ip: str | None
             ) -> tuple[Submission, bool]:
    """Merge (or hold) the prepared submission (of the body `data`) under the household
    lock; commit."""
    submission = prepared.submission
    household_id = submission.household_id
    # Plain data: the lock's commit would expire a User row (a Caller is plain already).
    actor = audit.Actor.of(user)
    previous = None
    if household_id is None and submission.previous_instance_id is not None:
        # A later link of a new household's chain: it lands where its predecessor landed.
        previous = by_instance(submission.previous_instance_id)
        if previous is not None and previous.household_id is not None:
            household_id = previous.household_id
    # Everything before it only read: the lock is taken in the same transaction.
    household = begin_household_write(household_id, collections=False, after_reads=True)
    existing, followed = _stored_or_followed(submission.instance_id)
    if existing is not None:
        return _replay(existing, submission.body_hash, data), False
    if household_id is not None and (
        household is None or household.village_id != prepared.checked_village
    ):
        # Moved (or gone) since its scope was checked: check again.
        household_in_scope(user, household)
    previous = by_instance(submission.previous_instance_id)
    if household is None and previous is not None and previous.household_id is not None:
        # The predecessor merged between the first look and the lock.
        household = lock_household(previous.household_id, collections=False)
    if submission.corrects_instance_id is not None:
        corrected = by_instance(submission.corrects_instance_id)
        if corrected is None or (
            submission.household_id is not None
            and corrected.household_id != submission.household_id
        ):
            raise Invalid(
                "被更正的问卷不存在 / the corrected submission is unknown",
                code="submission.unknown_correction",
                errors={"corrects_instance_id": ["no such submission for this household"]},
            )
    lone = submission.previous_instance_id is None
    waiting = not lone and (previous is None or previous.merge_state == "held")
    snapshot = prepared.snapshot
    server = None  # the household's record, once read under the lock
    foreseen = None  # the merge worked out before the lock, if still valid under it
    if snapshot is None and household is not None and submission.base_version is not None:
        snapshot = snapshot_at(household.id, submission.base_version)
    if household is not None and not waiting and submission.household_id is not None:
        if snapshot is None:
            raise Invalid(
                f"此户没有第 {submission.base_version} 版 / the household never had this version",
                code="submission.unknown_base",
                errors={"base_version": [f"the household is at version {household.version}"]},
            )
        if lone:
            foreseen = _still_valid(prepared.foreseen, household)
            if foreseen is not None:
                server, missing = foreseen.server, foreseen.missing
            else:
                server = read_record(household)
                missing = missing_required(submission.changes, _known_items(server, snapshot))
            if missing:
                raise Invalid(
                    "输入有误 / invalid input",
                    errors={f"answers.{k}": v for k, v in missing.items()},
                )
    submission.household_id = household.id if household is not None else None
    touched = [submission]
    if not waiting:
        # The probe under the lock told whether held links follow; none of this household
        # can be added meanwhile (it would wait for this lock), so with none there is nothing
        # to lock.
        if followed:
            lock_held_successors(submission.instance_id)
        touched = _merge(
            submission,
            household,
            snapshot=snapshot,
            form=prepared.form,
            assessed=prepared.assessed,
            items_checked=lone,
            server=server,
            held_after=followed,
            foreseen=foreseen,
        )
    stamp(touched, household)
    audit.record(
        "submission.receive",
        actor=actor,
        object_type="submission",
        object_id=submission.instance_id,
        ip=ip,
        detail={
            "household_id": submission.household_id,
            "merge_state": submission.merge_state,
            "household_version": submission.household_version,
            "conflicts": len(submission.conflicts),
            "released": [s.instance_id for s in touched[1:]],
        },
    )
    # The last writes, once everything is decided: the new submission (unless releasing
    # its chain's held links made it join the session) and the household's row.
    if merge_store.is_new(submission):
        merge_store.insert_submission(submission)
    if household is not None:
        merge_store.write_household(household)
    if submission.merge_state == "merged":
        # The outcome is answered from the rows just written under the lock: no re-read.
        # (A held link is re-read: its predecessor may merge at any moment, see submit.)
        commit_keeping_loaded()
    else:
        db.session.commit()
    return submission, True


def _still_valid(foreseen: Foreseen | None, household: Household) -> Foreseen | None:
    """Return the merge worked out before the lock if the household, read under the lock,
    is still at the version it was worked out on (then its record is unchanged: every
    change to it writes a version); else None, and the merge is worked out under the lock.
    """
    if foreseen is None or foreseen.version != household.version:
        return None
    return foreseen


def stamp(submissions: list[Submission], household: Household | None = None) -> None:
    """Give each changed submission the next outcome number (the phone's feed cursor).

    Row changes are flushed first: the change counter is the last lock a transaction
    takes (services/locks.py). A lone submission whose merge just wrote a version takes
    that version's number: it was taken from the same counter in this same transaction.
    """
    wrote = (
        household is not None
        and len(submissions) == 1
        and submissions[0].household_version == household.version
        and bool(submissions[0].applied)
    )
    if wrote:
        submissions[0].outcome_seq = household.change_seq
        return
    db.session.flush()
    for submission in submissions:
        submission.outcome_seq = next_change_seq()


# --- merging ---------------------------------------------------------------------------------


def lock_held_successors(instance_id: str) -> None:
    """Lock the held links after a submission before any version is written (PostgreSQL;
    SQLite locks no rows: its writer lock is the whole database's).

    Merging releases them, and writing a version takes the change counter: locking their
    rows first keeps "rows, then the counter" the only order (no deadlock with an upload
    completing one of them).
    """
    if is_sqlite():
        return
    frontier, seen = [instance_id], {instance_id}
    while frontier and len(seen) < MAX_CHAIN:
        found = db.session.connection().scalars(_LOCK_HELD_AFTER, {"frontier": frontier})
        frontier = [instance_id for instance_id in found if instance_id not in seen]
        seen.update(frontier)


def _chain(submission: Submission, household_id: int | None = None) -> list[Submission]:
    """Return the received predecessors of a submission, oldest first (stops at a gap).

    A chain is one phone's: it also stops at a link someone else sent. Its changes are not
    what this sender saw, and taking them as seen would let a sender who names another's
    submission overwrite that change without a conflict. (A phone's surveys are sent by the
    one investigator signed in on it: an exported outbox is sent by whoever imports it, its
    own continued surveys too.)

    With a household_id, the chain also stops at a link that landed in another household.
    """
    links, seen = [], {submission.instance_id}
    previous_id = submission.previous_instance_id
    while previous_id and previous_id not in seen and len(links) < MAX_CHAIN:
        link = by_instance(previous_id)
        if link is None or link.submitted_by != submission.submitted_by or (
            household_id is not None and link.household_id not in (None, household_id)
        ):
            break
        seen.add(previous_id)
        links.append(link)
        previous_id = link.previous_instance_id
    links.reverse()
    return links


def effective_base(
    submission: Submission, household: Household, snapshot: dict | None = None
) -> tuple[dict, dict]:
    """Return the record the phone saw when it made this submission, and how it was made.

    That is the household at base_version with every earlier link of the phone's chain
    laid over it that the phone had not yet seen merged back: a link merged into a version
    older than base_version was part of what the phone downloaded. A link merged exactly
    at base_version is laid over too: laying an already-present change over is harmless,
    missing one would turn the phone's own edit into someone else's.
    """
    chain = _chain(submission, household.id)
    version = submission.base_version
    if snapshot is None:
        snapshot = snapshot_at(household.id, version)
    if snapshot is None and version is not None and chain:
        # The link was held on a version the household never had: fall back on the
        # chain's first base (the phone's view is built from the chain anyway).
        version = chain[0].base_version
        snapshot = snapshot_at(household.id, version)
    if snapshot is None and version is not None:
        # No known base at all: compare against nothing, so that every difference is a
        # conflict for a supervisor rather than a silent overwrite.
        snapshot, version = empty_record(), None
    pending = [
        link for link in chain
        if not (link.merge_state == "merged" and version is not None
                and link.household_version is not None and link.household_version < version)
    ]
    base = snapshot if snapshot is not None else empty_record()
    for link in pending:
        base = merging.overlay(base, link.changes)
    return base, {"version": version, "chain": [link.instance_id for link in pending]}


def _unplaceable_additions(
    result: merging.MergeResult, household_id: int, items_checked: bool = False
) -> None:
    """Turn added items that cannot be stored into conflicts (never a broken row).

    That is an item lacking a required field, or whose id belongs to another household.
    They can only come from a chained link whose predecessor never arrived (or a race
    with another household's submission): a lone submission adding such an item was
    refused with 422 on receipt.
    """
    added = [c for c in result.applied if c["old"] is None
             and c["path"].partition(".")[0] in COLLECTION_FIELDS
             and "." not in c["path"].partition(".")[2]]
    partial = empty_record()
    for change in added:
        section, _, item_id = change["path"].partition(".")
        partial[section][item_id] = change["new"]
    elsewhere = {} if items_checked else items_elsewhere(partial, household_id)
    for change in added:
        section, _, rest = change["path"].partition(".")
        missing = [f for f in _required_fields(section) if change["new"].get(f) in (None, "")]
        if missing or change["path"] in elsewhere:
            result.applied.remove(change)
            del result.record[section][rest]
            result.conflicts.append({"path": change["path"], "base": None, "server": None,
                                     "submitted": change["new"]})


def _server_source(household_id: int, since_version: int | None, path: str) -> str | None:
    """Return what last wrote a path after `since_version` (``<cause>:<source_ref>``)."""
    query = select(HouseholdVersion).where(HouseholdVersion.household_id == household_id)
    if since_version is not None:
        query = query.where(HouseholdVersion.version > since_version)
    for version in db.session.scalars(query.order_by(HouseholdVersion.version.desc())):
        if any(merging.paths_overlap(path, c["path"]) for c in version.changes):
            return f"{version.cause}:{version.source_ref or version.version}"[:64]
    return None


def _create_household(submission: Submission) -> Household:
    """Register the new household a first submission describes (pending review)."""
    changes = submission.changes
    village_id = changes.get("household", {}).get("village_id")
    village = db.session.get(Region, village_id) if isinstance(village_id, int) else None
    if village is None:
        raise Invalid("新申请需要填写村/社区 / a new household needs its village",
                      code="submission.no_household",
                      errors={"answers.household.village_id": ["required"]})
    record = merging.overlay(empty_record(), changes)
    record["household"].setdefault("status", "pending_review")
    prefix = village.code
    taken = db.session.scalars(select(Household.code).where(Household.code.startswith(prefix)))
    numbers = [int(code[len(prefix):]) for code in taken if code[len(prefix):].isdigit()]
    code = f"{prefix}{max(numbers, default=0) + 1:04d}"
    submitter = db.session.get(User, submission.submitted_by)
    return register_household(village, code=code, record=record, cause="submission",
                              actor=submitter, source_ref=submission.instance_id)


def _merge(
    submission: Submission,
    household: Household | None,
    *,
    released: str | None = None,
    snapshot: dict | None = None,
    form: dict | None = None,
    assessed: bool = False,
    items_checked: bool = False,
    server: dict | None = None,
    held_after: bool | None = None,
    foreseen: Foreseen | None = None,
) -> list[Submission]:
    """Merge a submission (and the held links after it); return every submission merged.

    The caller holds the household's lock (or the new-household lock) and commits.
    `assessed`: the assessment was computed before the lock on this same base;
    `items_checked`: its new item ids were checked against other households on receipt;
    `server`: the household's record, if the caller read it under the lock already;
    `held_after`: whether held links follow it, if the caller looked under the lock
    (_stored_or_followed; a link that arrives later releases itself, see submit);
    `foreseen`: the merge of `server` (then given too) worked out before the lock, which
    the caller found still valid under it (_still_valid).

    Writing the version takes the global change counter, held until commit: everything
    else is done and in the session first, so the counter is held for the last few
    statements only (on PostgreSQL it is the one lock every merge shares).
    """
    if household is None:
        return _merge_new_household(submission, form, released)
    base, merge_base = effective_base(submission, household, snapshot)
    if foreseen is not None:
        result = foreseen.result
    else:
        if server is None:
            server = read_record(household)
        result = merging.merge(base, server, submission.changes)
        _unplaceable_additions(result, household.id, items_checked)
    expected_version = household.version + (1 if result.applied else 0)
    conflicts = [
        Conflict(
            household_id=household.id,
            submission=submission,
            path=conflict["path"],
            base_value=conflict["base"],
            server_value=conflict["server"],
            submitted_value=conflict["submitted"],
            server_version=expected_version,
            server_source=_server_source(household.id, merge_base["version"], conflict["path"]),
            resolution_value=None,
        )
        for conflict in result.conflicts
    ]
    if not merge_store.is_new(submission):
        # A stored link's conflicts go through the session; a new submission's are written
        # with it (merge_store), or follow it into the session if it joins it below.
        db.session.add_all(conflicts)
    if released:
        merge_base["released"] = released
    submission.merge_base = merge_base
    submission.household_id = household.id
    submission.merge_state = "merged"
    submission.merged_at = utcnow()
    if not assessed:
        facts = forms.HouseholdFacts.of(household)
        submission.assessment = _assess(form or _form_or_empty(submission), submission, facts,
                                        base)
    successors = [] if held_after is False else _held_successors(submission)
    if successors:
        # A released successor's chain must find it in the database.
        db.session.add(submission)
    # Otherwise a new submission is written only once its outcome is known (the caller,
    # merge_store): one INSERT with everything, rather than an INSERT and an UPDATE.
    submission.applied = []
    if result.applied:
        moved_from = household.village_id
        after = write_record(household, server, result.record,
                             after=foreseen.after if foreseen is not None else None)
        written = record_version(
            household,
            before=server,
            after=after,
            changes=foreseen.changes if foreseen is not None else None,
            cause="submission",
            actor_id=submission.submitted_by,
            source_ref=submission.instance_id,
            prev_village_id=moved_from if household.village_id != moved_from else None,
        )
        submission.applied = written.changes if written is not None else []
    submission.household_version = household.version
    for conflict in conflicts:
        conflict.server_version = household.version
    # A covered household's failed checks that are audit problems (a deceased member still
    # counted, a disqualifier hit ...) each become a rectification-ledger entry (整改台账),
    # in the same transaction as the merge.
    ledger.open_from_checks(submission)
    merged = [submission]
    for successor in successors:
        if successor.household_id in (None, household.id):
            merged += _merge(successor, household)
    return merged


def _form_or_empty(submission: Submission) -> dict:
    """Return a submission's form definition, or {} if it is no longer known."""
    try:
        return load_form(submission.form_id, submission.form_version)
    except Invalid:
        return {}


def _held_successors(submission: Submission) -> list[Submission]:
    """Return the held links whose predecessor is this submission (usually none: a plain
    probe says so, and only links that exist are loaded as objects)."""
    params = {"instance_id": submission.instance_id}
    if _ANY_HELD_AFTER.scalar(params) is None:
        return []
    with db.session.no_autoflush:
        return list(db.session.scalars(_HELD_AFTER, params))


def _merge_new_household(
    submission: Submission, form: dict | None, released: str | None
) -> list[Submission]:
    """Create the household a first submission describes, then release its chain."""
    household = _create_household(submission)
    submission.applied = (
        db.session.scalar(
            select(HouseholdVersion.changes).where(
                HouseholdVersion.household_id == household.id,
                HouseholdVersion.version == household.version,
            )
        )
        or []
    )
    submission.merge_base = {"version": None, "chain": [], "created": True}
    if released:
        submission.merge_base["released"] = released
    submission.household_id = household.id
    submission.household_version = household.version
    submission.merge_state = "merged"
    submission.merged_at = utcnow()
    submission.assessment = _assess(
        form or _form_or_empty(submission), submission, forms.HouseholdFacts.of(household),
        empty_record()
    )
    db.session.add(submission)
    merged = [submission]
    for successor in _held_successors(submission):
        if successor.household_id in (None, household.id):
            merged += _merge(successor, household)
    return merged


# --- releasing held links --------------------------------------------------------------------


def household_of_chain(submission: Submission) -> int | None:
    """Return the household a held link will merge into, if one is known yet."""
    if submission.household_id is not None:
        return submission.household_id
    for link in reversed(_chain(submission)):
        if link.household_id is not None:
            return link.household_id
    return None


def _release_if_predecessor_merged(instance_id: str) -> None:
    """Merge a just-held link whose predecessor was merged while it was being stored.

    The predecessor's transaction releases the links it can see; one committed a moment
    later is released here instead, so no link is ever left waiting for a merge that
    already happened.
    """
    submission = by_instance(instance_id)
    previous = by_instance(submission.previous_instance_id) if submission else None
    if previous is None or previous.merge_state == "held":
        db.session.commit()
        return
    _release(submission, reason=None, actor=None)


def _release(submission: Submission, *, reason: str | None, actor: User | None,
             ip: str | None = None) -> list:
    """Merge a held link now, under its household's lock; commit. Returns those merged."""
    instance_id = submission.instance_id
    household_id = household_of_chain(submission)
    household = begin_household_write(household_id, collections=False)
    submission = by_instance(instance_id)
    if submission is None or submission.merge_state != "held":
        db.session.commit()
        return []
    if household is None and "village_id" not in submission.changes.get("household", {}):
        db.session.commit()
        raise Invalid("无法确定所属户 / cannot tell which household this belongs to",
                      code="submission.no_household",
                      errors={"previous_instance_id": ["the chain's first link never arrived"]})
    lock_held_successors(instance_id)
    merged = _merge(submission, household, released=reason)
    stamp(merged)
    audit.record("submission.release", actor=actor, object_type="submission",
                 object_id=instance_id, ip=ip,
                 detail={"reason": reason or "predecessor_merged",
                         "merged": [s.instance_id for s in merged],
                         "household_id": submission.household_id})
    db.session.commit()
    return merged


def _chain_head(submission: Submission, user: User) -> Submission:
    """Return the earliest held link of the chain a held submission belongs to that `user`
    may release: of its household (a chain may span households) and in the user's region."""
    head = submission
    for link in reversed(_chain(submission, household_of_chain(submission))):
        if link.merge_state != "held" or not _in_supervised_region(user, link):
            break
        head = link
    return head


def release(user: User, instance_id: str, *, ip: str | None = None) -> Submission:
    """A supervisor releases a held chain whose predecessor never came. Commits."""
    submission = by_instance(instance_id)
    if submission is None or not may_supervise(user, submission):
        raise NotFound("问卷不存在 / no such submission")
    if not _in_supervised_region(user, submission):
        # Its sender sees it, but only a supervisor of the household's region acts on it
        # (the household may have moved away since it was sent).
        raise Forbidden("此户不在您的负责范围内 / household outside your region",
                        code="scope.forbidden")
    if submission.merge_state != "held":
        raise ConflictError("此问卷未在等待 / this submission is not held",
                            code="submission.not_held")
    _release(_chain_head(submission, user), reason="supervisor", actor=user, ip=ip)
    return by_instance(instance_id)


def release_overdue(now: datetime | None = None) -> int:
    """Release chains held longer than SYNC_HOLD_SECONDS (or whose predecessor merged).

    Called when outcomes are listed (cheap: an indexed query that is usually empty).
    Returns how many submissions were merged.
    """
    limit = timedelta(seconds=current_app.config.get("SYNC_HOLD_SECONDS", 72 * 3600))
    cutoff = (now or utcnow()) - limit
    held = db.session.scalars(
        select(Submission).where(Submission.merge_state == "held").order_by(Submission.id)
    ).all()
    count = 0
    for submission in held:
        previous = by_instance(submission.previous_instance_id)
        predecessor_done = previous is not None and previous.merge_state != "held"
        if predecessor_done or (previous is None and submission.received_at <= cutoff):
            try:
                count += len(_release(submission, actor=None,
                                      reason=None if predecessor_done else "timeout"))
            except Invalid:
                log.warning("held submission %s has no household yet", submission.instance_id)
    db.session.commit()
    return count


# --- reading outcomes ------------------------------------------------------------------------


def may_supervise(user: User, submission: Submission) -> bool:
    """Tell whether a user may see a submission: its sender, or a supervisor in scope."""
    return submission.submitted_by == user.id or _in_supervised_region(user, submission)


def _in_supervised_region(user: User, submission: Submission) -> bool:
    """Tell whether the user supervises the region of the submission's household (its
    village now, or for a new household the village it names)."""
    if user.role not in ("supervisor", "admin"):
        return False
    village_id = None
    if submission.household_id is not None:
        village_id = db.session.get(Household, submission.household_id).village_id
    else:
        village_id = submission.changes.get("household", {}).get("village_id")
    return isinstance(village_id, int) and covers_village(user, village_id)


def outcome(submission: Submission) -> dict:
    """Return what the phone learns about a submission."""
    return {
        "instance_id": submission.instance_id,
        "form_id": submission.form_id,
        "form_version": submission.form_version,
        "status": submission.status,
        "merge_state": submission.merge_state,
        "review_state": submission.review_state,
        "review_comment": submission.review_comment,
        "household_id": submission.household_id,
        "base_version": submission.base_version,
        "household_version": submission.household_version,
        "conflicts": list(submission.conflicts),
        "missing_media": [m.sha256 for m in submission.media if m.received_at is None],
        "assessment": submission.assessment,
        "received_at": submission.received_at,
        "outcome_seq": submission.outcome_seq,
    }


def get_outcome(user: User, instance_id: str) -> dict:
    """Return one submission's outcome for its sender or a supervisor in scope."""
    submission = by_instance(instance_id)
    if submission is None or not may_supervise(user, submission):
        raise NotFound("问卷不存在 / no such submission")
    return outcome(submission)


def outcomes(user: User, *, mine: bool, since: int, limit: int,
             household_id: int | None = None, review_state: str | None = None) -> dict:
    """Return the outcome feed after a cursor: the caller's own, or (supervisors) in scope."""
    release_overdue()
    query = select(Submission).where(Submission.outcome_seq > since)
    if mine:
        query = query.where(Submission.submitted_by == user.id)
    elif user.role not in ("supervisor", "admin"):
        raise Forbidden("无权查看 / only supervisors list others' submissions")
    else:
        from .scope import scoped_households

        in_scope = scoped_households(user).with_only_columns(Household.id)
        query = query.where(Submission.household_id.in_(in_scope))
    if household_id is not None:
        query = query.where(Submission.household_id == household_id)
    if review_state is not None:
        query = query.where(Submission.review_state == review_state)
    rows = db.session.scalars(query.order_by(Submission.outcome_seq).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = rows[-1].outcome_seq if rows else since
    page = {"submissions": [outcome(s) for s in rows], "cursor": str(cursor), "more": more}
    db.session.commit()
    return page
