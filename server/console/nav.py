"""The console's navigation bar: one list, extended by each screen's module.

To add a screen (for example the audit lists of issue 8)::

    from .nav import NavItem, register
    register(NavItem("console.crosscheck", label="nav.crosscheck"))

and add the label key with `i18n.add_messages`. Items show in registration order, grouped by
`group` ("work", "records", "admin"); an item is shown to the roles it names and, with
`only`, to the users that test passes (a county-level screen: not to township supervisors).
"""

from collections.abc import Callable
from dataclasses import dataclass

GROUPS = ("work", "records", "admin")


@dataclass(frozen=True)
class NavItem:
    """One link of the navigation bar."""

    endpoint: str
    label: str
    roles: tuple[str, ...] = ("supervisor", "admin")
    group: str = "work"
    # Other endpoints that highlight this item (the pages below a list, for example).
    also: tuple[str, ...] = ()
    # Who else the screen needs, beyond the role (None: anyone of the roles).
    only: Callable | None = None


_items: list[NavItem] = []


def register(item: NavItem) -> None:
    """Add an item to the navigation bar (once; re-registering the same endpoint replaces it)."""
    if item.group not in GROUPS:
        raise ValueError(f"unknown navigation group {item.group!r}")
    for index, existing in enumerate(_items):
        if existing.endpoint == item.endpoint:
            _items[index] = item
            return
    _items.append(item)


def items_for(user) -> list[NavItem]:
    """Return the items a user sees (by role, and `only`), grouped in GROUPS order."""
    visible = [item for item in _items
               if user.role in item.roles and (item.only is None or item.only(user))]
    return sorted(visible, key=lambda item: GROUPS.index(item.group))


def is_active(item: NavItem, endpoint: str | None) -> bool:
    """Tell whether the page at `endpoint` belongs to this item."""
    return endpoint == item.endpoint or endpoint in item.also
