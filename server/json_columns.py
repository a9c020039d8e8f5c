"""How JSON columns are written: orjson, with the standard library's json behind it.

Every merge writes half a dozen JSON values (the answers, the changes, the assessment, the
household's whole record as a version snapshot, the audit detail): with the standard
library that was about 3% of a merge's instructions. Reading stays with the standard
library (as fast here, and exact for any integer).

orjson writes compact UTF-8 (no ``\\uXXXX`` escapes). Where it refuses a value json
accepts (an integer beyond 64 bits, say a garbled number in an answer) the standard
library writes it, so a value is never lost to the encoder.
"""

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS  # {1: ...} is written {"1": ...}, as json writes it


def dumps(value: Any) -> str:
    """Return a JSON column's text for a value."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


ENGINE_OPTIONS = {"json_serializer": dumps}
