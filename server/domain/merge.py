"""Three-way merge of a submission into a household's master record, as plain data.

``base`` is the record the phone started from, ``server`` the current master record and
``mine`` the submission's *partial* record (domain/binding.py: only the fields its form
showed; collection items keyed by UUID, a removed item as None). Per field:

=====================================  =================================================
the submitted value equals the base    not a change: nothing happens, never a conflict
the server still holds the base value  the submission's change is applied
the server already holds the same one  both changed it alike: nothing to do, no conflict
the server holds something else        a conflict; the server value stays
=====================================  =================================================

Collection items merge by UUID, so two phones adding different members both land. Removing
an item the other side edited (or editing one the other side removed) is a conflict on the
whole item (path ``members.<uuid>``). Nothing here touches a database: the service decides
what base to use (see services/sync.py for offline chains) and writes the result.
"""

from dataclasses import dataclass, field
from typing import Any

from .record import (
    COLLECTION_FIELDS,
    HOUSEHOLD_FIELDS,
    copy_json,
    empty_record,
    get_value,
    split_path,
)


@dataclass
class MergeResult:
    """What a merge produced: the new record, the changes applied and the conflicts found."""

    record: dict
    applied: list[dict] = field(default_factory=list)  # {"path", "old", "new"}
    conflicts: list[dict] = field(default_factory=list)  # {"path", "base", "server", "submitted"}


def _conflict(path: str, base: Any, server: Any, submitted: Any) -> dict:
    """Return one conflict entry."""
    return {"path": path, "base": base, "server": server, "submitted": submitted}


def _merge_value(path: str, base: Any, server: Any, mine: Any, result: MergeResult) -> bool:
    """Decide one field; return True when `mine` must be written (recorded in `result`)."""
    if mine == base or mine == server:
        return False
    if server == base:
        result.applied.append({"path": path, "old": server, "new": mine})
        return True
    result.conflicts.append(_conflict(path, base, server, mine))
    return False


def merge(base: dict, server: dict, mine: dict) -> MergeResult:
    """Merge the partial record `mine` into `server`, relative to `base` (see module doc)."""
    result = MergeResult(record=copy_json(server))
    merged = result.record
    for name in HOUSEHOLD_FIELDS:
        if name not in mine.get("household", {}):
            continue
        value = mine["household"][name]
        old = base.get("household", {}).get(name)
        if _merge_value(f"household.{name}", old, server.get("household", {}).get(name),
                        value, result):
            merged.setdefault("household", {})[name] = value
    for section in COLLECTION_FIELDS:
        for item_id, item in sorted(mine.get(section, {}).items()):
            _merge_item(section, item_id, base.get(section, {}).get(item_id),
                        server.get(section, {}).get(item_id), item, result)
    return result


def _merge_item(section: str, item_id: str, base: dict | None, server: dict | None,
                mine: dict | None, result: MergeResult) -> None:
    """Merge one collection item (an add, an edit or a removal) into result.record."""
    path = f"{section}.{item_id}"
    items = result.record.setdefault(section, {})
    if mine is None:
        # A removal of an item the phone never saw, or one already gone, changes nothing.
        if base is None or server is None:
            return
        if server == base:
            result.applied.append({"path": path, "old": server, "new": None})
            del items[item_id]
        else:
            result.conflicts.append(_conflict(path, base, server, None))
        return
    known = {k: v for k, v in mine.items() if k in COLLECTION_FIELDS[section]}
    if base is not None:
        changed = {k: v for k, v in known.items() if base.get(k) != v}
        if not changed:
            return
        if server is None:
            result.conflicts.append(_conflict(path, base, None, {**base, **known}))
            return
    elif server is None:
        # A new item (its UUID was made on the phone): it simply lands.
        result.applied.append({"path": path, "old": None, "new": dict(known)})
        items[item_id] = dict(known)
        return
    else:
        # The same UUID appeared on both sides since the base (e.g. one phone's two
        # unchained submissions): compare field by field against "nothing".
        changed, base = known, {}
    for name, value in changed.items():
        if _merge_value(f"{path}.{name}", base.get(name), server.get(name), value, result):
            items[item_id][name] = value


def overlay(record: dict, partial: dict) -> dict:
    """Return `record` with the partial record laid over it (a phone's own view)."""
    view = copy_json(record)
    for name, value in partial.get("household", {}).items():
        view.setdefault("household", {})[name] = value
    for section in COLLECTION_FIELDS:
        items = view.setdefault(section, {})
        for item_id, item in partial.get(section, {}).items():
            if item is None:
                items.pop(item_id, None)
            else:
                items[item_id] = {**items.get(item_id, {}), **item}
    return view


def set_value(record: dict, path: str, value: Any) -> dict:
    """Return a copy of `record` with one path set (an item path with None removes it)."""
    section, item_id, name = split_path(path)
    updated = copy_json(record)
    if item_id is None:
        updated.setdefault("household", {})[name] = value
        return updated
    items = updated.setdefault(section, {})
    if name is None:
        if value is None:
            items.pop(item_id, None)
        else:
            items[item_id] = dict(value)
    elif item_id in items:
        items[item_id][name] = value
    return updated


def paths_overlap(a: str, b: str) -> bool:
    """Tell whether two paths name the same field, or one names the item holding the other."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def revert(current: dict, applied: list[dict], later_paths: set[str]) -> tuple[dict, list[dict]]:
    """Undo `applied` changes on `current`, except those a later change overwrote.

    `later_paths` are the paths changed by versions after the one that applied them. A
    change is reverted only when no later path overlaps it and the record still holds the
    value it wrote. Returns the new record and the changes that were undone.
    """
    record, undone = current, []
    for change in applied:
        path = change["path"]
        if any(paths_overlap(path, later) for later in later_paths):
            continue
        section, item_id, name = split_path(path)
        if item_id is not None and name is not None and item_id not in record.get(section, {}):
            continue
        if get_value(record, path) != change["new"]:
            continue
        record = set_value(record, path, change["old"])
        undone.append({"path": path, "old": change["new"], "new": change["old"]})
    return record, undone


def partial_is_empty(partial: dict) -> bool:
    """Tell whether a partial record names no field at all."""
    return not any(partial.get(section) for section in empty_record())
