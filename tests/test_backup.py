"""`ruhu backup` / `ruhu restore`: database and media survive a round trip."""

import tarfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import Household, HouseholdVersion
from server.services.backup import create_backup, restore_backup
from server.services.errors import Conflict, Invalid
from server.services.household_record import to_record


def _snapshot() -> dict:
    """Return every household's record and the number of versions."""
    records = {h.code: to_record(h) for h in db.session.scalars(select(Household))}
    return {
        "records": records,
        "versions": db.session.scalar(select(func.count()).select_from(HouseholdVersion)),
    }


def test_round_trip_restores_database_and_media(app, tmp_path):
    """Back up, damage the data, restore: every record, version and photo is back."""
    media_file = Path(app.config["MEDIA_DIR"]) / "ab" / ("ab" + "0" * 62)
    media_file.parent.mkdir(parents=True, exist_ok=True)
    media_file.write_bytes(b"photo bytes")
    before = _snapshot()
    backup = create_backup(app, tmp_path / "backup.tar.gz")
    assert not backup.with_name(backup.name + ".partial").exists()

    household = db.session.scalars(select(Household)).first()
    household.address = "damaged"
    db.session.commit()
    media_file.unlink()
    db.session.remove()

    with pytest.raises(Conflict):
        restore_backup(app, backup)
    result = restore_backup(app, backup, force=True)
    assert result["media_files"] == 1
    assert media_file.read_bytes() == b"photo bytes"
    assert _snapshot() == before


def test_restore_refuses_a_file_that_is_not_a_backup(app, tmp_path):
    """A random file is refused with a clear message and nothing changes."""
    bogus = tmp_path / "bogus.tar.gz"
    bogus.write_bytes(b"not a tarball")
    before = _snapshot()
    with pytest.raises(Invalid, match="not a backup"):
        restore_backup(app, bogus, force=True)
    db.session.remove()
    assert _snapshot() == before


def test_restore_refuses_an_archive_without_manifest(app, tmp_path):
    """A tarball that is not ours is refused."""
    path = tmp_path / "other.tar.gz"
    (tmp_path / "x.txt").write_text("x")
    with tarfile.open(path, "w:gz") as archive:
        archive.add(tmp_path / "x.txt", "x.txt")
    with pytest.raises(Invalid, match="manifest"):
        restore_backup(app, path, force=True)


def test_cli_backup_and_restore(runner, app, tmp_path):
    """The commands work end to end and restore needs --force on a database with data."""
    target = tmp_path / "cli.tar.gz"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    refused = runner.invoke(args=["restore", str(target)])
    assert refused.exit_code == 1 and "--force" in refused.output
    db.session.remove()
    restored = runner.invoke(args=["restore", str(target), "--force"])
    assert restored.exit_code == 0, restored.output
