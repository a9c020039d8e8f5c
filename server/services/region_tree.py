"""The townships and villages inside a user's scope, and narrowing a query to part of them.

Console filters (township, village) are codes chosen by the user; they only ever narrow the
user's scope (services.scope), never widen it: a code outside the scope selects nothing.
"""

from dataclasses import dataclass, field

from sqlalchemy import Select, select

from ..extensions import db
from ..models import Region, User
from .scope import village_ids


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


def village_filter(user: User, township: str | None = None, village: str | None = None) -> Select:
    """Return a select of village ids in scope, narrowed to a township and/or village code."""
    query = select(Region.id).where(Region.id.in_(village_ids(user)))
    if township:
        parent = select(Region.id).where(Region.code == township, Region.level == "township")
        query = query.where(Region.parent_id.in_(parent))
    if village:
        query = query.where(Region.code == village)
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
