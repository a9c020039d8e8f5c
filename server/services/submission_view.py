"""One submission as a supervisor reviews it: answers, the record before and after its merge,
the assessment, the photo evidence with where and when each was taken, signatures, history.

Reading it is a read of personal data (full ID numbers in the answers) and is audited.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import county_clock
from ..domain.checks import distance_m
from ..domain.record import diff
from ..extensions import db
from ..models import (
    Conflict,
    Household,
    HouseholdVersion,
    MediaObject,
    Submission,
    SubmissionMedia,
    User,
)
from ..models.submission import REVIEW_TRANSITIONS
from . import audit, policies, sync
from .errors import NotFound
from .household_record import to_record
from .region_tree import names
from .scope import covers_village
from .versions import snapshot_at

CONSOLE_ROLES = ("supervisor", "admin")


@dataclass
class Photo:
    """One photo or signature image of the submission, with its evidence."""

    item: SubmissionMedia
    stored: MediaObject | None
    taken_at: datetime | None
    lat: float | None
    lon: float | None
    distance_m: float | None
    too_far: bool
    # Other households whose submissions carry the same image: codes in scope, and how
    # many outside it (never named).
    reused_in: list[str] = field(default_factory=list)
    reused_elsewhere: int = 0
    signature: dict | None = None

    @property
    def sha256(self) -> str:
        """Return the image's SHA-256 (its identity)."""
        return self.item.sha256


@dataclass
class AnswerEntry:
    """One line of the answers as the form lays them out."""

    kind: str  # "section", "question", "repeat"
    label: object
    name: str = ""
    type: str = ""
    value: object = None
    choices: dict = field(default_factory=dict)
    items: list = field(default_factory=list)
    depth: int = 0


def _form(submission: Submission) -> dict | None:
    """Return the form the submission answered (None when it is not known any more)."""
    try:
        return sync.load_form(submission.form_id, submission.form_version)
    except Exception:  # noqa: BLE001 - an unknown form still shows its raw answers
        return None


def answer_entries(form: dict | None, answers: dict) -> tuple[list[AnswerEntry], dict]:
    """Lay out the answers in the form's order; return them and the answers no question took."""
    left = dict(answers)
    if form is None:
        return [], left

    def visit(questions: list, depth: int, values: dict) -> list[AnswerEntry]:
        entries = []
        for question in questions or []:
            kind, name = question.get("type"), question.get("name", "")
            label = question.get("label") or name
            if kind == "group":
                entries.append(AnswerEntry("section", label, name=name, depth=depth))
                entries.extend(visit(question.get("children"), depth + 1, values))
                continue
            if kind == "note":
                continue
            if name not in values:
                continue
            value = values.pop(name) if values is left else values.get(name)
            if kind == "repeat":
                items = []
                for item in value if isinstance(value, list) else []:
                    if isinstance(item, dict):
                        items.append((item, visit(question.get("children"), 0, dict(item))))
                entries.append(AnswerEntry("repeat", label, name=name, items=items, depth=depth))
                continue
            choices = {
                str(c.get("value")): c.get("label")
                for c in question.get("choices") or []
                if isinstance(c, dict)
            }
            entries.append(
                AnswerEntry(
                    "question", label, name=name, type=kind, value=value, choices=choices,
                    depth=depth,
                )
            )
        return entries

    entries = []
    for section in form.get("sections") or []:
        entries.append(AnswerEntry("section", section.get("label") or section.get("name")))
        entries.extend(visit(section.get("children"), 1, left))
    return entries, left


def record_around(submission: Submission) -> tuple[dict | None, dict | None, list[dict]]:
    """Return the record just before and just after this submission's merge, and the diff."""
    if submission.household_id is None or submission.household_version is None:
        return None, None, []
    after = snapshot_at(submission.household_id, submission.household_version)
    produced = db.session.scalar(
        select(HouseholdVersion.source_ref).where(
            HouseholdVersion.household_id == submission.household_id,
            HouseholdVersion.version == submission.household_version,
        )
    )
    if produced == submission.instance_id:
        before = snapshot_at(submission.household_id, submission.household_version - 1)
    else:
        before = after  # the merge found nothing to change
    return before, after, diff(before or {}, after or {})


