"""All models, imported here so Alembic and the app see every table.

One module per aggregate; feature issues add their own module and one import line below.
"""

from .audit import AuditEntry, ChangeCounter
from .audit_case import (
    CrosscheckFlag,
    CrosscheckList,
    CrosscheckMatch,
    CrosscheckRow,
    LedgerEntry,
    LedgerTransition,
    PaymentRoll,
    PaymentRollMismatch,
    PaymentRollRow,
    ReviewAssignment,
)
from .conflict import Conflict
from .household import Asset, Household, HouseholdVersion, IncomeItem, Member, Supporter
from .media import MediaObject
from .region import Region
from .review_flags import ReviewFlags, SubmissionInvestigator
from .sampling import SampleHousehold, SampleVillage, SamplingRun
from .submission import Submission, SubmissionMedia, SubmissionReview, SyncLock
from .user import DeviceToken, LoginAttempt, User

__all__ = [
    "Asset",
    "AuditEntry",
    "ChangeCounter",
    "Conflict",
    "CrosscheckFlag",
    "CrosscheckList",
    "CrosscheckMatch",
    "CrosscheckRow",
    "DeviceToken",
    "Household",
    "HouseholdVersion",
    "IncomeItem",
    "LedgerEntry",
    "LedgerTransition",
    "LoginAttempt",
    "MediaObject",
    "Member",
    "PaymentRoll",
    "PaymentRollMismatch",
    "PaymentRollRow",
    "Region",
    "ReviewAssignment",
    "ReviewFlags",
    "SampleHousehold",
    "SampleVillage",
    "SamplingRun",
    "Submission",
    "SubmissionInvestigator",
    "SubmissionMedia",
    "SubmissionReview",
    "Supporter",
    "SyncLock",
    "User",
]
