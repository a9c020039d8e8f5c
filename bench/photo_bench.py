"""Photo ingest: a 12-megapixel JPEG uploaded whole, against just hashing and writing its bytes.

    .venv/bin/python bench/photo_bench.py [--rounds 7] [--storage local s3]

Each round posts a submission listing one distinct 12-MP photo (sync_bench's camera-like
4000×3000 JPEG, about 6 MB, with a JPEG comment making each copy unique) and PUTs it in one
request through the app's test client: the bytes spooled, the SHA-256 checked, Pillow's
verification, EXIF evidence, 1280 and 320 px thumbnails (reduce-on-decode), the original and
thumbnails stored, the submission completed and audited. The baseline is what any store has
to do anyway: hash the bytes and write them durably to a file (fsync). ``s3`` stores into a
moto S3 server on 127.0.0.1 (its own Python thread, so slower than a real object store).
"""

import argparse
import hashlib
import os
import tempfile
import uuid

from common import PASSWORD, app_for, database_url, save, table, timings


def distinct(photo: bytes, n: int) -> bytes:
    """Return the photo with a JPEG comment after SOI naming the round (new hash, same image)."""
    comment = f"round {n} {uuid.uuid4()}".encode()
    return photo[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + photo[2:]


def baseline(photo: bytes, folder: str):
    """Hash the bytes and write them to a new file, durably."""
    def run():
        digest = hashlib.sha256(photo).hexdigest()
        path = os.path.join(folder, digest)
        with open(path, "wb") as fh:
            fh.write(photo)
            fh.flush()
            os.fsync(fh.fileno())
        os.unlink(path)
    return run


def run(storage: str, rounds: int, photo: bytes) -> dict:
    """Measure one storage backend."""
    from sqlalchemy import select

    from server.extensions import db
    from server.models import Household, User
    from server.services import demo

    config = {}
    server = None
    if storage == "s3":
        import logging

        import boto3
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(name, "bench")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        boto3.client("s3", endpoint_url=f"http://{host}:{port}").create_bucket(Bucket="bench")
        config = {"STORAGE_BACKEND": "s3", "S3_BUCKET": "bench",
                  "S3_ENDPOINT_URL": f"http://{host}:{port}"}
    app = app_for(database_url("sqlite", f"photo-{storage}"), **config)
    with app.app_context():
        demo.load_demo(households=12, password=PASSWORD)
        household = db.session.scalar(select(Household).limit(1))
        team = db.session.scalars(select(User.id).where(User.role == "investigator")).all()[:2]
        target = {"id": household.id, "version": household.version}
        db.session.commit()
        client = app.test_client()
        token = client.post("/api/v1/auth/login", json={
            "username": "inv1", "password": PASSWORD}).get_json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        counter = iter(range(10_000))

        def ingest():
            data = distinct(photo, next(counter))
            digest = hashlib.sha256(data).hexdigest()
            body = {"instance_id": str(uuid.uuid4()), "form_id": "ruhu.record",
                    "form_version": "1", "household_id": target["id"],
                    "base_version": target["version"], "investigator_ids": team,
                    "device_id": "bench", "started_at": "2026-05-22T09:00:00+08:00",
                    "completed_at": "2026-05-22T09:50:00+08:00", "answers": {},
                    "media": [{"sha256": digest, "size": len(data),
                               "content_type": "image/jpeg", "question": "photo"}]}
            posted = client.post("/api/v1/submissions", json=body, headers=bearer)
            assert posted.status_code == 201, posted.get_json()
            stored = client.put(f"/api/v1/submissions/{body['instance_id']}/media/{digest}",
                                data=data, headers={**bearer, "Content-Type": "image/jpeg"})
            assert stored.status_code == 201, stored.get_json()

        measured = timings(ingest, rounds)
        with tempfile.TemporaryDirectory() as folder:
            base = timings(baseline(photo, folder), rounds)
        db.session.remove()
        db.engine.dispose()
    if server is not None:
        server.stop()
    return {"storage": storage, "photo_bytes": len(photo), "ingest_ms": measured["median_ms"],
            "ingest_p99_ms": measured["p99_ms"], "baseline_ms": base["median_ms"],
            "ratio": measured["median_ms"] / base["median_ms"]}


def main() -> None:
    """Measure, print and save."""
    from sync_bench import twelve_megapixel_jpeg

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--storage", nargs="+", default=["local", "s3"])
    args = parser.parse_args()
    photo = twelve_megapixel_jpeg()
    rows = [run(storage, args.rounds, photo) for storage in args.storage]
    save("photo", rows)
    print(table(rows, [("storage", "storage"), ("photo_bytes", "photo bytes"),
                       ("ingest_ms", "ingest median ms"), ("ingest_p99_ms", "max ms"),
                       ("baseline_ms", "hash+write ms"), ("ratio", "ratio")]))


if __name__ == "__main__":
    main()
