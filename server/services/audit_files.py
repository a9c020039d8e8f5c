"""The audit's imported files (cross-check lists, payment rolls): who may handle them, reading
them with their row numbers, and keeping the raw upload only when configured.

Lists from other departments name people far beyond the 低保 households (a whole death
register, a whole payroll): only county supervisors and admins import or read them, every
import and read is in the audit log, and the uploaded file is not kept after the import
unless RUHU_AUDIT_KEEP_UPLOADS is set (个人信息保护法: keep only what the purpose needs).
"""

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app

from ..domain.audit_lists import Column, header_map
from ..extensions import db
from ..models import Region, User
from .errors import Forbidden, Invalid
from .import_households import cell_text, read_rows, refuse_missing_columns, require_rows


def plain_text(value: str | None) -> str:
    """Return text without NUL characters (PostgreSQL cannot store them), stripped."""
    return (value or "").replace("\x00", "").strip()


def is_county_auditor(user: User | None) -> bool:
    """Tell whether a user may see imported lists: an admin, or a county-level supervisor."""
    if user is None or user.role not in ("supervisor", "admin"):
        return False
    if user.role == "admin":
        return True
    region = db.session.get(Region, user.region_id)
    return region is not None and region.level == "county"


def require_county_auditor(user: User | None) -> None:
    """Refuse anyone but county supervisors and admins (None is the command line: allowed)."""
    if user is not None and not is_county_auditor(user):
        raise Forbidden(
            "只有县级审核人员和管理员可以查看比对名单 / only county supervisors and admins "
            "may handle imported lists",
            code="audit.county_only",
        )


def read_table(path: Path, columns: tuple[Column, ...]) -> list[tuple[int, dict[str, str]]]:
    """Read a CSV or XLSX file into (row number, {canonical column: text}) pairs.

    Headers may be the canonical names or their Chinese aliases; a file without data rows or
    without a required column is refused. Row 1 is the header, so data starts at row 2.
    """
    rows = read_rows(path)
    require_rows(rows)
    mapping, missing = header_map(columns, [h for h in rows[0] if h is not None])
    refuse_missing_columns(missing)
    return [
        (
            number,
            {
                canonical: plain_text(cell_text(row, header))
                for header, canonical in mapping.items()
            },
        )
        for number, row in enumerate(rows, start=2)
    ]


SUFFIXES = (".csv", ".xlsx", ".xlsm")


@contextmanager
def saved_upload(upload) -> Iterator[tuple[Path, str]]:
    """Save an uploaded file (werkzeug FileStorage) to a private temporary file for the
    import; yield (path, original name) and delete it afterwards, whatever happens."""
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


def file_digest(path: Path) -> str:
    """Return the SHA-256 of a file (the list's identity in the audit log)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def keep_upload(path: Path, *, kind: str, sha256: str) -> str | None:
    """Copy the raw upload into the data folder when configured; return where, else None."""
    if not current_app.config.get("AUDIT_KEEP_UPLOADS"):
        return None
    folder = Path(current_app.config["DATA_DIR"]) / "audit_uploads"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / f"{kind}-{sha256[:20]}{path.suffix.lower()}"
    shutil.copyfile(path, target)
    os.chmod(target, 0o600)
    return str(target)
