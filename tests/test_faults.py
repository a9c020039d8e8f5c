"""Faults real deployments meet: the server killed mid-burst, a locked, full, read-only or
unreachable database, a full disk or an unreachable bucket for photos.

The rule each test checks: the phone gets an answer it can act on (2xx, or 503 with
Retry-After: "try again"), never a 500, and nothing acknowledged is ever lost, half-merged
or doubled by the retries.
"""

import errno
import hashlib
import http.client
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url

from server import create_app
from server.extensions import db
from server.models import AuditEntry, HouseholdVersion, MediaObject, Submission, SubmissionMedia
from server.services.storage import LocalMediaStore, S3MediaStore, media_store
from tests.conftest import DEMO_PASSWORD, PG_URL, TOWNSHIP_1, TOWNSHIP_2, Demo, _config
from tests.integrity import assert_each_submission_once, assert_versions_consistent
from tests.sync_helpers import frozen, survey

pytestmark = pytest.mark.slow

URL = "/api/v1/submissions"
ROOT = Path(__file__).resolve().parent.parent


def photo_bytes(seed: int, size=(640, 480)) -> bytes:
    """Return a distinct JPEG (noise, so it does not compress to nothing)."""
    image = Image.frombytes("RGB", size, hashlib.sha256(str(seed).encode()).digest() * (
        size[0] * size[1] * 3 // 32 + 1))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def listed(data: bytes) -> dict:
    """Return the media entry of a photo in a submission."""
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
            "content_type": "image/jpeg", "question": "house_photos", "category": "housing",
            "captured_at": "2026-05-02T09:15:00+08:00", "location": {"lat": 48.0, "lon": 125.9}}


# --- a real server, killed -------------------------------------------------------------------


def _free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`ruhu serve` in a subprocess that can be killed with SIGKILL and started again."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log, self.port = env, log, _free_port()
        self.process = None

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        command = [sys.executable, "-c", "from server.cli import main; main()", "serve",
                   "--host", "127.0.0.1", "--port", str(self.port), "--threads", "8"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert self.process.poll() is None, self.log.read_text()[-3000:]
                time.sleep(0.05)
        raise AssertionError("server did not start")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flushing, open requests cut."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """End the server if it still runs."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def request(port: int, method: str, path: str, *, body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, dict, bytes]:
    """Make one HTTP request on a new connection; return (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


class Phone:
    """A phone that retries every request until the server acknowledges it."""

    def __init__(self, server: Server, token: str, deadline: float):
        self.server, self.token, self.deadline = server, token, deadline
        self.cut = 0  # requests that got no answer (the server was killed or down)

    def send(self, method: str, path: str, body: bytes | None = None,
             headers: dict | None = None) -> tuple[int, dict, bytes]:
        """Send until an answer other than "no connection" or 503 comes back."""
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        pause = 0.05
        while time.monotonic() < self.deadline:
            try:
                status, answer_headers, data = request(self.server.port, method, path,
                                                       body=body, headers=headers)
            except (OSError, http.client.HTTPException):
                status = None  # killed mid-request, or not listening yet
                self.cut += 1
            if status is not None and status != 503:
                return status, answer_headers, data
            if status == 503:
                assert "Retry-After" in answer_headers
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
        raise AssertionError(f"no answer for {method} {path}")

    def submit(self, body: dict) -> dict:
        """Post a submission until acknowledged (201, or 200 for a retry of a stored one)."""
        status, _, data = self.send("POST", URL, json.dumps(body).encode(),
                                    {"Content-Type": "application/json"})
        assert status in (200, 201), (status, data[:500])
        return json.loads(data)

    def upload(self, instance_id: str, photo: bytes, chunk: int) -> int:
        """Upload a photo in chunks, resuming from the server's offset; return the last status."""
        digest, total = hashlib.sha256(photo).hexdigest(), len(photo)
        path = f"{URL}/{instance_id}/media/{digest}"
        while True:
            status, headers, _ = self.send("HEAD", path)
            assert status == 200, status
            # All bytes may be in with the ingest cut by a kill: send the tail again.
            first = min(int(headers["Upload-Offset"]), total - 1)
            if headers.get("Upload-Offset") == str(total):
                status, _, data = self.send("PUT", path, photo[total - 1:], {
                    "Content-Range": f"bytes {total - 1}-{total - 1}/{total}"})
                if status in (200, 201):
                    return status
                continue
            last = min(first + chunk, total) - 1
            status, _, data = self.send("PUT", path, photo[first:last + 1], {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"bytes {first}-{last}/{total}"})
            if status in (200, 201):
                return status
            assert status in (202, 409), (status, data[:500])


def _token(port: int, username: str) -> str:
    """Sign in over HTTP."""
    status, _, data = request(port, "POST", "/api/v1/auth/login", body=json.dumps(
        {"username": username, "password": DEMO_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"})
    assert status == 200, data
    return json.loads(data)["token"]


@pytest.fixture
def killable(databases, tmp_path, storage_config):
    """A `ruhu serve` process on a fresh demo database, and an in-process app to inspect it."""
    url = databases.fresh("demo")
    data_dir = tmp_path / "data"
    env = {**os.environ, "RUHU_DATA_DIR": str(data_dir), "RUHU_DATABASE_URL": url,
           "RUHU_SECRET_KEY": "fault-test", "RUHU_DB_LOCK_TIMEOUT": "5"}
    for key, name in (("STORAGE_BACKEND", "RUHU_STORAGE"), ("S3_BUCKET", "RUHU_S3_BUCKET"),
                      ("S3_ENDPOINT_URL", "RUHU_S3_ENDPOINT_URL")):
        if key in storage_config:
            env[name] = storage_config[key]
    server = Server(env, tmp_path / "server.log")
    inspect = create_app({**_config(url, data_dir), **storage_config})
    yield server, inspect
    server.stop()
    with inspect.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop(url)


@pytest.mark.parametrize("media_storage", ["local", "s3"])
def test_sigkill_mid_burst_loses_nothing_acknowledged(killable):
    """Killed twice while 8 phones submit and upload: after a restart everything is there.

    Every acknowledged submission is stored once (retries made no duplicate), merged whole
    (each version's snapshot is its predecessor plus its changes, and equals the rows at
    the end), and every acknowledged photo is stored byte for byte.
    """
    server, inspect = killable
    phones_per_township, per_phone, chunk = 4, 6, 16 * 1024
    with inspect.app_context():
        plan = []
        demo = Demo()
        for township, username in ((TOWNSHIP_1, "inv1"), (TOWNSHIP_2, "inv3")):
            team = [demo.user(username).id, demo.user("inv2").id]
            plan.append((username, team, [frozen(h) for h in demo.households_in(township)]))
        db.session.remove()
    server.start()
    tokens = {username: _token(server.port, username) for username, _, _ in plan}

    deadline = time.monotonic() + 240
    acknowledged: dict[str, dict] = {}
    cut: list[int] = []
    photos: dict[str, tuple[str, bytes]] = {}  # sha256 -> (instance_id, bytes), acknowledged
    progress = threading.Condition()
    failures: list = []

    def phone(index: int) -> None:
        """One phone: its submissions (every other one with a photo), each until acknowledged."""
        username, team, households = plan[index % 2]
        client = Phone(server, tokens[username], deadline)
        try:
            for k in range(per_phone):
                target = households[(index // 2 + k * 4) % len(households)]
                photo = photo_bytes(index * 100 + k) if k % 2 == 0 else None
                body = survey(SimpleNamespace(id=target.id, version=target.version),
                              {"address": f"第{index}号手机第{k}次"}, investigators=team,
                              device_id=f"phone-{index}",
                              media=[listed(photo)] if photo else [])
                outcome = client.submit(body)
                with progress:
                    acknowledged[body["instance_id"]] = outcome
                    progress.notify_all()
                if photo:
                    client.upload(body["instance_id"], photo, chunk)
                    with progress:
                        photos[hashlib.sha256(photo).hexdigest()] = (body["instance_id"], photo)
                        progress.notify_all()
        except Exception as error:  # reported by the main thread
            failures.append((index, repr(error)))
        cut.append(client.cut)

    threads = [threading.Thread(target=phone, args=(i,)) for i in range(phones_per_township * 2)]
    for thread in threads:
        thread.start()
    total = phones_per_township * 2 * per_phone
    kills = 0
    for share in (0.3, 0.65):
        with progress:
            progress.wait_for(lambda s=share: len(acknowledged) >= total * s or failures,
                              timeout=120)
        server.kill()
        kills += 1
        time.sleep(0.3)
        server.start()
    for thread in threads:
        thread.join(timeout=240)
    server.stop()
    assert not failures, failures
    assert kills == 2 and len(acknowledged) == total
    assert sum(cut) > 0, "no request was cut: the kills missed the burst"
    assert len(photos) == total // 2

    with inspect.app_context():
        assert_each_submission_once(acknowledged)
        rows = {s.instance_id: s for s in db.session.scalars(select(Submission))}
        assert len(rows) == total
        for instance_id, outcome in acknowledged.items():
            row = rows[instance_id]
            assert row.merge_state == "merged" and row.household_id == outcome["household_id"]
            writes = db.session.scalar(select(func.count()).select_from(HouseholdVersion).where(
                HouseholdVersion.source_ref == instance_id))
            assert writes == (1 if row.applied else 0), instance_id
            receipts = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "submission.receive", AuditEntry.object_id == instance_id))
            assert receipts == 1, instance_id
        for household_id in {row.household_id for row in rows.values()}:
            assert_versions_consistent(household_id)
        store = media_store()
        for digest, (instance_id, photo) in photos.items():
            with store.open(digest) as fh:
                assert fh.read() == photo
            assert store.exists(f"{digest}.320.jpg") and store.exists(f"{digest}.1280.jpg")
            assert db.session.get(MediaObject, digest).size == len(photo)
            slot = db.session.scalar(select(SubmissionMedia).where(
                SubmissionMedia.sha256 == digest))
            assert slot.received_at is not None
            assert rows[instance_id].status == "complete"
        assert db.session.scalar(select(func.count()).select_from(MediaObject)) == len(photos)


# --- a locked database ---------------------------------------------------------------------


@pytest.fixture
def app_config():
    """Give up on a held lock after 0.3 s, so the lock tests are quick."""
    return {"DB_LOCK_TIMEOUT_SECONDS": 0.3}


@pytest.fixture
def phone(api):
    """inv1's client."""
    return api.as_user("inv1")


@pytest.fixture
def body_for(demo):
    """Make a submission body for one of township 1's households."""
    team = [demo.user("inv1").id, demo.user("inv2").id]
    households = [frozen(h) for h in demo.households_in(TOWNSHIP_1)]

    def make(index: int, answers: dict, **fields) -> dict:
        return survey(households[index], answers, investigators=team, **fields)

    return make


def _hold_lock(app, household_id: int):
    """Start holding the lock a merge needs, from another connection; return a release."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        return lambda: (holder.execute("ROLLBACK"), holder.close())
    from sqlalchemy import create_engine

    engine = create_engine(url)
    connection = engine.connect()
    connection.execute(text("SELECT id FROM household WHERE id = :id FOR UPDATE"),
                       {"id": household_id})

    def release():
        connection.rollback()
        connection.close()
        engine.dispose()

    return release


def test_a_lock_held_too_long_gives_503_with_retry_after_then_the_retry_lands(
        app, phone, body_for):
    """Another connection holds the lock past the timeout: 503 + Retry-After, no 500, and
    the same body posted again once the lock is free is stored once."""
    saved = body_for(0, {"address": "锁之前"})
    assert phone.post(URL, json=saved).status_code == 201
    waiting = body_for(1, {"address": "等锁"})
    release = _hold_lock(app, waiting["household_id"])
    try:
        started = time.monotonic()
        response = phone.post(URL, json=waiting)
        assert response.status_code == 503, response.get_json()
        assert response.headers["Retry-After"].isdigit()
        assert response.get_json()["code"] == "unavailable"
        assert time.monotonic() - started < 5
    finally:
        release()
    assert phone.post(URL, json=waiting).status_code == 201
    assert phone.post(URL, json=saved).status_code == 200
    db.session.expire_all()
    stored = db.session.scalars(select(Submission.instance_id)).all()
    assert sorted(stored) == sorted([saved["instance_id"], waiting["instance_id"]])


def _hold_writer_file(path: str) -> subprocess.Popen:
    """Hold the SQLite writers' lock file from another process (as a second `ruhu serve`
    in the middle of a merge does) until its stdin is closed."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys\n"
         f"f = open({path!r}, 'a')\n"
         "fcntl.flock(f, fcntl.LOCK_EX)\n"
         "print('held', flush=True)\n"
         "sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def _can_take_writer_file(path: str) -> bool:
    """Tell whether another process could take the writers' lock file right now."""
    probe = subprocess.run(
        [sys.executable, "-c",
         "import fcntl\n"
         f"f = open({path!r}, 'a')\n"
         "fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"],
        capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(bool(PG_URL), reason="SQLite-only: processes sharing one database file")
def test_another_process_writing_the_sqlite_file_is_waited_for_then_a_503_then_the_retry_lands(
        app, phone, body_for):
    """A merge waits for the writers' lock file another process holds (server processes
    sharing one SQLite file), answers 503 with Retry-After once the lock timeout passes,
    stores nothing, hands the lock on, and the retry lands once the other process is done."""
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database + ".writer-lock"
    first = body_for(0, {"address": "文件锁之前"})
    assert phone.post(URL, json=first).status_code == 201
    assert _can_take_writer_file(path)  # released after the merge's commit
    waiting = body_for(1, {"address": "等文件锁"})
    holder = _hold_writer_file(path)
    try:
        started = time.monotonic()
        response = phone.post(URL, json=waiting)
        waited = time.monotonic() - started
        assert response.status_code == 503, response.get_json()
        assert response.headers["Retry-After"].isdigit()
        assert response.get_json()["code"] == "unavailable"
        assert 0.3 <= waited < 5  # the configured timeout, then the answer
    finally:
        holder.communicate(timeout=10)  # closes its stdin: it lets go and ends
    assert phone.post(URL, json=waiting).status_code == 201
    assert _can_take_writer_file(path)
    db.session.expire_all()
    stored = db.session.scalars(select(Submission.instance_id)).all()
    assert sorted(stored) == sorted([first["instance_id"], waiting["instance_id"]])
    assert_versions_consistent(waiting["household_id"])


# --- a full, read-only or unreachable database ------------------------------------------------


def _refuse_writes(app):
    """Make the database refuse writes from new connections; return how to undo it.

    SQLite: every page it may use is in use (SQLITE_FULL, "database or disk is full").
    PostgreSQL: the database turned read-only, as a standby is after a failover.
    """
    engine = db.engine
    db.session.close()  # its connection goes back to the pool before the pool is replaced
    if engine.dialect.name == "sqlite":
        def full(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            pages = cursor.execute("PRAGMA page_count").fetchone()[0]
            cursor.execute(f"PRAGMA max_page_count = {pages}")
            cursor.close()

        event.listen(engine, "connect", full)
        engine.dispose()

        def undo():
            event.remove(engine, "connect", full)
            db.session.close()
            engine.dispose()

        return undo
    name = engine.url.database
    with engine.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        connection.commit()
    engine.dispose()

    def undo():
        db.session.close()
        with engine.connect() as connection:
            connection.execute(text("SET TRANSACTION READ WRITE"))
            connection.execute(text(
                f'ALTER DATABASE "{name}" SET default_transaction_read_only = off'))
            connection.commit()
        engine.dispose()

    return undo


def test_a_full_or_read_only_database_gives_503_and_keeps_what_was_saved(app, phone, body_for):
    """No room to write (SQLite full; PostgreSQL read-only): 503 with Retry-After, nothing
    lost; once writable again the phone's retry is stored once."""
    saved = body_for(0, {"address": "满之前"})
    assert phone.post(URL, json=saved).status_code == 201
    # Big enough to need new pages: a household of 150 members.
    members = [{"id": f"00000000-0000-4000-8000-{i:012d}", "name": f"成员{i}" * 8,
                "relation": "other"} for i in range(150)]
    refused = body_for(1, {"address": "满之后", "members": members})
    undo = _refuse_writes(app)
    try:
        response = phone.post(URL, json=refused)
        assert response.status_code == 503, response.get_json()
        assert response.headers["Retry-After"].isdigit()
    finally:
        undo()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1
    assert phone.post(URL, json=saved).status_code == 200
    assert phone.post(URL, json=refused).status_code == 201
    assert_each_submission_once([saved["instance_id"], refused["instance_id"]])
    assert_versions_consistent(refused["household_id"])


def test_an_unreachable_database_gives_503(tmp_path):
    """PostgreSQL refusing connections (down, restarting): 503 with Retry-After, not 500."""
    app = create_app({**_config(f"postgresql+psycopg://ruhu@127.0.0.1:{_free_port()}/ruhu",
                                tmp_path), "DB_LOCK_TIMEOUT_SECONDS": 1})
    client = app.test_client()
    for response in (
        client.post("/api/v1/auth/login", json={"username": "inv1", "password": "x" * 12}),
        client.get("/api/v1/households", headers={"Authorization": "Bearer " + "a" * 43}),
    ):
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.headers["Retry-After"].isdigit()
        assert response.get_json()["code"] == "unavailable"
    with app.app_context():
        db.engine.dispose()


# --- full or unreachable photo storage -------------------------------------------------------


@pytest.mark.parametrize("media_storage", ["local", "s3"])
def test_full_or_unreachable_photo_storage_gives_503_and_the_upload_resumes(
        app, phone, body_for, monkeypatch, media_storage):
    """The disk is full (local) or the bucket unreachable (S3) when the photo is stored: 503
    with Retry-After; the bytes already received stay, and the retry completes the photo."""
    photo = photo_bytes(7)
    digest = hashlib.sha256(photo).hexdigest()
    body = body_for(2, {"address": "有照片"}, media=[listed(photo)])
    assert phone.post(URL, json=body).status_code == 201
    path = f"{URL}/{body['instance_id']}/media/{digest}"
    half = len(photo) // 2
    assert phone.put(path, data=photo[:half], headers={
        "Content-Range": f"bytes 0-{half - 1}/{len(photo)}"}).status_code == 202

    if media_storage == "local":
        def broken(self, key, source):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(LocalMediaStore, "put_file", broken)
    else:
        from botocore.exceptions import EndpointConnectionError

        def broken(self, key, source):
            raise EndpointConnectionError(endpoint_url=app.config["S3_ENDPOINT_URL"])
        monkeypatch.setattr(S3MediaStore, "put_file", broken)
    rest = {"Content-Range": f"bytes {half}-{len(photo) - 1}/{len(photo)}"}
    response = phone.put(path, data=photo[half:], headers=rest)
    assert response.status_code == 503, response.get_json()
    assert response.headers["Retry-After"].isdigit()
    assert response.get_json()["code"] == "storage.unavailable"
    monkeypatch.undo()

    head = phone.head(path)
    assert int(head.headers["Upload-Offset"]) == len(photo)  # every byte kept
    assert phone.put(path, data=photo[half:], headers=rest).status_code == 201
    with media_store().open(digest) as fh:
        assert fh.read() == photo
    assert phone.get(f"{URL}/{body['instance_id']}").get_json()["status"] == "complete"


@pytest.mark.skipif(bool(PG_URL), reason="SQLite-only: the file's own lock")
def test_sqlite_busy_timeout_comes_from_the_configuration(app):
    """RUHU_DB_LOCK_TIMEOUT sets SQLite's busy timeout (milliseconds on the connection)."""
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 300
