"""Door labels: a printable sheet of QR codes for the households of one village.

Each label carries the household's code and a masked name (张**): the label hangs on a
door, so it shows nothing more (domain.md, Privacy). The QR codes are made here and sent
inline as data: URLs, so a sheet of 200 labels is one request and one audit entry.
"""

import base64
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..domain.masking import mask_name
from ..extensions import db
from ..models import Household, Region, User
from . import audit, qr_codes
from .errors import NotFound
from .household_directory import head_name
from .region_tree import village_filter
from .scope import scoped_households


@dataclass
class Label:
    """One door label."""

    code: str
    masked_name: str
    address: str
    qr_data_uri: str


def qr_data_uri(data: str) -> str:
    """Return an SVG QR code as a data: URL for an <img>."""
    return "data:image/svg+xml;base64," + base64.b64encode(qr_codes.svg(data)).decode()


def label_sheet(user: User, village_code: str, *, base_url: str, ip: str | None = None) -> dict:
    """Return the labels of a village in the user's scope, ordered by code. Audited."""
    village = db.session.scalar(
        select(Region).where(
            Region.id.in_(village_filter(user, village=village_code)), Region.level == "village"
        )
    )
    if village is None:
        raise NotFound("村(社区)不存在或不在您的范围内 / no such village in your region")
    households = db.session.scalars(
        scoped_households(user)
        .where(Household.village_id == village.id, Household.status != "closed")
        .order_by(Household.code)
        .options(selectinload(Household.members))
    ).all()
    labels = [
        Label(
            code=h.code,
            masked_name=mask_name(head_name(h)) or "",
            # The village, not the house number: a label must not locate a person for others.
            address=village.name,
            qr_data_uri=qr_data_uri(qr_codes.household_url(base_url, h.qr_token)),
        )
        for h in households
    ]
    audit.record(
        "labels.print",
        actor=user,
        object_type="village",
        object_id=village.code,
        ip=ip,
        detail={"count": len(labels)},
    )
    db.session.commit()
    township = db.session.get(Region, village.parent_id)
    return {"village": village, "township": township, "labels": labels}
