"""Where media bytes live: a local folder or an S3-compatible bucket, and partial uploads.

Objects are addressed by a key derived from the content's SHA-256 (``<sha256>`` for the
original, ``<sha256>.320.jpg`` for a thumbnail); client file names never reach storage.
STORAGE_BACKEND (``RUHU_STORAGE``) chooses the backend: ``local`` (the default, files under
``MEDIA_DIR/objects``) or ``s3`` (bucket ``RUHU_S3_BUCKET`` at ``RUHU_S3_ENDPOINT_URL``,
credentials from the standard ``AWS_*`` variables). Callers only use `media_store()` and
`upload_parts()`.

Partial uploads are kept apart, per (instance_id, sha256), until complete and verified, and
in the same backend as the photos: with S3 every host sees every part, so a phone whose
chunks land on different hosts behind nginx still resumes where it left off
(docs/deploy.md). Two requests for one upload are serialised by a lock every host honours:
a lock on the part file (local folder: one host), a PostgreSQL advisory lock (S3 with
PostgreSQL: several hosts), or a lock file in the data folder (S3 with SQLite: one host).
"""

import errno
import fcntl
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app
from sqlalchemy import text

from ..extensions import db
from .errors import ServiceError

CHUNK = 256 * 1024
# Local errors meaning "no room or no disk right now", not "this request is wrong".
UNAVAILABLE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}
# S3 answers meaning "try again later".
UNAVAILABLE_S3_CODES = {
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "XMinioStorageFull",
    "XMinioServerNotInitialized",
}
# Reads of S3 objects are spooled: thumbnails stay in memory, originals go to a temp file.
SPOOL_BYTES = 1024 * 1024
LOCK_STRIPES = 64


class MediaStore(Protocol):
    """Content-addressed object storage."""

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored."""

    def put_file(self, key: str, source: Path) -> None:
        """Store the file at `source` under `key` (atomically; keeps `source`)."""

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store bytes under `key` (atomically)."""

    def open(self, key: str) -> BinaryIO:
        """Open a stored object for reading (a seekable file)."""

    def keys(self) -> Iterator[str]:
        """Yield the key of every stored object."""


class Upload(Protocol):
    """One partial upload, held under its lock."""

    def offset(self) -> int:
        """Return how many contiguous bytes from the start arrived."""

    def write(self, first: int, body: BinaryIO, length: int) -> None:
        """Replace the bytes from `first` on with `length` bytes read from `body`."""

    def whole(self) -> Iterator[Path]:
        """Context manager: a local file holding every byte that arrived."""


class UploadParts(Protocol):
    """Partly uploaded files, one per (instance_id, sha256)."""

    def offset(self, instance_id: str, sha256: str) -> int:
        """Return how many bytes of an upload arrived so far."""

    def locked(self, instance_id: str, sha256: str) -> Iterator[Upload]:
        """Context manager: the upload, no other request touching it meanwhile."""

    def discard(self, instance_id: str, sha256: str) -> None:
        """Drop every byte of an upload."""

    def uploads(self) -> Iterator[tuple[str, str]]:
        """Yield (instance_id, sha256) of every upload in progress."""


class StorageUnavailable(ServiceError):
    """The photo storage is full or unreachable: the phone retries later (503)."""

    status = 503
    code = "storage.unavailable"


def _unavailable(error: Exception) -> bool:
    """Tell whether a storage error is temporary (full disk, unreachable bucket)."""
    if isinstance(error, OSError) and error.errno in UNAVAILABLE_ERRNOS:
        return True
    try:
        from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
    except ImportError:
        return False
    if isinstance(error, ConnectionError | HTTPClientError):
        return True
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        code = error.response.get("Error", {}).get("Code")
        return status >= 500 or code in UNAVAILABLE_S3_CODES
    return False


