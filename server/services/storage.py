"""Where media bytes live: a small interface, a local-folder implementation, upload parts.

Objects are addressed by a key derived from the content's SHA-256 (``<sha256>`` for the
original, ``<sha256>.320.jpg`` for a thumbnail); client file names never reach the disk.
Another backend (S3-compatible, issue 7) implements the same four methods and is chosen by
STORAGE_BACKEND; callers only ever use `media_store()`.

Partial uploads live apart, in a folder keyed by (instance_id, sha256), until they are
complete and verified.
"""

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

CHUNK = 256 * 1024


class MediaStore(Protocol):
    """Content-addressed object storage."""

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored."""

    def put_file(self, key: str, source: Path) -> None:
        """Store the file at `source` under `key` (atomically; keeps `source`)."""

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store bytes under `key` (atomically)."""

    def open(self, key: str) -> BinaryIO:
        """Open a stored object for reading."""


class LocalMediaStore:
    """Objects as files under a folder, fanned out by the first hex digits of the key."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Return the file path of a key (keys are hex digests with an optional suffix)."""
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"bad media key {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored."""
        return self.path(key).is_file()

    def _write(self, key: str, write) -> None:
        """Write through a temporary file in the target folder, then rename into place."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_file(self, key: str, source: Path) -> None:
        """Store a copy of a file."""

        def write(fh):
            with open(source, "rb") as src:
                shutil.copyfileobj(src, fh, CHUNK)

        self._write(key, write)

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store bytes."""
        self._write(key, lambda fh: fh.write(data))

    def open(self, key: str) -> BinaryIO:
        """Open an object for reading."""
        return open(self.path(key), "rb")


def media_store() -> MediaStore:
    """Return the app's media store (one per app)."""
    stores = current_app.extensions.setdefault("ruhu_media_store", {})
    if "store" not in stores:
        backend = current_app.config.get("STORAGE_BACKEND", "local")
        if backend != "local":
            raise RuntimeError(f"storage backend {backend!r} is not available")
        stores["store"] = LocalMediaStore(Path(current_app.config["MEDIA_DIR"]) / "objects")
    return stores["store"]


class UploadParts:
    """Partly uploaded files, one per (instance_id, sha256), appended to chunk by chunk."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, instance_id: str, sha256: str) -> Path:
        """Return the part file of one upload (both parts were validated by the caller)."""
        return self.root / instance_id / f"{sha256}.part"

    def offset(self, instance_id: str, sha256: str) -> int:
        """Return how many bytes of an upload arrived so far."""
        path = self.path(instance_id, sha256)
        return path.stat().st_size if path.exists() else 0

    @contextmanager
    def locked(self, instance_id: str, sha256: str) -> Iterator[BinaryIO]:
        """Open an upload's part file exclusively (two requests never interleave bytes)."""
        path = self.path(instance_id, sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield fh
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def discard(self, instance_id: str, sha256: str) -> None:
        """Delete an upload's part file (and its folder when empty)."""
        path = self.path(instance_id, sha256)
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            pass


def upload_parts() -> UploadParts:
    """Return the app's area for partial uploads."""
    return UploadParts(Path(current_app.config["MEDIA_DIR"]) / "partial")
