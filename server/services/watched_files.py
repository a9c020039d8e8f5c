"""What is loaded from the forms folder (form definitions, policies), kept between requests
and loaded again when a file changes.

Every survey asks for its form and its policy, and so does every household of a payment
roll or review calendar: the folder is listed at most once every RECHECK_SECONDS, not on
every call. A change of folder (another FORMS_DIR) is seen at once.
"""

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from flask import current_app

RECHECK_SECONDS = 1.0
clock = time.monotonic  # a test may set its own

T = TypeVar("T")


def kept(name: str, folder: Path, files: Callable[[Path], Iterable[Path]],
         load: Callable[[Path], T]) -> T:
    """Return load(folder), loaded again only when the files `files(folder)` lists (their
    names or modification times) changed since; kept in the app under `name`."""
    cache = current_app.extensions.setdefault(name, {})
    now = clock()
    if cache.get("folder") == folder and now - cache["checked"] < RECHECK_SECONDS:
        return cache["value"]
    stamp = tuple(sorted((str(p), p.stat().st_mtime_ns) for p in files(folder)))
    if cache.get("folder") != folder or cache.get("stamp") != stamp:
        cache.update(folder=folder, stamp=stamp, value=load(folder))
    cache["checked"] = now
    return cache["value"]
