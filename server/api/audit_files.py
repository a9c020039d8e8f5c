"""Receiving an uploaded list or roll: the file goes to a private temporary file for the
import and is deleted right after (the service keeps a copy only when configured)."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import request

from ..services.errors import Invalid

SUFFIXES = (".csv", ".xlsx", ".xlsm")


@contextmanager
def uploaded_file() -> Iterator[tuple[Path, str]]:
    """Yield (temporary path, original file name) of the request's `file`; delete it after."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("缺少文件 / missing file", errors={"file": ["required (multipart)"]})
    name = os.path.basename(upload.filename.replace("\\", "/"))
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise Invalid(
            f"不支持的文件类型 / unsupported file type: {suffix or '(none)'} (use .csv or .xlsx)",
            errors={"file": ["csv or xlsx"]},
        )
    # mkstemp creates the file readable by this user only.
    handle, temp = tempfile.mkstemp(prefix="ruhu-audit-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as fh:
            upload.save(fh)
        yield Path(temp), name
    finally:
        Path(temp).unlink(missing_ok=True)
