"""Registering a new household in the master record (used by import, demo and sync)."""

import re
import secrets

from ..domain.record import empty_record
from ..extensions import db
from ..models import Household, Region, User
from ..models.household import new_uuid
from .household_record import apply_record
from .versions import record_version


def new_qr_token() -> str:
    """Return an opaque label token: 120 random bits, never derived from personal data."""
    return secrets.token_urlsafe(15)


# What a label's token can look like: URL-safe base64, as long as the column holds.
_QR_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,40}")


def may_be_qr_token(text: str) -> bool:
    """Tell whether some label could carry this text (any other QR code a camera finds
    cannot be one of ours: no need to ask the database)."""
    return _QR_TOKEN.fullmatch(text) is not None


def register_household(
    village: Region,
    *,
    code: str,
    record: dict,
    cause: str,
    actor: User | None = None,
    source_ref: str | None = None,
) -> Household:
    """Add a household with its record and write version 1. The caller commits.

    `record` is a (possibly partial) record; collection items without ids get fresh UUIDs.
    """
    household = Household(
        code=code,
        qr_token=new_qr_token(),
        village_id=village.id,
        area_type=village.area_type or "rural",
        status="applicant",
    )
    db.session.add(household)
    full = empty_record()
    full["household"] = dict(record.get("household", {}))
    full["household"].setdefault("area_type", household.area_type)
    full["household"].setdefault("status", household.status)
    full["household"]["village_id"] = village.id
    for section in ("members", "supporters", "assets", "incomes"):
        items = record.get(section, {})
        if isinstance(items, list):
            items = {item.get("id") or new_uuid(): item for item in items}
        full[section] = {
            item_id: {k: v for k, v in item.items() if k != "id"} | {"position": i}
            for i, (item_id, item) in enumerate(items.items())
        }
    apply_record(household, full)
    db.session.flush()
    record_version(household, before=None, cause=cause, actor=actor, source_ref=source_ref)
    return household
