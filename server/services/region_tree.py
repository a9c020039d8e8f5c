"""The townships and villages inside a user's scope, and narrowing a query to part of them.

Console filters (township, village) are codes chosen by the user; they only ever narrow the
user's scope (services.scope), never widen it. A code that names no township (village) of the
scope is refused as NotFound, whether it lies elsewhere, names nothing or is not a code at
all: not told apart, so a filter tells nothing of other regions; and never ignored, or a list
would claim "all" (or be empty) under a filter that did not apply.
"""

from dataclasses import dataclass, field

from sqlalchemy import Select, select

from ..extensions import db
from ..models import Region, User
from .audit_files import plain_text
from .errors import NotFound
from .scope import village_ids

NO_SUCH_REGION = "乡镇或村(社区)不存在或不在您的范围内 / no such township or village in your region"


@dataclass
class TownshipNode:
    """A township with the villages of it that the user may see."""

    region: Region
    villages: list[Region] = field(default_factory=list)


def scope_tree(user: User) -> list[TownshipNode]:
    """Return the townships and villages in the user's scope, ordered by code."""
    villages = db.session.scalars(
        select(Region).where(Region.id.in_(village_ids(user))).order_by(Region.code)
    ).all()
    parents = {
        r.id: r
        for r in db.session.scalars(
            select(Region).where(Region.id.in_({v.parent_id for v in villages if v.parent_id}))
        )
    }
    nodes: dict[int, TownshipNode] = {}
    for village in villages:
        parent = parents.get(village.parent_id)
        if parent is None:
            continue
        nodes.setdefault(parent.id, TownshipNode(parent)).villages.append(village)
    return sorted(nodes.values(), key=lambda node: node.region.code)


def require_in_scope(
    user: User, township: str | None = None, village: str | None = None
) -> tuple[Region | None, Region | None]:
    """Return the (township, village) a filter names, each None when not given; NotFound
    unless each is one of scope_tree's: a township with villages in scope, a village in
    scope (of the township, when both are given). The one check of every filter by region."""
    # NULs dropped as everywhere (PostgreSQL cannot take them); a code given that is nothing
    # once cleaned names no region either, not "no filter".
    if any(code and not plain_text(code) for code in (township, village)):
        raise NotFound(NO_SUCH_REGION)
    township, village = plain_text(township), plain_text(village)
    found_township = found_village = None
    if township:
        found_township = db.session.scalar(
            select(Region).where(
                Region.code == township,
                Region.level == "township",
                Region.id.in_(select(Region.parent_id).where(Region.id.in_(village_ids(user)))),
            )
        )
        if found_township is None:
            raise NotFound(NO_SUCH_REGION)
    if village:
        query = select(Region).where(
            Region.code == village, Region.level == "village", Region.id.in_(village_ids(user))
        )
        if found_township is not None:
            query = query.where(Region.parent_id == found_township.id)
        found_village = db.session.scalar(query)
        if found_village is None:
            raise NotFound(NO_SUCH_REGION)
    return found_township, found_village


def village_filter(user: User, township: str | None = None, village: str | None = None) -> Select:
    """Return a select of village ids in scope, narrowed to a township and/or village code
    (NotFound for a code outside the scope: require_in_scope)."""
    found_township, found_village = require_in_scope(user, township, village)
    query = select(Region.id).where(Region.id.in_(village_ids(user)))
    if found_township is not None:
        query = query.where(Region.parent_id == found_township.id)
    if found_village is not None:
        query = query.where(Region.id == found_village.id)
    return query


def names(village_ids_: set[int]) -> dict[int, tuple[str, str]]:
    """Return {village_id: (township name, village name)} for display."""
    if not village_ids_:
        return {}
    villages = db.session.scalars(select(Region).where(Region.id.in_(village_ids_))).all()
    parents = {
        r.id: r.name
        for r in db.session.scalars(
            select(Region).where(Region.id.in_({v.parent_id for v in villages if v.parent_id}))
        )
    }
    return {v.id: (parents.get(v.parent_id, ""), v.name) for v in villages}
