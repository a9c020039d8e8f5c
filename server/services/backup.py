"""Backups: the database and the media folder in one .tar.gz, and restoring it.

SQLite is copied with SQLite's online backup API (a consistent snapshot while the server runs);
PostgreSQL with pg_dump/pg_restore (the PostgreSQL client tools must be installed). Media files
are content-addressed, so restoring them over an existing folder never overwrites a different
photo.
"""

import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from ..extensions import db
from ..models import Household
from .errors import Conflict, Invalid

FORMAT = 1


def _libpq_url(url) -> str:
    """Return a libpq connection string (pg_dump does not know SQLAlchemy's driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create_backup(app: Flask, target: Path) -> Path:
    """Write a backup of the database and media to `target` (.tar.gz) and return its path."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    media = Path(app.config["MEDIA_DIR"])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if url.get_backend_name() == "sqlite":
            source = sqlite3.connect(url.database)
            dest = sqlite3.connect(work / "ruhu.db")
            with dest:
                source.backup(dest)
            source.close()
            dest.close()
            db_member = "ruhu.db"
        else:
            db_member = "database.pgdump"
            subprocess.run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--file",
                    str(work / db_member),
                    _libpq_url(url),
                ],
                check=True,
                capture_output=True,
            )
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "engine": url.get_backend_name(),
            "database": db_member,
        }
        (work / "manifest.json").write_text(json.dumps(manifest))
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(work / "manifest.json", "manifest.json")
            archive.add(work / db_member, db_member)
            if media.exists():
                archive.add(media, "media")
        # Rename last: a crash mid-backup never leaves a file that looks complete.
        partial.replace(target)
    return target


def _database_has_households(app: Flask) -> bool:
    """Tell whether the configured database already holds households."""
    with app.app_context():
        try:
            return bool(db.session.scalar(select(func.count()).select_from(Household)))
        except Exception:  # no schema yet: an empty database
            db.session.rollback()
            return False
        finally:
            db.session.remove()
            db.engine.dispose()


def restore_backup(app: Flask, source: Path, *, force: bool = False) -> dict:
    """Restore a backup made by create_backup into the configured database and media folder.

    Refuses to overwrite a database that holds households unless `force` is set. The server
    must be stopped while restoring.
    """
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    media = Path(app.config["MEDIA_DIR"])
    if not force and _database_has_households(app):
        raise Conflict(
            "数据库中已有数据；确认覆盖请加 --force / the database holds data; use --force",
            code="restore.not_empty",
        )
    try:
        archive = tarfile.open(source, "r:gz")
    except (tarfile.TarError, OSError) as error:
        raise Invalid(
            f"不是有效的备份文件 / not a backup file: {error}", errors={"file": ["not a backup"]}
        ) from None
    with archive, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # The "data" filter refuses absolute paths, links out of the folder and device files.
        archive.extractall(work, filter="data")
        try:
            manifest = json.loads((work / "manifest.json").read_text())
        except (OSError, ValueError):
            raise Invalid(
                "备份缺少清单 / backup has no manifest", errors={"file": ["no manifest"]}
            ) from None
        if manifest.get("format") != FORMAT or manifest.get("engine") != url.get_backend_name():
            raise Invalid(
                f"备份来自另一种数据库 / backup is for {manifest.get('engine')}, "
                f"this server uses {url.get_backend_name()}",
                errors={"file": ["engine mismatch"]},
            )
        dump = work / manifest["database"]
        if url.get_backend_name() == "sqlite":
            target = Path(url.database)
            for suffix in ("-wal", "-shm"):
                Path(str(target) + suffix).unlink(missing_ok=True)
            source_db = sqlite3.connect(dump)
            dest_db = sqlite3.connect(target)
            with dest_db:
                source_db.backup(dest_db)
            source_db.close()
            dest_db.close()
        else:
            subprocess.run(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    "--dbname",
                    _libpq_url(url),
                    str(dump),
                ],
                check=True,
                capture_output=True,
            )
        restored_media = 0
        if (work / "media").exists():
            for path in (work / "media").rglob("*"):
                if path.is_file():
                    destination = media / path.relative_to(work / "media")
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, destination)
                    restored_media += 1
    return {"created_at": manifest["created_at"], "media_files": restored_media}