@contextmanager
def unavailable_as_503() -> Iterator[None]:
    """Turn a full disk or an unreachable bucket inside the block into StorageUnavailable.

    Whatever was written before stays: stores write atomically, and an upload's parts only
    ever lose their tail, so the phone's retry (HEAD, then PUT from Upload-Offset) completes.
    """
    try:
        yield
    except Exception as error:
        if _unavailable(error):
            current_app.logger.warning("media storage unavailable: %r", error)
            raise StorageUnavailable(
                "图片存储暂不可用，请稍后重试 / photo storage unavailable, retry later",
                headers={"Retry-After": "30"},
            ) from error
        raise


def _check_key(key: str) -> str:
    """Return a key if it is one of ours (hex digest with an optional suffix)."""
    if not key or "/" in key or key.startswith("."):
        raise ValueError(f"bad media key {key!r}")
    return key


# --- a local folder ----------------------------------------------------------------------------


class LocalMediaStore:
    """Objects as files under a folder, fanned out by the first hex digits of the key."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Return the file path of a key (keys are hex digests with an optional suffix)."""
        _check_key(key)
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

    def keys(self) -> Iterator[str]:
        """Yield every stored key (temporary files of unfinished writes excluded)."""
        if self.root.exists():
            for path in sorted(self.root.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    yield path.name


class LocalUpload:
    """A partial upload as one file, open and exclusively locked."""

    def __init__(self, fh: BinaryIO, path: Path):
        self.fh, self.path = fh, path

    def offset(self) -> int:
        """Return the file's size."""
        return self.fh.seek(0, os.SEEK_END)

    def write(self, first: int, body: BinaryIO, length: int) -> None:
        """Cut the file at `first`, append the body, and make it durable."""
        self.fh.seek(first)
        self.fh.truncate(first)
        shutil.copyfileobj(body, self.fh, CHUNK)
        self.fh.flush()
        os.fsync(self.fh.fileno())

    @contextmanager
    def whole(self) -> Iterator[Path]:
        """The part file itself."""
        yield self.path


class LocalUploadParts:
    """Partial uploads as files under a folder, appended to chunk by chunk."""

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
    def locked(self, instance_id: str, sha256: str) -> Iterator[LocalUpload]:
        """Open an upload's part file exclusively (two requests never interleave bytes)."""
        path = self.path(instance_id, sha256)
        while True:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            except FileNotFoundError:  # the folder was just removed by a discard
                continue
            fh = os.fdopen(fd, "r+b")
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                # The request that held the lock may have completed and deleted the file
                # while this one waited: then the open file is no longer the upload's.
                if path.exists() and os.path.samestat(os.fstat(fd), path.stat()):
                    break
            except FileNotFoundError:
                pass
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()
        with fh:
            try:
                yield LocalUpload(fh, path)
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

    def uploads(self) -> Iterator[tuple[str, str]]:
        """Yield every upload with a part file."""
        if self.root.exists():
            for path in sorted(self.root.glob("*/*.part")):
                yield path.parent.name, path.name.removesuffix(".part")


# --- an S3-compatible bucket -----------------------------------------------------------------


def _missing(error) -> bool:
    """Tell whether a botocore ClientError means "no such object"."""
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


class S3MediaStore:
    """Objects in a bucket under a prefix (``objects/<key>``); a PUT is atomic in S3."""

    def __init__(self, client, bucket: str, prefix: str = "objects/"):
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def _key(self, key: str) -> str:
        """Return the object name of a key."""
        return self.prefix + _check_key(key)

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored (HEAD)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return True

    def put_file(self, key: str, source: Path) -> None:
        """Upload a file (multipart above 8 MB; the object appears only when complete)."""
        self.client.upload_file(str(source), self.bucket, self._key(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store bytes."""
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def open(self, key: str) -> BinaryIO:
        """Fetch an object into a seekable spool (HTTP range requests need seek).

        A missing object raises FileNotFoundError, as the local store does.
        """
        from botocore.exceptions import ClientError

        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        try:
            self.client.download_fileobj(self.bucket, self._key(key), spool)
        except ClientError as error:
            spool.close()
            if _missing(error):
                raise FileNotFoundError(key) from None
            raise
        spool.seek(0)
        return spool

    def keys(self) -> Iterator[str]:
        """Yield every stored key."""
        for name, _size in _list(self.client, self.bucket, self.prefix):
            yield name.removeprefix(self.prefix)


def _list(client, bucket: str, prefix: str) -> Iterator[tuple[str, int]]:
    """Yield (object name, size) of every object under a prefix, in name order."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"], item["Size"]


class S3Upload:
    """A partial upload as segment objects ``<prefix><instance>/<sha256>/<first byte>``.

    S3 objects cannot be appended to, so each chunk is its own object named by the offset
    of its first byte. The upload is the run of segments that follow each other from byte 0;
    a segment after a gap (left by a crash between two steps) is ignored and cleared by the
    next write. Every step leaves a prefix of the upload, so a crash at any point costs at
    most a re-sent chunk.
    """

    def __init__(self, client, bucket: str, prefix: str):
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def segments(self) -> tuple[list[tuple[int, int, str]], list[str]]:
        """Return the contiguous segments (first, size, name) and the names of stray ones."""
        run, stray, end = [], [], 0
        found = []
        for name, size in _list(self.client, self.bucket, self.prefix):
            start = name.removeprefix(self.prefix)
            if start.isdigit():
                found.append((int(start), size, name))
            else:
                stray.append(name)
        for first, size, name in sorted(found):
            if first == end and size > 0:
                run.append((first, size, name))
                end += size
            else:
                stray.append(name)
        return run, stray

    def offset(self) -> int:
        """Return the length of the contiguous run from byte 0."""
        run, _ = self.segments()
        return sum(size for _, size, _ in run)

    def _delete(self, names: list[str]) -> None:
        """Delete objects (in batches of S3's 1000)."""
        for start in range(0, len(names), 1000):
            batch = [{"Key": name} for name in names[start:start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch,
                                                                   "Quiet": True})

    def write(self, first: int, body: BinaryIO, length: int) -> None:
        """Drop what lies at and after `first` (trimming a segment across it), add the body."""
        run, stray = self.segments()
        after = [name for start, _, name in run if start >= first]
        self._delete(stray + [name for name in after if name != self._name(first)])
        for start, size, name in run:
            if start < first < start + size:
                keep = self.client.get_object(Bucket=self.bucket, Key=name,
                                              Range=f"bytes=0-{first - start - 1}")["Body"].read()
                self.client.put_object(Bucket=self.bucket, Key=name, Body=keep)
        self.client.put_object(Bucket=self.bucket, Key=self._name(first), Body=body,
                               ContentLength=length)

    def _name(self, first: int) -> str:
        """Return the object name of the segment starting at `first`."""
        return f"{self.prefix}{first:012d}"

    @contextmanager
    def whole(self) -> Iterator[Path]:
        """Download the segments, in order, into one temporary file."""
        run, _ = self.segments()
        fd, tmp = tempfile.mkstemp(prefix="ruhu-upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                for _, _, name in run:
                    # Not download_fileobj: it seeks to each object's own offsets.
                    body = self.client.get_object(Bucket=self.bucket, Key=name)["Body"]
                    shutil.copyfileobj(body, fh, CHUNK)
            yield Path(tmp)
        finally:
            Path(tmp).unlink(missing_ok=True)


class S3UploadParts:
    """Partial uploads in the bucket (``partial/``), shared by every host."""

    def __init__(self, client, bucket: str, lock, prefix: str = "partial/"):
        self.client, self.bucket, self.lock, self.prefix = client, bucket, lock, prefix

    def upload(self, instance_id: str, sha256: str) -> S3Upload:
        """Return one upload's segments (not locked)."""
        return S3Upload(self.client, self.bucket, f"{self.prefix}{instance_id}/{sha256}/")

    def offset(self, instance_id: str, sha256: str) -> int:
        """Return how many bytes of an upload arrived so far."""
        return self.upload(instance_id, sha256).offset()

    @contextmanager
    def locked(self, instance_id: str, sha256: str) -> Iterator[S3Upload]:
        """The upload, under a lock every host honours."""
        with self.lock(f"upload:{instance_id}:{sha256}"):
            yield self.upload(instance_id, sha256)

    def discard(self, instance_id: str, sha256: str) -> None:
        """Delete every segment of an upload."""
        upload = self.upload(instance_id, sha256)
        upload._delete([name for name, _ in _list(self.client, self.bucket, upload.prefix)])

    def uploads(self) -> Iterator[tuple[str, str]]:
        """Yield every upload with a segment."""
        seen = set()
        for name, _ in _list(self.client, self.bucket, self.prefix):
            parts = name.removeprefix(self.prefix).split("/")
            if len(parts) == 3 and (parts[0], parts[1]) not in seen:
                seen.add((parts[0], parts[1]))
                yield parts[0], parts[1]


# --- locks every host honours --------------------------------------------------------------


def _lock_number(name: str) -> int:
    """Return a signed 64-bit number for a lock name (PostgreSQL advisory locks take one)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def _advisory_lock(engine, name: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock on a connection of its own.

    A session-level lock outlives the transactions of the request's own session (which
    commits in the middle of an upload); if the process dies, PostgreSQL drops the
    connection and the lock with it.
    """
    number = _lock_number(name)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:n)"), {"n": number})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:n)"), {"n": number})
            connection.commit()


