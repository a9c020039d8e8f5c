"""Showing record values to people: dates in local time, closed sets by name, paths as words.

Everything here returns plain text; Jinja escapes it. Nothing returns markup, so no value a
phone sent can ever become HTML.
"""

from datetime import UTC, date, datetime

from flask import Flask

from .. import county_clock
from ..domain import masking
from ..domain.record import split_path
from .i18n import catalogue, translate

# Fields whose values come from a closed set with texts in the catalogue (prefix.value).
ENUM_FIELDS = {
    "status": "status",
    "area_type": "area_type",
    "relation": "relation",
    "sex": "sex",
    "health": "health",
    "work_ability": "work_ability",
    "hardship_cause": "hardship_cause",
    "category": "category",
    "period": "period",
}
BOOLEAN_FIELDS = frozenset({"staff_relative", "disputed", "co_resident"})
# Export columns (services/exports.COLUMNS) of a closed set, named like the screens name them.
EXPORT_CODES = {
    **ENUM_FIELDS,
    "review_state": "review",
    "merge_state": "merge",
    "upload_status": "media",
    "unit": "period",
}
EXPORT_FLAGS = BOOLEAN_FIELDS | {"county_review", "eligible", "near_poverty"}
EMPTY = "—"


def local_time(value) -> datetime | None:
    """Return a stored naive-UTC time (or ISO text) in the county's local time."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return county_clock.local_time(value)


def when(value, with_seconds: bool = False) -> str:
    """Format a time for the page: ``2026-05-22 14:30`` (China Standard Time by default)."""
    moment = local_time(value)
    if moment is None:
        return EMPTY
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def clock(value) -> str:
    """Format the local time of day of a stored time: ``14:30``."""
    moment = local_time(value)
    return EMPTY if moment is None else moment.strftime("%H:%M")


def day(value) -> str:
    """Format a date (or ISO date text) as ``2026-05-22``."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, datetime):
        return local_time(value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def enum(value, prefix: str) -> str:
    """Return the name of a closed-set value, or the value itself when it has none."""
    if value is None or value == "":
        return EMPTY
    key = f"{prefix}.{value}"
    return translate(key) if key in catalogue() else str(value)


def field_value(value, field: str | None = None) -> str:
    """Return a record value as text for its field."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, dict):
        return item_summary(value)
    if isinstance(value, bool) or field in BOOLEAN_FIELDS:
        return translate("common.yes") if value else translate("common.no")
    if field in ENUM_FIELDS:
        return enum(value, ENUM_FIELDS[field])
    if field in ("birth_date", "died_on", "next_review_on"):
        return day(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(field_value(v) for v in value)
    return str(value)


def export_cell(value, column: str):
    """Return an export cell in the session's language: a code by the name the screens show,
    a flag as yes/no. Numbers, dates, free text and empty cells stay as they are, so a
    spreadsheet can still sum and sort them."""
    if value is None or value == "":
        return value
    if column in EXPORT_FLAGS:
        return translate("common.yes") if value else translate("common.no")
    if column in EXPORT_CODES:
        return enum(value, EXPORT_CODES[column])
    return value


def item_summary(item: dict) -> str:
    """Summarise a whole member, supporter, asset or income item in a few words."""
    parts = []
    if item.get("name"):
        parts.append(str(item["name"]))
    if item.get("relation"):
        parts.append(enum(item["relation"], "relation"))
    if item.get("category"):
        parts.append(enum(item["category"], "category"))
    if item.get("description"):
        parts.append(str(item["description"]))
    if item.get("amount") is not None:
        parts.append(f"{field_value(item['amount'])}/{enum(item.get('period'), 'period')}")
    if item.get("id_number"):
        parts.append(masking.mask_id_number(str(item["id_number"])))
    return " · ".join(parts) or EMPTY


def path_label(path: str, snapshot: dict | None = None) -> str:
    """Describe a record path in words: ``成员 王秀英 · 职业`` for members.<uuid>.occupation."""
    try:
        section, item_id, name = split_path(path)
    except ValueError:
        return path
    if section == "household":
        return translate(f"field.{name}")
    item = ((snapshot or {}).get(section) or {}).get(item_id) or {}
    who = item.get("name") or item.get("description") or enum(item.get("category"), "category")
    if who == EMPTY or not who:
        who = item_id[:8]
    label = f"{translate(f'section.{section}')} {who}"
    return f"{label} · {translate(f'field.{name}')}" if name else label


def field_of(path: str) -> str | None:
    """Return the field name at the end of a path (None for a whole item)."""
    try:
        return split_path(path)[2]
    except ValueError:
        return None


def init_app(app: Flask) -> None:
    """Register the filters with Jinja."""
    app.jinja_env.filters.update(
        when=when,
        clock=clock,
        day=day,
        enum=enum,
        field_value=field_value,
        path_label=path_label,
        field_of=field_of,
        masked_id=masking.mask_id_number,
        masked_phone=masking.mask_phone,
        masked_name=masking.mask_name,
    )
