"""All models, imported here so Alembic and the app see every table.

One module per aggregate; feature issues add their own module and one import line below.
"""

from .audit import AuditEntry, ChangeCounter
from .household import Asset, Household, HouseholdVersion, IncomeItem, Member, Supporter
from .region import Region
from .user import DeviceToken, LoginAttempt, User

__all__ = [
    "Asset",
    "AuditEntry",
    "ChangeCounter",
    "DeviceToken",
    "Household",
    "HouseholdVersion",
    "IncomeItem",
    "LoginAttempt",
    "Member",
    "Region",
    "Supporter",
    "User",
]