@contextmanager
def _file_lock(folder: Path, name: str) -> Iterator[None]:
    """Hold an exclusive lock on one of a few lock files in the data folder (one host)."""
    folder.mkdir(parents=True, exist_ok=True)
    stripe = _lock_number(name) % LOCK_STRIPES
    with open(folder / f"upload-{stripe:02d}.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _host_lock():
    """Return the lock factory of this app: PostgreSQL's, or a lock file (SQLite: one host)."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        return lambda name: _advisory_lock(engine, name)
    folder = Path(current_app.config["DATA_DIR"]) / "locks"
    return lambda name: _file_lock(folder, name)


# --- the app's backend -----------------------------------------------------------------------

_client_lock = threading.Lock()
_backend_lock = threading.Lock()


def s3_client(config):
    """Return a new S3 client for the app's configuration (boto3 clients are thread-safe)."""
    import boto3
    from botocore.config import Config

    with _client_lock:  # boto3's sessions are not thread-safe while creating clients
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=config.get("S3_ENDPOINT_URL") or None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"},
                          max_pool_connections=50),
        )
    for operation in ("PutObject", "UploadPart"):
        client.meta.events.register(f"before-call.s3.{operation}", _no_expect_continue)
    return client


def _no_expect_continue(params, **kwargs) -> None:
    """Drop botocore's ``Expect: 100-continue`` on file bodies.

    It costs a round trip per chunk, and a server that ignores it (some S3-compatible ones)
    makes every PUT wait a second for the "100 Continue" that never comes. Our bodies are
    chunks of one photo, so sending them straight away wastes little when refused.
    """
    params.get("headers", {}).pop("Expect", None)


