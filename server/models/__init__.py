"""All models, imported here so Alembic and the app see every table.

One module per aggregate; feature issues add their own module and one import line below.
"""

from .audit import AuditEntry, ChangeCounter
from .conflict import Conflict
from .household import Asset, Household, HouseholdVersion, IncomeItem, Member, Supporter
from .media import MediaObject
from .region import Region
from .submission import Submission, SubmissionMedia, SubmissionReview, SyncLock
from .user import DeviceToken, LoginAttempt, User

__all__ = [
    "Asset",
    "AuditEntry",
    "ChangeCounter",
    "Conflict",
    "DeviceToken",
    "Household",
    "HouseholdVersion",
    "IncomeItem",
    "LoginAttempt",
    "MediaObject",
    "Member",
    "Region",
    "Submission",
    "SubmissionMedia",
    "SubmissionReview",
    "Supporter",
    "SyncLock",
    "User",
]
