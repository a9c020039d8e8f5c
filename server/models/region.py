"""The region tree: county → township (乡镇/街道) → village (村) or community (社区)."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

LEVELS = ("county", "township", "village")
VILLAGE_KINDS = ("village", "community")
AREA_TYPES = ("urban", "rural")


class Region(db.Model):
    """One node of the region tree; `path` holds the ids from the root, e.g. "/1/4/9/"."""

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(16))
    area_type: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # A materialised path makes "every village under this township" one indexed LIKE query.
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    lat: Mapped[float | None]
    lon: Mapped[float | None]

    parent: Mapped["Region | None"] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"
