"""The console's two languages: Chinese by default, English on request.

A small message catalogue rather than gettext: every key has both texts side by side, so a
missing translation is a failing test (tests/test_console_i18n.py), not a blank on screen.
Other console screens add their keys with `add_messages` when their module is imported.

In templates: ``{{ _("nav.queue") }}``, ``{{ _("queue.count", n=12) }}`` and, for the
bilingual labels of forms and policies (``{"zh": ..., "en": ...}``), ``{{ label|tr }}``.

A count in English takes its noun's number from the count with a format spec
``{n:one|many}``: ``"{n} {n:household|households}"`` gives "1 household", "3 households"
(domain.wording.plural). Chinese texts just write ``{n} 户``.
"""

import string

from flask import Flask, session

from ..domain.wording import plural
from .messages import MESSAGES

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}

_catalogue: dict[str, tuple[str, str]] = dict(MESSAGES)


def add_messages(messages: dict[str, tuple[str, str]]) -> None:
    """Add (zh, en) texts for new keys; a key already taken with other texts is an error."""
    for key, texts in messages.items():
        if key in _catalogue and _catalogue[key] != tuple(texts):
            raise ValueError(f"console message {key!r} defined twice")
        zh, en = texts
        _catalogue[key] = (zh, en)


def catalogue() -> dict[str, tuple[str, str]]:
    """Return every key with its (zh, en) texts."""
    return dict(_catalogue)


class _TextFormatter(string.Formatter):
    """str.format, plus ``{n:one|many}``: the word for the number n."""

    def format_field(self, value, format_spec: str):
        """Choose the singular or plural word when the spec is ``one|many``."""
        if "|" in format_spec:
            one, many = format_spec.split("|", 1)
            return plural(value, one, many)
        return super().format_field(value, format_spec)


_formatter = _TextFormatter()


def current_language() -> str:
    """Return the language of this session (zh unless the user switched)."""
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def translate(key: str, **params) -> str:
    """Return the text of `key` in the session's language, with {params} filled in."""
    texts = _catalogue.get(key)
    if texts is None:
        return key
    text = texts[LANGUAGES.index(current_language())]
    return _formatter.format(text, **params) if params else text


def pick(label, fallback: str = "") -> str:
    """Return the session language's text of a bilingual label {"zh", "en"} (or a plain str)."""
    if isinstance(label, dict):
        lang = current_language()
        return str(label.get(lang) or label.get(DEFAULT_LANGUAGE) or label.get("en") or fallback)
    if label is None:
        return fallback
    return str(label)


def init_app(app: Flask) -> None:
    """Make `_`, `lang` and the `tr` filter available to every template."""
    app.jinja_env.globals["_"] = translate
    app.jinja_env.filters["tr"] = pick

    @app.context_processor
    def language():
        """Expose the current language and the choices to templates."""
        return {"lang": current_language(), "language_names": LANGUAGE_NAMES}
