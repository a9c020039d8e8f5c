"""From a submission's answers to the master-record fields its form binds.

The form says which questions bind to which record fields (`bind`); this turns the answers
into a *partial record*: only bound fields that are present in the answers. A bound repeat
(e.g. members) gives items keyed by their UUID; an item marked ``"_removed": true`` becomes
None (a removal). Absent answers mean "unchanged", so they are simply not in the result.
"""

from collections.abc import Iterable, Iterator

from . import idcard
from .record import COLLECTION_FIELDS, HOUSEHOLD_FIELDS, empty_record

# Fields with one written form whatever was typed: an ID number without the spaces a card
# prints and with an upper-case X (GB 11643), so the record, the checks and lookups by
# number agree (a phone that tidies it itself, or one that does not, store the same).
_CANONICAL = {"id_number": idcard.normalise}


class BindingError(ValueError):
    """The answers do not fit the form's bindings; `errors` maps answer paths to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def iter_questions(questions: Iterable[dict]) -> Iterator[dict]:
    """Yield every question at the answers' top level (groups are flattened; repeats are not)."""
    for question in questions:
        if question.get("type") == "group":
            yield from iter_questions(question.get("children", []))
        else:
            yield question


def form_questions(form: dict) -> list[dict]:
    """Return the top-level questions of a form definition (sections are groups)."""
    return list(iter_questions(form.get("sections", [])))


def bound_changes(form: dict, answers: dict) -> dict:
    """Return the partial record that the answers bind (see module docstring)."""
    partial = empty_record()
    errors: dict[str, list[str]] = {}
    for question in form_questions(form):
        bind, name = question.get("bind"), question["name"]
        if not bind or name not in answers:
            continue
        value = answers[name]
        if question["type"] == "repeat":
            if bind not in COLLECTION_FIELDS:
                raise ValueError(f"repeat {name} binds unknown collection {bind}")
            partial[bind].update(_bound_items(question, value, bind, errors))
            continue
        section, _, field = bind.partition(".")
        if section != "household" or field not in HOUSEHOLD_FIELDS:
            raise ValueError(f"question {name} binds unknown field {bind}")
        partial["household"][field] = value
    if errors:
        raise BindingError(errors)
    return partial


def _bound_items(
    question: dict, items: object, collection: str, errors: dict[str, list[str]]
) -> dict:
    """Return {item_id: fields or None} for the answer of a bound repeat."""
    name = question["name"]
    if not isinstance(items, list):
        errors[name] = ["must be a list of items"]
        return {}
    allowed = COLLECTION_FIELDS[collection]
    children = {c["name"]: c.get("bind") for c in iter_questions(question.get("children", []))}
    result: dict = {}
    for index, item in enumerate(items):
        item_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(item_id, str) or not item_id:
            errors[f"{name}[{index}].id"] = ["each item needs an id"]
            continue
        if item_id in result:
            errors[f"{name}[{index}].id"] = ["duplicate item id"]
            continue
        if item.get("_removed"):
            result[item_id] = None
            continue
        fields = {}
        for child_name, field in children.items():
            if field and child_name in item:
                if field not in allowed:
                    raise ValueError(f"{name}.{child_name} binds unknown field {field}")
                value = item[child_name]
                if field in _CANONICAL and isinstance(value, str):
                    value = _CANONICAL[field](value)
                fields[field] = value
        result[item_id] = fields
    return result
