"""The console's navigation bar: one list, extended by each screen's module.

To add a screen (for example the audit lists of issue 8)::

    from .nav import NavItem, register
    register(NavItem("console.crosscheck", label="nav.crosscheck"))

and add the label key with `i18n.add_messages`. Items show in registration order, grouped by
`group` ("work", "records", "admin"); an item is shown to the roles it names.
"""

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


def items_for(role: str) -> list[NavItem]:
    """Return the items a role sees, grouped in GROUPS order."""
    visible = [item for item in _items if role in item.roles]
    return sorted(visible, key=lambda item: GROUPS.index(item.group))


def is_active(item: NavItem, endpoint: str | None) -> bool:
    """Tell whether the page at `endpoint` belongs to this item."""
    return endpoint == item.endpoint or endpoint in item.also
