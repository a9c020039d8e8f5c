"""A supervisor's review of a submission; rejecting one reverts what it changed."""

from sqlalchemy import select

from ..domain import merge as merging
from ..extensions import db
from ..models import (
    Conflict,
    Household,
    HouseholdVersion,
    Region,
    Submission,
    SubmissionReview,
    User,
)
from ..models.clock import utcnow
from ..models.submission import REVIEW_TRANSITIONS
from . import audit, sync
from .errors import Conflict as ConflictError
from .errors import Forbidden, NotFound
from .household_record import apply_record, to_record
from .locks import begin_household_write
from .versions import record_version


def _later_paths(household_id: int, version: int) -> set[str]:
    """Return every path changed by the household's versions after `version`."""
    changes = db.session.scalars(
        select(HouseholdVersion.changes).where(HouseholdVersion.household_id == household_id,
                                               HouseholdVersion.version > version)
    )
    return {change["path"] for version_changes in changes for change in version_changes}


def revert_submission(submission: Submission, household: Household, actor: User) -> list[dict]:
    """Undo a merged submission's changes that no later version overwrote; return them.

    A submission that created the household cannot un-create it (its code and history
    stay for the audit trail): its household fields stay, its items are removed and the
    household is closed, each unless a later version changed it.
    """
    if not submission.applied or submission.household_version is None:
        return []
    later = _later_paths(household.id, submission.household_version)
    created = bool((submission.merge_base or {}).get("created"))
    applied = [c for c in submission.applied
               if not (created and c["path"].startswith("household."))]
    current = to_record(household)
    record, undone = merging.revert(current, applied, later)
    if created and not any(merging.paths_overlap("household.status", p) for p in later):
        record = merging.set_value(record, "household.status", "closed")
    if record == current:
        return []
    apply_record(household, record)
    version = record_version(household, before=current, cause="revert", actor=actor,
                             source_ref=submission.instance_id,
                             note="submission rejected")
    return version.changes if version is not None else undone


def took_part(user: User, submission: Submission) -> bool:
    """Tell whether the user sent the submission or is one of its investigators: whoever
    took part in a survey never decides on it (a supervisor who surveyed a household with a
    team, or one whose region no longer holds it but who may still see what they sent)."""
    return submission.submitted_by == user.id or user.id in (submission.investigator_ids or [])


def may_approve_county_cases(user: User) -> bool:
    """Tell whether the user decides county-review cases (a county-level account)."""
    region = db.session.get(Region, user.region_id)
    return region is not None and region.level == "county"


def review(user: User, instance_id: str, state: str, comment: str, *,
           seen_state: str | None = None, ip: str | None = None) -> Submission:
    """Move a submission to a new review state (a closed set of transitions). Commits.

    A staff relative's, disputed or reported case is approved at county level only
    (domain.md: such cases are routed to county review), whether from the console or the API.
    `seen_state`: the review state the decider saw; another decision since is refused (409
    ``review.stale``) rather than silently overturned.
    """
    submission = sync.by_instance(instance_id)
    if submission is None or not sync.may_supervise(user, submission):
        raise NotFound("问卷不存在 / no such submission")
    if took_part(user, submission):
        raise Forbidden(
            "您参与了这次调查，须由其他审核人员决定 / you took part in this survey: "
            "another supervisor decides on it",
            code="review.own_survey",
        )
    county_case = bool((submission.assessment or {}).get("county_review"))
    if state == "approved" and county_case and not may_approve_county_cases(user):
        raise Forbidden("此户须由县级复核 / this case is decided at county level",
                        code="review.county_only")
    household = begin_household_write(sync.household_of_chain(submission))
    submission = db.session.scalar(
        select(Submission).where(Submission.instance_id == instance_id).with_for_update()
        .execution_options(populate_existing=True))
    current = submission.review_state
    if seen_state is not None and seen_state != current:
        raise ConflictError(
            "此问卷已被他人审核，请查看后再决定 / "
            "someone decided on this submission meanwhile: look again first",
            code="review.stale", errors={"state": [f"now {current}"]})
    if state not in REVIEW_TRANSITIONS[current]:
        allowed = ", ".join(REVIEW_TRANSITIONS[current]) or "none"
        raise ConflictError(
            f"不能从 {current} 改为 {state} / cannot move from {current} to {state}",
            code="review.invalid_transition", errors={"state": [f"allowed: {allowed}"]})
    db.session.add(SubmissionReview(submission_id=submission.id, from_state=current,
                                    to_state=state, actor_id=user.id, comment=comment))
    submission.review_state = state
    submission.review_comment = comment or None
    undone: list[dict] = []
    if state == "rejected":
        if submission.merge_state == "held":
            submission.merge_state = "discarded"
        elif household is not None:
            undone = revert_submission(submission, household, user)
        for conflict in db.session.scalars(select(Conflict).where(
                Conflict.submission_id == submission.id, Conflict.status == "open")):
            conflict.status = "dismissed"
            conflict.resolved_by = user.id
            conflict.resolved_at = utcnow()
            conflict.comment = "submission rejected"
    sync.stamp([submission])
    audit.record("submission.review", actor=user, object_type="submission",
                 object_id=instance_id, ip=ip,
                 detail={"from": current, "to": state, "comment": comment,
                         "reverted": [c["path"] for c in undone]})
    db.session.commit()
    return submission
