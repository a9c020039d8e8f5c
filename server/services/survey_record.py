"""The survey record (调查笔录) of a household for the paper archive: the record as the
survey left it, the survey's answers and conclusion, its photos and signatures.

It shows full ID numbers (the archive needs them): reading it is audited.
"""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Submission, User
from . import audit, households
from .errors import NotFound
from .household_record import to_record
from .region_tree import names
from .submission_view import answer_entries, photos_of, record_around


def survey_record(
    user: User, household_id: int, instance_id: str | None = None, *, ip: str | None = None
) -> dict:
    """Return the survey record of a household: its latest survey, or the one named (a
    household outside the user's region is NotFound, as one that does not exist)."""
    household = households.get(user, household_id, ip=ip, as_missing=True)
    query = (
        select(Submission)
        .where(Submission.household_id == household.id)
        .options(selectinload(Submission.media), selectinload(Submission.reviews))
    )
    if instance_id:
        query = query.where(Submission.instance_id == instance_id)
    else:
        query = query.where(Submission.review_state != "rejected").order_by(
            Submission.completed_at.desc(), Submission.id.desc()
        )
    submission = db.session.scalars(query.limit(1)).first()
    if instance_id and submission is None:
        raise NotFound("问卷不存在 / no such submission")
    record = to_record(household)
    entries, unplaced, photos, form = [], {}, [], None
    if submission is not None:
        from .sync import load_form

        try:
            form = load_form(submission.form_id, submission.form_version)
        except Exception:  # noqa: BLE001 - an unknown form still prints its raw answers
            form = None
        entries, unplaced = answer_entries(form, submission.answers or {})
        _, after, _ = record_around(submission)
        record = after or record
        photos = photos_of(submission, household, user)
    people_ids = set()
    if submission is not None:
        people_ids = {i for i in submission.investigator_ids or [] if isinstance(i, int)}
        people_ids |= {r.actor_id for r in submission.reviews if r.actor_id}
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people_ids)))}
    township, village = names({household.village_id}).get(household.village_id, ("", ""))
    audit.record(
        "household.survey_record",
        actor=user,
        object_type="household",
        object_id=household.id,
        ip=ip,
        detail={"submission": submission.instance_id if submission else None},
    )
    db.session.commit()
    return {
        "household": household,
        "township": township,
        "village": village,
        "record": record,
        "submission": submission,
        "form": form,
        "entries": entries,
        "unplaced": unplaced,
        "photos": [p for p in photos if p.signature is None and p.item.category != "signature"],
        "signatures": [p for p in photos if p.signature is not None or
                       p.item.category == "signature"],
        "people": people,
    }