def _make_backend(app) -> tuple:
    """Return (media store, upload parts) for the app's STORAGE_BACKEND."""
    kind = app.config.get("STORAGE_BACKEND", "local")
    media_dir = Path(app.config["MEDIA_DIR"])
    if kind == "local":
        return LocalMediaStore(media_dir / "objects"), LocalUploadParts(media_dir / "partial")
    if kind == "s3":
        bucket = app.config.get("S3_BUCKET")
        if not bucket:
            raise RuntimeError("RUHU_STORAGE=s3 needs RUHU_S3_BUCKET")
        client = s3_client(app.config)
        return S3MediaStore(client, bucket), S3UploadParts(client, bucket, _host_lock())
    raise RuntimeError(f"storage backend {kind!r} is not available (local or s3)")


def _backend() -> dict:
    """Return the app's media store and upload parts, made once per app."""
    backends = current_app.extensions.setdefault("ruhu_media_store", {})
    if "store" not in backends:
        with _backend_lock:
            if "store" not in backends:
                store, parts = _make_backend(current_app)
                backends["parts"] = parts
                backends["store"] = store  # last: its presence means both are there
    return backends


def media_store() -> MediaStore:
    """Return the app's media store (one per app)."""
    return _backend()["store"]


def upload_parts() -> UploadParts:
    """Return the app's area for partial uploads."""
    return _backend()["parts"]
