"""Form definitions: checking a definition, walking its questions, and checking answers.

The format is the contract in docs/architecture.md ("Form definitions"). A definition is
plain data (loaded from forms/<id>/<version>.yaml by services/forms.py); nothing here reads
files. `validate_definition` reports every problem with its place, e.g.
``forms/dibao_household_survey/2026.1.yaml: sections[3].children[2].relevant: unknown
operator "foo"``; `validate_answers` returns field-level errors for a submission's answers
(the 422 of the sync service).
"""

import hashlib
import json
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from . import logic
from .record import COLLECTION_FIELDS, HOUSEHOLD_FIELDS

QUESTION_TYPES = (
    "text", "integer", "decimal", "money", "date", "select_one", "select_multiple", "yes_no",
    "geopoint", "photo", "signature", "note", "group", "repeat", "calculate",
)  # fmt: skip
# Types that never hold an answer of their own.
NO_ANSWER = frozenset({"note", "group"})
SIGNATURE_ROLES = ("investigator", "household")
FORM_KEYS = frozenset({"id", "version", "title", "sections"})
QUESTION_KEYS = frozenset({
    "name", "type", "label", "hint", "bind", "required", "relevant", "constraint",
    "constraint_message", "calculate", "choices", "choices_from", "photo", "signature",
    "children",
})  # fmt: skip
NAME = re.compile(r"[a-z][a-z0-9_]*")
FORM_ID = re.compile(r"[a-z][a-z0-9_]*")
VERSION = re.compile(r"\d{4}\.\d+")
SHA256 = re.compile(r"[0-9a-f]{64}")
# Names the JsonLogic data context uses itself (docs/architecture.md): not question names.
RESERVED_NAMES = frozenset({"item", "id"})
ITEM_KEYS = frozenset({"id", "_removed"})

REQUIRED = "必填 / required"
# The question that dates the visit (services/forms.py visit_date reads it by this name).
VISIT_DATE = "visit_date"
# A visit cannot be dated after today. The phone dates it on its own calendar: in China
# (UTC+8) that is a day ahead of UTC's from 16:00 UTC, and a phone's clock may be a little
# fast. The latest day accepted is today in the earliest time zone on Earth (UTC+14): never
# a real visit refused, and 6 hours of slack for a phone in China.
EARLIEST_ZONE = timedelta(hours=14)


