"""Text the API takes never holds a NUL character (U+0000).

No field has a use for one, and PostgreSQL cannot store one in a text column: without this
rule a name with a NUL in it was saved on SQLite and refused by the database on PostgreSQL,
and a lookup by such a name was a database error rather than "no such thing". So every API
request whose query string or JSON body carries a NUL is refused up front, on both engines,
with a 422 naming where it is. The check is a scan of the raw bytes (a NUL can only be
written ``%00`` in a query and ``\\u0000`` in JSON); the body is walked only on a hit, to
name the fields and to ignore an escaped backslash followed by "u0000", which is no NUL.
"""

from flask import request

from ..services.errors import Invalid

MESSAGE = "文本不能包含空字符 (U+0000) / text may not contain a NUL character (U+0000)"


def refuse_nul_characters() -> None:
    """Raise Invalid (validation.nul_character) when the request's query or JSON body
    holds a NUL character (a blueprint's before_request hook)."""
    errors: dict[str, list[str]] = {}
    if b"%00" in request.query_string:
        errors.update({name: [MESSAGE] for name, values in request.args.lists()
                       if any("\x00" in value for value in [name, *values])})
    if request.is_json and b"\\u0000" in request.get_data(cache=True):
        body = request.get_json(silent=True)
        errors.update({path or "body": [MESSAGE] for path in _paths_with_nul(body, "")})
    if errors:
        raise Invalid(MESSAGE, code="validation.nul_character", errors=errors)


def _paths_with_nul(value, path: str) -> list[str]:
    """Return the paths (``members.0.name``) of the strings, keys included, holding a NUL."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            found += [inner] if "\x00" in str(key) else _paths_with_nul(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths_with_nul(item, f"{path}.{index}" if path else str(index))
    return found
