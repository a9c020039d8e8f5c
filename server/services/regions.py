"""Creating and finding regions."""

from sqlalchemy import select

from ..extensions import db
from ..models import Region
from .errors import Invalid


def add_region(
    *,
    name: str,
    code: str,
    level: str,
    parent: Region | None = None,
    kind: str | None = None,
    area_type: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> Region:
    """Add a region below `parent` and set its materialised path. The caller commits."""
    if level == "village" and area_type not in ("urban", "rural"):
        raise Invalid(
            "村/社区须注明城乡 / a village must be urban or rural",
            errors={"area_type": ["urban or rural"]},
        )
    region = Region(
        name=name,
        code=code,
        level=level,
        parent=parent,
        kind=kind,
        area_type=area_type,
        lat=lat,
        lon=lon,
    )
    db.session.add(region)
    db.session.flush()
    region.path = f"{parent.path if parent else '/'}{region.id}/"
    return region


def by_code(code: str) -> Region | None:
    """Return the region with this code, or None."""
    return db.session.scalar(select(Region).where(Region.code == code))