def photos_of(submission: Submission, household: Household | None, user: User) -> list[Photo]:
    """Return the submission's images with their evidence and reuse warnings."""
    hashes = [m.sha256 for m in submission.media]
    stored = {
        m.sha256: m
        for m in db.session.scalars(select(MediaObject).where(MediaObject.sha256.in_(hashes)))
    }
    elsewhere: dict[str, dict[int, Household]] = {}
    if hashes:
        rows = db.session.execute(
            select(SubmissionMedia.sha256, Household)
            .join(Submission, Submission.id == SubmissionMedia.submission_id)
            .join(Household, Household.id == Submission.household_id)
            .where(
                SubmissionMedia.sha256.in_(hashes),
                Submission.household_id != submission.household_id,
            )
        ).all()
        for sha, other in rows:
            elsewhere.setdefault(sha, {})[other.id] = other
    policy = None
    if household is not None:
        policy = policies.policy_for(
            household.village.code,
            county_clock.day_of(submission.completed_at or submission.received_at),
        )
    limit = policy.photo_max_distance_m if policy else 500.0
    home = (household.lat, household.lon) if household and household.lat is not None else None
    signatures = {
        str(v["sha256"]).lower(): v
        for v in submission.answers.values()
        if isinstance(v, dict) and "role" in v and "sha256" in v
    }
    photos = []
    for item in submission.media:
        obj = stored.get(item.sha256)
        exif = (obj.exif if obj else None) or {}
        where = item.location or {}
        lat = where.get("lat") if isinstance(where.get("lat"), int | float) else exif.get("lat")
        lon = where.get("lon") if isinstance(where.get("lon"), int | float) else exif.get("lon")
        distance = None
        if home and isinstance(lat, int | float) and isinstance(lon, int | float):
            distance = distance_m(home, (lat, lon))
        others = elsewhere.get(item.sha256, {}).values()
        visible = sorted(o.code for o in others if covers_village(user, o.village_id))
        taken = item.captured_at
        if taken is None and isinstance(exif.get("taken_at"), str):
            try:
                taken = datetime.fromisoformat(exif["taken_at"])
            except ValueError:
                taken = None
        photos.append(
            Photo(
                item=item,
                stored=obj,
                taken_at=taken,
                lat=lat,
                lon=lon,
                distance_m=distance,
                too_far=distance is not None and distance > limit,
                reused_in=visible,
                reused_elsewhere=len(others) - len(visible),
                signature=signatures.get(item.sha256),
            )
        )
    return photos


def submission_file(user: User, instance_id: str, *, ip: str | None = None) -> dict:
    """Return everything the submission page shows. Audited."""
    submission = db.session.scalar(
        select(Submission)
        .where(Submission.instance_id == instance_id)
        .options(selectinload(Submission.media), selectinload(Submission.reviews))
    )
    if (
        submission is None
        or user.role not in CONSOLE_ROLES
        or submission.household_id is None
        or not sync.may_supervise(user, submission)
    ):
        raise NotFound("问卷不存在 / no such submission")
    household = db.session.get(Household, submission.household_id)
    if not covers_village(user, household.village_id):
        raise NotFound("问卷不存在 / no such submission")
    form = _form(submission)
    entries, unplaced = answer_entries(form, submission.answers or {})
    before, after, changes = record_around(submission)
    photos = photos_of(submission, household, user)
    conflicts = db.session.scalars(
        select(Conflict).where(Conflict.submission_id == submission.id).order_by(Conflict.id)
    ).all()
    people_ids = {r.actor_id for r in submission.reviews if r.actor_id}
    people_ids |= {i for i in submission.investigator_ids or [] if isinstance(i, int)}
    people_ids.add(submission.submitted_by)
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people_ids)))}
    township, village = names({household.village_id}).get(household.village_id, ("", ""))
    audit.record(
        "submission.read", actor=user, object_type="submission", object_id=instance_id, ip=ip,
        detail={"household_id": household.id},
    )
    db.session.commit()
    return {
        "submission": submission,
        "household": household,
        "township": township,
        "village": village,
        "form": form,
        "entries": entries,
        "unplaced": unplaced,
        "before": before,
        "after": after,
        "record_now": to_record(household),
        "changes": changes,
        "assessment": submission.assessment or None,
        "photos": [p for p in photos if p.signature is None and p.item.category != "signature"],
        "signatures": [p for p in photos if p.signature is not None or
                       p.item.category == "signature"],
        "conflicts": conflicts,
        "people": people,
        "transitions": REVIEW_TRANSITIONS.get(submission.review_state, ()),
    }
