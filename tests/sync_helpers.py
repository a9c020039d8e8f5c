"""Helpers shared by the sync tests: submission bodies and small lookups."""

import uuid
from types import SimpleNamespace

from sqlalchemy import func, select

from server.extensions import db
from server.models import Household, HouseholdVersion, Submission

RECORD_FORM = {"form_id": "ruhu.record", "form_version": "1"}


def new_id() -> str:
    """Return a fresh instance id, as a phone makes one."""
    return str(uuid.uuid4())


def survey(household: Household | None, answers: dict, *, base_version: int | None = None,
           investigators=(1, 2), **fields) -> dict:
    """Return a submission body for the built-in record form."""
    body = {
        "instance_id": new_id(),
        **RECORD_FORM,
        "household_id": household.id if household is not None else None,
        "base_version": (base_version if base_version is not None
                         else household.version if household is not None else None),
        "investigator_ids": list(investigators),
        "device_id": "phone-A",
        "started_at": "2026-05-02T09:00:00+08:00",
        "completed_at": "2026-05-02T09:40:00+08:00",
        "location": {"lat": 48.03, "lon": 125.88, "accuracy": 12},
        "answers": answers,
        "media": [],
    }
    body.update(fields)
    return body


def household(household_id: int) -> Household:
    """Return a household freshly read from the database."""
    db.session.expire_all()
    return db.session.get(Household, household_id)


def count_submissions(instance_id: str | None = None) -> int:
    """Return how many submission rows exist (with this instance id)."""
    query = select(func.count()).select_from(Submission)
    if instance_id:
        query = query.where(Submission.instance_id == instance_id)
    return db.session.scalar(query)


def versions_of(household_id: int) -> list[HouseholdVersion]:
    """Return a household's versions, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(select(HouseholdVersion).where(
        HouseholdVersion.household_id == household_id).order_by(HouseholdVersion.version)))


def frozen(household: Household) -> SimpleNamespace:
    """Return a household's values as they are now.

    The test client shares the test's database session, so a Household object would show
    the values after a request, not before it.
    """
    return SimpleNamespace(
        id=household.id, version=household.version, address=household.address,
        phone=household.phone, village_id=household.village_id,
        members=[SimpleNamespace(id=m.id, name=m.name) for m in household.members],
    )