class FormError(ValueError):
    """A form definition is not valid; `errors` lists each problem with its place."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Located:
    """A question with where it sits: its path in the definition, its repeat, and the
    `relevant` rules of the groups around it."""

    question: dict
    path: str
    repeat: dict | None
    conditions: tuple


def version_key(version: str) -> tuple[int, ...]:
    """Return a sortable key for a version like "2026.1" (2026.10 sorts after 2026.9)."""
    return tuple(int(part) for part in version.split("."))


def content_hash(form: dict) -> str:
    """Return the SHA-256 of a definition's canonical JSON (comments and layout ignored)."""
    text = json.dumps(form, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _visit(questions: Any, path: str, repeat: dict | None,
           conditions: tuple) -> Iterator[Located]:
    """Yield the questions of one children list, descending into groups and repeats."""
    for index, question in enumerate(questions if isinstance(questions, list) else []):
        if not isinstance(question, dict):
            continue
        here = f"{path}[{index}]"
        yield Located(question, here, repeat, conditions)
        inner = conditions + ((question["relevant"],) if "relevant" in question else ())
        if question.get("type") == "group":
            yield from _visit(question.get("children"), f"{here}.children", repeat, inner)
        elif question.get("type") == "repeat":
            yield from _visit(question.get("children"), f"{here}.children", question, ())


def walk(form: dict) -> Iterator[Located]:
    """Yield every question of a form (groups and repeats too), depth first."""
    yield from _visit(form.get("sections"), "sections", None, ())


# places(): the walk of each definition seen, by identity. The entry holds the definition
# itself, so its id cannot be reused while cached. Bounded: definitions made on the fly
# (tests, `ruhu forms check`) push old entries out.
_PLACES: dict[int, tuple[dict, tuple[Located, ...]]] = {}
CACHED_DEFINITIONS = 64


def places(form: dict) -> tuple[Located, ...]:
    """Return `walk(form)` as a tuple, computed once per definition object.

    Answers are checked and assessed against the same few definitions all day (a merge
    visits ~1,300 places), so the walk is remembered. Definitions are read-only once
    loaded (services/forms.py hands out the catalogue's own objects); a definition that
    is being edited must be walked with `walk`.
    """
    return _remembered(form, lambda: tuple(walk(form)))


def _remembered(definition: dict, compute) -> tuple[Located, ...]:
    """Return compute() for a definition object, computed once while it stays cached."""
    return kept_per_definition(_PLACES, definition, compute)


def kept_per_definition(cache: dict[int, tuple[dict, Any]], definition: dict, compute) -> Any:
    """Return compute() for a definition object from `cache` (by identity, bounded)."""
    entry = cache.get(id(definition))
    if entry is not None and entry[0] is definition:
        return entry[1]
    result = compute()
    with _KEPT_LOCK:  # server threads may miss at once: one evicts at a time
        if len(cache) >= CACHED_DEFINITIONS:
            cache.pop(next(iter(cache)), None)
        cache[id(definition)] = (definition, result)
    return result


_KEPT_LOCK = threading.Lock()


def questions_of_type(form: dict, *types: str) -> list[Located]:
    """Return the questions of some types, with their places."""
    return [located for located in places(form) if located.question.get("type") in types]


# ---- definition ----------------------------------------------------------------------------


def validate_definition(form: Any, source: str = "") -> list[str]:
    """Return every problem of a form definition as ``"<source>: <path>: <message>"``."""
    checker = _DefinitionChecker(form)
    checker.check()
    prefix = f"{source}: " if source else ""
    return [f"{prefix}{error}" for error in checker.errors]


def check_definition(form: Any, source: str = "") -> dict:
    """Return the form if it is valid; raise FormError listing its problems otherwise."""
    errors = validate_definition(form, source)
    if errors:
        raise FormError(errors)
    return form


def _is_text(value: Any) -> bool:
    """Tell whether a value is a {"zh", "en"} text with both languages filled."""
    return (isinstance(value, dict) and set(value) <= {"zh", "en"}
            and all(isinstance(value.get(k), str) and value[k].strip() for k in ("zh", "en")))


class _DefinitionChecker:
    """Collects every problem of one definition."""

    def __init__(self, form: Any):
        self.form = form if isinstance(form, dict) else {}
        self.errors: list[str] = [] if isinstance(form, dict) else ["form: must be a mapping"]
        self.top_names: dict[str, dict] = {}
        self.binds: dict[str, str] = {}

    def error(self, path: str, message: str) -> None:
        """Note one problem."""
        self.errors.append(f"{path}: {message}")

    def check(self) -> None:
        """Check the whole definition."""
        form = self.form
        for key in sorted(set(form) - FORM_KEYS):
            self.error(key, "unknown key")
        if not isinstance(form.get("id"), str) or not FORM_ID.fullmatch(form["id"]):
            self.error("id", "required: lower-case letters, digits and _")
        if not isinstance(form.get("version"), str) or not VERSION.fullmatch(form["version"]):
            self.error("version", 'required: a quoted "YYYY.N" string, e.g. "2026.1"')
        if not _is_text(form.get("title")):
            self.error("title", "needs zh and en text")
        sections = form.get("sections")
        if not isinstance(sections, list) or not sections:
            self.error("sections", "needs at least one section")
            return
        for index, section in enumerate(sections):
            if not isinstance(section, dict) or section.get("type") != "group":
                self.error(f"sections[{index}]", "a section must be a group")
        located = list(walk(form))
        self._collect_names(located)
        for place in located:
            self._check_question(place)

    def _collect_names(self, located: list[Located]) -> None:
        """Record every name (unique across the form) and the answers' top-level names."""
        seen: dict[str, str] = {}
        for place in located:
            name = place.question.get("name")
            if not isinstance(name, str) or not NAME.fullmatch(name):
                self.error(f"{place.path}.name", "required: lower-case letters, digits and _")
                continue
            if name in RESERVED_NAMES:
                self.error(f"{place.path}.name", f'"{name}" is reserved')
            if name in seen:
                self.error(f"{place.path}.name", f'duplicate name "{name}" (first at {seen[name]})')
                continue
            seen[name] = place.path
            kind = place.question.get("type")
            if place.repeat is None and kind != "group":
                self.top_names[name] = place.question

    def _check_question(self, place: Located) -> None:
        """Check one question's keys, type and type-specific parts."""
        question, path = place.question, place.path
        for key in sorted(set(question) - QUESTION_KEYS):
            self.error(f"{path}.{key}", "unknown key")
        kind = question.get("type")
        if kind not in QUESTION_TYPES:
            self.error(f"{path}.type", f'unknown type "{kind}" (one of {", ".join(QUESTION_TYPES)})')
            return
        if not _is_text(question.get("label")):
            self.error(f"{path}.label", "needs zh and en text")
        if "hint" in question and not _is_text(question["hint"]):
            self.error(f"{path}.hint", "needs zh and en text")
        if kind in ("group", "repeat"):
            children = question.get("children")
            if not isinstance(children, list) or not children:
                self.error(f"{path}.children", f"a {kind} needs children")
            if kind == "repeat" and place.repeat is not None:
                self.error(path, "a repeat inside a repeat is not supported")
        elif "children" in question:
            self.error(f"{path}.children", f"a {kind} has no children")
        self._check_only_on(place, kind)
        self._check_bind(place, kind)
        self._check_choices(place, kind)
        self._check_media(place, kind)
        self._check_rules(place, kind)

    def _check_only_on(self, place: Located, kind: str) -> None:
        """Refuse keys that make no sense for the question's type."""
        allowed = {
            "choices": ("select_one", "select_multiple"),
            "choices_from": ("select_one", "select_multiple"),
            "photo": ("photo",),
            "signature": ("signature",),
            "calculate": ("calculate",),
        }
        for key, kinds in allowed.items():
            if key in place.question and kind not in kinds:
                self.error(f"{place.path}.{key}", f"not allowed on a {kind}")
        refused = {
            "note": ("required", "constraint", "bind"),
            "group": ("required", "constraint", "bind"),
            "repeat": ("constraint",),
            "calculate": ("required", "constraint"),
        }
        for key in refused.get(kind, ()):
            if key in place.question:
                self.error(f"{place.path}.{key}", f"not allowed on a {kind}")

    def _check_bind(self, place: Located, kind: str) -> None:
        """Check that a bind names a master-record field the question can fill."""
        bind = place.question.get("bind")
        if bind is None:
            return
        path = f"{place.path}.bind"
        if not isinstance(bind, str):
            self.error(path, "must be a record path")
            return
        if kind in ("photo", "signature", "note", "group"):
            self.error(path, f"a {kind} cannot bind to the record")
            return
        if kind == "repeat":
            if bind not in COLLECTION_FIELDS:
                self.error(path, f'bad bind path "{bind}": a repeat binds one of '
                                 f'{", ".join(COLLECTION_FIELDS)}')
                return
            target = bind
        elif place.repeat is not None:
            collection = place.repeat.get("bind")
            if not collection:
                self.error(path, f'bad bind path "{bind}": its repeat is not bound')
                return
            fields = COLLECTION_FIELDS.get(collection, ())
            if bind not in fields or bind == "position":
                self.error(path, f'bad bind path "{bind}": not a field of {collection} '
                                 f'({", ".join(f for f in fields if f != "position")})')
                return
            target = f"{collection}[].{bind}"
        else:
            section, _, field = bind.partition(".")
            if section != "household" or field not in HOUSEHOLD_FIELDS:
                self.error(path, f'bad bind path "{bind}": expected household.<field> with '
                                 f'field one of {", ".join(HOUSEHOLD_FIELDS)}')
                return
            target = bind
        if target in self.binds:
            self.error(path, f'"{bind}" is already bound by {self.binds[target]}')
        else:
            self.binds[target] = place.path

    def _check_choices(self, place: Located, kind: str) -> None:
        """Check the choices of a select question (or where they come from)."""
        if kind not in ("select_one", "select_multiple"):
            return
        question, path = place.question, place.path
        if "choices_from" in question:
            if "choices" in question:
                self.error(f"{path}.choices", "give choices or choices_from, not both")
            self._check_choices_from(question["choices_from"], f"{path}.choices_from")
            return
        choices = question.get("choices")
        if not isinstance(choices, list) or not choices:
            self.error(f"{path}.choices", f"a {kind} needs choices")
            return
        values: set = set()
        for index, choice in enumerate(choices):
            here = f"{path}.choices[{index}]"
            value = choice.get("value") if isinstance(choice, dict) else None
            if not isinstance(value, str) or not value:
                self.error(f"{here}.value", "required: text (quote numbers and yes/no)")
            elif value in values:
                self.error(f"{here}.value", f'duplicate choice "{value}"')
            values.add(value)
            if not isinstance(choice, dict) or not _is_text(choice.get("label")):
                self.error(f"{here}.label", "needs zh and en text")

    def _check_choices_from(self, source: Any, path: str) -> None:
        """Check that choices_from names a repeat and one of its children as the label."""
        if not isinstance(source, dict) or set(source) != {"repeat", "label"}:
            self.error(path, "needs repeat and label")
            return
        repeat = self.top_names.get(source["repeat"])
        if not repeat or repeat.get("type") != "repeat":
            self.error(f"{path}.repeat", f'unknown repeat "{source["repeat"]}"')
            return
        children = {c.get("name") for c in repeat.get("children", []) if isinstance(c, dict)}
        if source["label"] not in children:
            self.error(f"{path}.label", f'"{source["label"]}" is not a question of '
                                        f'{source["repeat"]}')

    def _check_media(self, place: Located, kind: str) -> None:
        """Check the photo and signature settings."""
        question, path = place.question, place.path
        if kind == "photo":
            spec = question.get("photo")
            if not isinstance(spec, dict):
                self.error(f"{path}.photo", "a photo needs photo: {category, min, max}")
                return
            for key in sorted(set(spec) - {"category", "min", "max"}):
                self.error(f"{path}.photo.{key}", "unknown key")
            if not isinstance(spec.get("category"), str) or not NAME.fullmatch(spec["category"]):
                self.error(f"{path}.photo.category", "required: lower-case letters, digits and _")
            low, high = spec.get("min", 0), spec.get("max")
            if not isinstance(low, int) or isinstance(low, bool) or low < 0:
                self.error(f"{path}.photo.min", "must be a whole number ≥ 0")
            elif high is not None and (not isinstance(high, int) or isinstance(high, bool)
                                       or high < max(low, 1)):
                self.error(f"{path}.photo.max", "must be a whole number ≥ min and ≥ 1")
        if kind == "signature":
            spec = question.get("signature")
            role = spec.get("role") if isinstance(spec, dict) else None
            if role not in SIGNATURE_ROLES:
                self.error(f"{path}.signature.role", f"one of {', '.join(SIGNATURE_ROLES)}")

    def _check_rules(self, place: Located, kind: str) -> None:
        """Check required, relevant, constraint and calculate, and the constraint message."""
        question, path = place.question, place.path
        if kind == "calculate" and "calculate" not in question:
            self.error(f"{path}.calculate", "a calculate needs a calculate rule")
        if "constraint" in question and not _is_text(question.get("constraint_message")):
            self.error(f"{path}.constraint_message", "a constraint needs a zh and en message")
        if "constraint_message" in question and "constraint" not in question:
            self.error(f"{path}.constraint_message", "a message without a constraint")
        scope = _Scope(self.top_names, place.repeat)
        for key in ("required", "relevant", "constraint", "calculate"):
            if key not in question:
                continue
            rule = question[key]
            if key == "required" and isinstance(rule, bool):
                continue
            if key == "required" and not isinstance(rule, dict):
                self.error(f"{path}.required", "must be true, false or a JsonLogic rule")
                continue
            for where, message in _rule_problems(rule, scope):
                self.error(f"{path}.{key}{where}", message)


@dataclass(frozen=True)
class _Scope:
    """What `var` may name at one point of a rule: answer names, `item`, or an element."""

    top: dict
    repeat: dict | None = None
    element: frozenset | None = None  # inside map/filter/...: the element's keys, if known
    reducing: frozenset | None = None  # inside reduce: the element's keys, if known
    unknown: bool = False  # inside an iteration over something we cannot see into

    def children(self, repeat: dict | None) -> frozenset:
        """Return the keys of one repeat item."""
        names = {c.get("name") for c in (repeat or {}).get("children", []) if isinstance(c, dict)}
        return frozenset(names) | ITEM_KEYS


def _var_problem(name: Any, scope: _Scope) -> str | None:
    """Return why a `var` name cannot be resolved in a scope, or None when it can (or when
    we cannot tell)."""
    if not isinstance(name, str) or name == "" or scope.unknown:
        return None
    parts = name.split(".")
    if scope.reducing is not None:
        if parts[0] == "accumulator":
            return None
        if parts[0] != "current":
            return f'unknown variable "{name}" (inside reduce: current or accumulator)'
        if len(parts) > 1 and scope.reducing and parts[1] not in scope.reducing:
            return f'unknown variable "{name}"'
        return None
    if scope.element is not None:
        return None if parts[0] in scope.element else f'unknown variable "{name}"'
    if parts[0] == "item":
        if scope.repeat is None:
            return f'unknown variable "{name}" ("item" exists only inside a repeat)'
        if len(parts) > 1 and parts[1] not in scope.children(scope.repeat):
            return f'unknown variable "{name}" (not a question of {scope.repeat.get("name")})'
        return None
    if parts[0] not in scope.top:
        return f'unknown variable "{name}"'
    return None


def _element_scope(source: Any, scope: _Scope) -> frozenset | None:
    """Return the keys of the elements a list rule yields, when it is a repeat we know."""
    if isinstance(source, dict) and len(source) == 1:
        op, args = next(iter(source.items()))
        args = args if isinstance(args, list) else [args]
        if op == "var" and args and isinstance(args[0], str) and scope.element is None:
            named = scope.top.get(args[0])
            if named and named.get("type") == "repeat":
                return scope.children(named)
        if op == "filter" and args:
            return _element_scope(args[0], scope)
    return None


def _rule_problems(rule: Any, scope: _Scope, where: str = "") -> list[tuple[str, str]]:
    """List (place, message) for unknown operators, bad shapes and unknown variables."""
    if isinstance(rule, list):
        found = []
        for index, item in enumerate(rule):
            found += _rule_problems(item, scope, f"{where}[{index}]")
        return found
    if not isinstance(rule, dict):
        return []
    if len(rule) != 1:
        return [(where, "a rule object needs exactly one operator")]
    op, args = next(iter(rule.items()))
    if op not in logic.OPERATORS:
        return [(where, f'unknown operator "{op}"')]
    here = f"{where}.{op}"
    items = args if isinstance(args, list) else [args]
    if op == "var":
        if not items:
            return []
        if isinstance(items[0], dict | list):
            return _rule_problems(items[0], scope, here)
        problem = _var_problem(items[0], scope)
        return [(here, problem)] if problem else []
    if op in ("missing", "missing_some"):
        names = items[1] if op == "missing_some" and len(items) > 1 else items
        names = names if isinstance(names, list) else [names]
        return [(here, p) for p in (_var_problem(n, scope) for n in names) if p]
    if op in logic.ITERATING:
        if len(items) < 2:
            return [(here, f"{op} needs a list and a rule")]
        found = _rule_problems(items[0], scope, f"{here}[0]")
        keys = _element_scope(items[0], scope)
        if op == "reduce":
            # Unknown elements: any current.<key> is accepted (an empty set checks nothing).
            inner = _Scope(scope.top, scope.repeat, reducing=keys or frozenset())
            found += _rule_problems(items[1], inner, f"{here}[1]")
            if len(items) > 2 and isinstance(items[2], dict | list):
                found.append((f"{here}[2]", "the initial value of reduce must be a plain "
                                            "value (the two JsonLogic libraries differ)"))
            return found
        inner = (_Scope(scope.top, scope.repeat, element=keys) if keys is not None
                 else _Scope(scope.top, scope.repeat, unknown=True))
        return found + _rule_problems(items[1], inner, f"{here}[1]")
    found = []
    for index, item in enumerate(items):
        found += _rule_problems(item, scope, f"{here}[{index}]")
    return found


# ---- answers -------------------------------------------------------------------------------


def is_empty(value: Any) -> bool:
    """Tell whether an answer counts as not given (None, "", an empty list); False is given."""
    return value is None or value == "" or value == []


def _evaluate(rule: Any, data: dict) -> bool:
    """Evaluate a rule to a truth value."""
    return logic.truthy(logic.evaluate(rule, data))


def latest_visit_date(now: datetime) -> date:
    """Return the latest visit date a survey may carry at the moment `now` (aware)."""
    return (now.astimezone(UTC) + EARLIEST_ZONE).date()


def validate_answers(form: dict, answers: Any,
                     latest_visit: date | None = None) -> dict[str, list[str]]:
    """Return field-level errors for answers to a (valid) form: {path: [messages]}.

    Checks: unknown names, relevance (an answer to a question that is not relevant is an
    error: the phone must clear it), required, type and shape, constraints, and, given
    `latest_visit` (see latest_visit_date), a visit date not after it. Paths are answer
    names, with ``members[0].member_name`` inside repeats.
    """
    if not isinstance(answers, dict):
        return {"answers": ["应为对象 / must be an object"]}
    errors: dict[str, list[str]] = {}
    plan = _form_plan(form)
    if not plan.names.issuperset(answers):
        for name in answers:
            if name not in plan.names:
                errors.setdefault(name, []).append(UNKNOWN_QUESTION)
    _check_answers(plan.top, answers, answers, answers, None, errors)
    visit = answers.get(VISIT_DATE)
    if (latest_visit is not None and plan.dated and VISIT_DATE not in errors
            and _is_date(visit) and date.fromisoformat(visit) > latest_visit):
        errors[VISIT_DATE] = [f"调查日期{visit}晚于今天 / the visit date {visit} is after today"]
    return errors


UNKNOWN_QUESTION = "表单中没有此问题 / not a question of this form"
NOT_RELEVANT = "此问题不适用,应为空 / not relevant here: must be empty"


@dataclass(frozen=True, slots=True)
class _Answer:
    """One answer-holding question and what checking its answer needs, worked out once per
    definition: its relevance rules (its groups' first), each with the key its truth is
    remembered by in one data context (equal rules share a key: the survey asks
    ``big_purchase == true`` for three questions), whether it is required (or the rule
    that tells), its type check, and its constraint with the message."""

    place: Located
    name: str
    kind: str
    rules: tuple[tuple[Any, Any], ...]
    required: bool
    required_rule: dict | None
    check: Any  # (question, value, answers) -> problem or None
    constrained: bool
    constraint: Any
    message: str | None


@dataclass(frozen=True, slots=True)
class _FormPlan:
    """The answer-holding questions outside repeats, their names, and whether the form has
    a visit date to bound."""

    top: tuple[_Answer, ...]
    names: frozenset
    dated: bool


# The answer checks of each definition (a form, or a repeat: its children) seen, as
# _PLACES keeps walks: by identity, holding the definition, bounded.
_PLANS: dict[int, tuple[dict, Any]] = {}


def _form_plan(form: dict) -> _FormPlan:
    """Return the answer checks of a form's questions outside repeats (once per definition)."""
    def compute() -> _FormPlan:
        top = [p for p in places(form)
               if p.repeat is None and p.question.get("type") not in NO_ANSWER]
        names = frozenset(p.question["name"] for p in top)
        keys: dict = {}
        return _FormPlan(
            top=tuple(_answer_of(p, keys) for p in top), names=names,
            dated=any(p.question["name"] == VISIT_DATE and p.question["type"] == "date"
                      for p in top))

    return kept_per_definition(_PLANS, form, compute)


def _item_plan(place: Located) -> tuple[tuple[_Answer, ...], frozenset, bool]:
    """Return a repeat's children as answer checks, the keys an item may have, and whether
    any child has a rule (else an item's data context is never needed)."""
    def compute() -> tuple[tuple[_Answer, ...], frozenset, bool]:
        children = _children(place)
        keys: dict = {}
        checks = tuple(_answer_of(p, keys) for p in children)
        names = frozenset(p.question["name"] for p in children)
        ruled = any(c.rules or c.required_rule is not None or c.constrained for c in checks)
        return checks, names | ITEM_KEYS, ruled

    return kept_per_definition(_PLANS, place.question, compute)


def _answer_of(place: Located, keys: dict) -> _Answer:
    """Work out the checks of one question (`keys`: the memo key of each rule text seen)."""
    question = place.question
    name, kind = question["name"], question["type"]
    rules = place.conditions + ((question["relevant"],) if "relevant" in question else ())
    required = question.get("required", False)
    message = question.get("constraint_message")
    if isinstance(message, dict) and isinstance(message.get("zh"), str) \
            and isinstance(message.get("en"), str):
        message = f"{message['zh']} / {message['en']}"
    else:
        message = None  # not given (an invalid form): fails when needed, as it always did
    check = _TYPE_CHECKS.get(kind)
    if kind in ("select_one", "select_multiple") and not question.get("choices_from"):
        allowed = _fixed_choices(question)
        if allowed is not None:
            check = partial(_fixed_choice_problem, allowed)
    return _Answer(
        place=place, name=name, kind=kind,
        rules=tuple((_rule_key(rule, keys), rule) for rule in rules),
        required=bool(required) if not isinstance(required, dict) else False,
        required_rule=required if isinstance(required, dict) else None,
        check=check, constrained="constraint" in question,
        constraint=question.get("constraint"), message=message)


def _rule_key(rule: Any, keys: dict) -> Any:
    """Return the key a rule's truth is remembered by: its JSON text when the rule is plain
    JSON whose every object is an operator (so equal texts evaluate alike), else the rule
    object itself, held by its id."""
    if _is_plain_rule(rule):
        try:
            text = json.dumps(rule, ensure_ascii=False, allow_nan=True)
        except (TypeError, ValueError):
            return id(rule)
        return keys.setdefault(text, text)
    return id(rule)


def _is_plain_rule(rule: Any) -> bool:
    """Tell whether a rule is made of text, numbers, true/false/null, lists and one-key
    objects with text keys only (a literal object of another size is kept by identity
    when evaluated, which `==` can tell apart)."""
    if rule is None or type(rule) in (str, int, float, bool):
        return True
    if type(rule) is list:
        return all(_is_plain_rule(item) for item in rule)
    if type(rule) is dict and len(rule) == 1:
        key, value = next(iter(rule.items()))
        return type(key) is str and _is_plain_rule(value)
    return False


def _fixed_choices(question: dict) -> frozenset | None:
    """Return the values of a select question's own choices, or None when they cannot be
    read (an invalid form: checked the plain way, failing where it always did)."""
    try:
        return frozenset(c["value"] for c in question.get("choices", []))
    except (KeyError, TypeError):
        return None


def _fixed_choice_problem(allowed: frozenset, question: dict, value: Any,
                          answers: dict) -> str | None:
    """Return why a select answer is not among a question's own choices (`allowed`)."""
    return _choice_problem_among(question, value, allowed)


def _check_answers(checks: tuple[_Answer, ...], source: dict, answers: dict,
                   data: dict | None, prefix: str | None,
                   errors: dict[str, list[str]]) -> None:
    """Check the answers in `source` (the answers, or one repeat item) to some questions,
    in the data context `data`; paths are the names, after ``prefix.`` inside an item.

    A rule's truth is remembered for this context (one pass over one source): a group's
    rule is asked once for all its questions, an equal rule once for all that ask it.
    """
    memo: dict = {}
    for entry in checks:
        value = source.get(entry.name)
        try:
            relevant = True
            for key, rule in entry.rules:
                known = memo.get(key)
                if known is None:
                    known = memo[key] = _evaluate(rule, data)
                if not known:
                    relevant = False
                    break
            required = (entry.required if entry.required_rule is None
                        else _evaluate(entry.required_rule, data))
        except logic.LogicError as exc:
            path = entry.name if prefix is None else f"{prefix}.{entry.name}"
            errors.setdefault(path, []).append(f"规则无法计算 / rule failed: {exc}")
            continue
        empty = value is None or value == "" or value == []
        if not relevant:
            if not empty:
                path = entry.name if prefix is None else f"{prefix}.{entry.name}"
                errors.setdefault(path, []).append(NOT_RELEVANT)
            continue
        if entry.kind == "repeat":
            path = entry.name if prefix is None else f"{prefix}.{entry.name}"
            _check_items(entry, answers, value, path, errors, required)
            continue
        if empty:
            if required:
                path = entry.name if prefix is None else f"{prefix}.{entry.name}"
                errors.setdefault(path, []).append(REQUIRED)
            continue
        problem = entry.check(entry.place.question, value, answers) if entry.check else None
        if problem:
            path = entry.name if prefix is None else f"{prefix}.{entry.name}"
            errors.setdefault(path, []).append(problem)
            continue
        if entry.constrained:
            try:
                ok = _evaluate(entry.constraint, data)
            except logic.LogicError as exc:
                path = entry.name if prefix is None else f"{prefix}.{entry.name}"
                errors.setdefault(path, []).append(f"规则无法计算 / rule failed: {exc}")
                continue
            if not ok:
                path = entry.name if prefix is None else f"{prefix}.{entry.name}"
                message = entry.message
                if message is None:
                    message = entry.place.question["constraint_message"]
                    message = f"{message['zh']} / {message['en']}"
                errors.setdefault(path, []).append(message)


def _check_items(entry: _Answer, answers: dict, items: Any, path: str,
                 errors: dict[str, list[str]], required: bool) -> None:
    """Check a repeat's items: ids, known keys, and every child in the item's context."""
    if not isinstance(items, list):
        errors.setdefault(path, []).append("应为列表 / must be a list of items")
        return
    children, known, ruled = _item_plan(entry.place)
    seen: set = set()
    kept = 0
    for index, item in enumerate(items):
        here = f"{path}[{index}]"
        if not isinstance(item, dict):
            errors.setdefault(here, []).append("应为对象 / must be an object")
            continue
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            errors.setdefault(f"{here}.id", []).append("每项需要 id / each item needs an id")
        elif item_id in seen:
            errors.setdefault(f"{here}.id", []).append("id 重复 / duplicate item id")
        seen.add(item_id)
        if "_removed" in item and not isinstance(item["_removed"], bool):
            errors.setdefault(f"{here}._removed", []).append("应为是/否 / must be true or false")
        if not known.issuperset(item):
            for key in item:
                if key not in known:
                    errors.setdefault(f"{here}.{key}", []).append(UNKNOWN_QUESTION)
        if item.get("_removed") is True:
            continue
        kept += 1
        data = {**answers, "item": item} if ruled else None
        _check_answers(children, item, answers, data, here, errors)
    if required and kept == 0:
        errors.setdefault(path, []).append(REQUIRED)


def _children(place: Located) -> tuple[Located, ...]:
    """Return the answer-holding questions inside a repeat (its groups flattened)."""
    def compute() -> tuple[Located, ...]:
        inside = _visit(place.question.get("children"), f"{place.path}.children",
                        place.question, ())
        return tuple(p for p in inside if p.question.get("type") not in NO_ANSWER)

    return _remembered(place.question, compute)


def _is_number(value: Any) -> bool:
    """Tell whether a value is a finite JSON number (not a boolean)."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _is_date(value: Any) -> bool:
    """Tell whether a value is an ISO date string YYYY-MM-DD."""
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _type_problem(question: dict, value: Any, answers: dict) -> str | None:
    """Return why a (non-empty) value does not fit its question's type, or None."""
    check = _TYPE_CHECKS.get(question["type"])
    # calculate: the phone's value is kept as given
    return check(question, value, answers) if check is not None else None


def _text_problem(question: dict, value: Any, answers: dict) -> str | None:
    return None if isinstance(value, str) else "应为文字 / must be text"


def _integer_problem(question: dict, value: Any, answers: dict) -> str | None:
    ok = _is_number(value) and float(value).is_integer()
    return None if ok else "应为整数 / must be a whole number"


def _decimal_problem(question: dict, value: Any, answers: dict) -> str | None:
    return None if _is_number(value) else "应为数字 / must be a number"


def _money_problem(question: dict, value: Any, answers: dict) -> str | None:
    if not _is_number(value):
        return "应为金额 / must be an amount"
    cents = value * 100
    return None if abs(cents - round(cents)) < 1e-6 else "最多两位小数 / at most 2 decimals"


def _date_problem(question: dict, value: Any, answers: dict) -> str | None:
    return None if _is_date(value) else "应为日期 YYYY-MM-DD / must be a date YYYY-MM-DD"


def _yes_no_problem(question: dict, value: Any, answers: dict) -> str | None:
    return None if isinstance(value, bool) else "应为是或否 / must be yes or no"


def _allowed_values(question: dict, answers: dict) -> set:
    """Return the values a select question accepts (choices, or the ids of a repeat)."""
    source = question.get("choices_from")
    if source:
        items = answers.get(source["repeat"])
        return {i.get("id") for i in items if isinstance(i, dict) and not i.get("_removed")} \
            if isinstance(items, list) else set()
    return {c["value"] for c in question.get("choices", [])}


def _choice_problem(question: dict, value: Any, answers: dict) -> str | None:
    """Return why a select answer is not one (or a list) of the allowed values."""
    return _choice_problem_among(question, value, _allowed_values(question, answers))


def _choice_problem_among(question: dict, value: Any, allowed: set | frozenset) -> str | None:
    """Return why a select answer is not one (or a list) of `allowed`."""
    if question["type"] == "select_one":
        if not isinstance(value, str) or value not in allowed:
            return f"不是可选项 / not one of the choices: {value!r}"
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "应为选项列表 / must be a list of choices"
    if len(set(value)) != len(value):
        return "选项重复 / a choice is repeated"
    unknown = [v for v in value if v not in allowed]
    return f"不是可选项 / not among the choices: {', '.join(unknown)}" if unknown else None


def _geopoint_problem(value: Any) -> str | None:
    """Return why a geopoint is malformed."""
    if not isinstance(value, dict) or not _is_number(value.get("lat")) \
            or not _is_number(value.get("lon")):
        return "应为位置 {lat, lon} / must be a location {lat, lon}"
    if not (-90 <= value["lat"] <= 90 and -180 <= value["lon"] <= 180):
        return "经纬度超出范围 / latitude or longitude out of range"
    accuracy = value.get("accuracy")
    if accuracy is not None and (not _is_number(accuracy) or accuracy < 0):
        return "精度应为非负数 / accuracy must be a number ≥ 0"
    return None


def _photo_problem(question: dict, value: Any) -> str | None:
    """Return why a photo answer is malformed (the minimum count is an assessment check)."""
    spec = question["photo"]
    if not isinstance(value, list):
        return "应为照片列表 / must be a list of photos"
    if spec.get("max") is not None and len(value) > spec["max"]:
        return f"最多{spec['max']}张 / at most {spec['max']} photos"
    for photo in value:
        if not isinstance(photo, dict) or not isinstance(photo.get("sha256"), str) \
                or not SHA256.fullmatch(photo["sha256"]):
            return "每张照片需要 sha256 / each photo needs its sha256"
        if photo.get("category") not in (None, spec["category"]):
            return f"照片类别应为 {spec['category']} / photo category must be {spec['category']}"
    if len({p["sha256"] for p in value}) != len(value):
        return "同一照片重复 / the same photo twice"
    return None


def _signature_problem(question: dict, value: Any) -> str | None:
    """Return why a signature answer is malformed."""
    role = question["signature"]["role"]
    if not isinstance(value, dict) or not isinstance(value.get("sha256"), str) \
            or not SHA256.fullmatch(value["sha256"]):
        return "签名需要 sha256 / a signature needs its sha256"
    if value.get("role") != role:
        return f"签名角色应为 {role} / signature role must be {role}"
    if not isinstance(value.get("signer_name"), str) or not value["signer_name"].strip():
        return "需要签名人姓名 / the signer's name is required"
    return None


# The type check of each question type that has one, all called (question, value, answers).
_TYPE_CHECKS = {
    "text": _text_problem,
    "integer": _integer_problem,
    "decimal": _decimal_problem,
    "money": _money_problem,
    "date": _date_problem,
    "yes_no": _yes_no_problem,
    "select_one": _choice_problem,
    "select_multiple": _choice_problem,
    "geopoint": lambda question, value, answers: _geopoint_problem(value),
    "photo": lambda question, value, answers: _photo_problem(question, value),
    "signature": lambda question, value, answers: _signature_problem(question, value),
}

def is_relevant(place: Located, data: dict) -> bool:
    """Tell whether a question applies, given the data context (its groups' rules too)."""
    rules = place.conditions + ((place.question["relevant"],)
                                if "relevant" in place.question else ())
    return all(_evaluate(rule, data) for rule in rules)


def answered_items(place: Located, answers: dict) -> list[dict]:
    """Return a repeat's items that are not removed."""
    items = answers.get(place.question["name"])
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, dict) and not i.get("_removed")]
