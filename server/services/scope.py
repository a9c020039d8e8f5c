"""Region scope: which villages a user may see. Every household query goes through here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Select, exists, select

from ..extensions import db
from ..models import Household, Region, User
from .errors import Forbidden, NotFound

if TYPE_CHECKING:  # auth imports this module
    from .auth import Caller

NO_SUCH_HOUSEHOLD = "户不存在 / no such household"


def region_ids_under(region: Region) -> Select:
    """Return a subquery of the ids of `region` and every region below it."""
    return select(Region.id).where(Region.path.startswith(region.path))


def village_ids(user: User) -> Select:
    """Return a subquery of the village ids in the user's scope."""
    region = db.session.get(Region, user.region_id)
    return select(Region.id).where(Region.path.startswith(region.path), Region.level == "village")


def scoped_households(user: User) -> Select:
    """Return a select of the households the user may see (the only way to list them)."""
    return select(Household).where(Household.village_id.in_(village_ids(user)))


def household_ids(user: User) -> Select | None:
    """Return the select of household ids in the user's scope, or None when the scope holds
    every household (covers_everything: a county supervisor of the only county), so that a
    query may skip the filter and give the same rows (see household_condition)."""
    if covers_everything(user):
        return None
    return scoped_households(user).with_only_columns(Household.id)


def household_condition(column, ids: Select | None) -> list:
    """Return the WHERE conditions keeping `column` (a household id) within `ids` (from
    household_ids): only "has a household" when the scope holds every household."""
    return [column.is_not(None) if ids is None else column.in_(ids)]


def covers_region(user: User | Caller, region_id: int) -> bool:
    """Tell whether a region (a village, a township ...) lies in the user's scope (a User
    row, or a signed-in auth.Caller: both hold their region's path)."""
    region = db.session.get(Region, region_id)
    return bool(region and within_scope(region.path, user.region_path))


def within_scope(path: str | None, scope_path: str | None) -> bool:
    """Tell whether the region with materialised path `path` lies in the scope of the region
    with path `scope_path` (is it or below it): covers_region's test, for a caller that
    holds both paths (read with its own rows, no Region object loaded)."""
    return bool(path and scope_path and path.startswith(scope_path))


def covers_village(user: User | Caller, village_id: int) -> bool:
    """Tell whether a village lies in the user's scope."""
    return covers_region(user, village_id)


def refuse_outside(
    user: User | Caller, village_path: str | None, *, as_missing: bool = False
) -> None:
    """Refuse a household by its village's path unless it lies in the user's region:
    NotFound when there is no household (no path), Forbidden (scope.forbidden) when it lies
    elsewhere. The one rule for reading a household, looking it up and submitting for it.

    `as_missing`: one elsewhere is NotFound too, the same words as one that does not exist
    (the console: a supervisor typing ids must learn nothing of other regions' households).
    The API keeps the 403: a phone holds households (a label scanned, a survey made before a
    move) and says "outside your region" by the code, as docs/architecture.md describes."""
    if village_path is None:
        raise NotFound(NO_SUCH_HOUSEHOLD)
    if not within_scope(village_path, user.region_path):
        if as_missing:
            raise NotFound(NO_SUCH_HOUSEHOLD)
        raise Forbidden("此户不在您的负责范围内 / household outside your region",
                        code="scope.forbidden")


def household_in_scope(
    user: User | Caller, household: Household | None, *, as_missing: bool = False
) -> Household:
    """Return the household if it lies in the user's region, else refuse_outside's
    refusals."""
    refuse_outside(user, household.village.path if household is not None else None,
                   as_missing=as_missing)
    return household


def covers_everything(user: User) -> bool:
    """Tell whether the user's scope holds every household there is (a county supervisor of
    the only county), so a query may skip the scope filter and give the same rows.

    True only when no region lies outside the user's region and every household sits in a
    village (scoped_households counts villages only): two cheap EXISTS probes.
    """
    region = db.session.get(Region, user.region_id)
    if region is None:
        return False
    outside = exists().where(~Region.path.startswith(region.path))
    not_in_village = (
        exists()
        .where(Household.village_id == Region.id, Region.level != "village")
    )
    return not db.session.scalar(select(outside | not_in_village))
