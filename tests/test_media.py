"""Photos: resumable upload, verification, bad files refused, evidence kept, scoped reads.

Every test runs twice: photos in the local folder and in an S3-compatible bucket (moto).
"""

import hashlib
import io
import struct
import threading
import zlib

import pytest
from PIL import Image
from sqlalchemy import select

from server import create_app
from server.extensions import db
from server.models import MediaObject
from server.services.storage import media_store, upload_parts
from tests.conftest import TOWNSHIP_1, ApiClient
from tests.sync_helpers import frozen, new_id, survey

URL = "/api/v1/submissions"


@pytest.fixture(params=["local", "s3"])
def media_storage(request):
    """Run every media test on both storage backends."""
    return request.param


def jpeg(width=800, height=600, *, orientation=None, taken="2026:05:02 09:15:00",
         gps=True, seed=0) -> bytes:
    """Return a JPEG photo with EXIF capture time, GPS and orientation."""
    image = Image.new("RGB", (width, height), (40 + seed, 120, 200))
    for x in range(0, width, 50):
        image.paste((255, seed, 0), (x, 0, x + 10, height // 3))
    exif = Image.Exif()
    exif[0x010F] = "HUAWEI"
    if orientation:
        exif[0x0112] = orientation
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if gps:
        ifd = exif.get_ifd(0x8825)
        ifd[1], ifd[2] = "N", (48.0, 2.0, 6.0)
        ifd[3], ifd[4] = "E", (125.0, 52.0, 30.0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85, exif=exif)
    return buffer.getvalue()


def encoded(fmt: str, size=(300, 200)) -> bytes:
    """Return a small image in another format."""
    buffer = io.BytesIO()
    Image.new("RGBA" if fmt == "PNG" else "RGB", size, (10, 200, 10)).save(buffer, format=fmt)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """Return a tiny PNG claiming huge dimensions (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def sha(data: bytes) -> str:
    """Return the hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def listed(data: bytes, content_type="image/jpeg", size=None, **extra) -> dict:
    """Return the media list entry for some bytes."""
    return {"sha256": sha(data), "size": len(data) if size is None else size,
            "content_type": content_type, "question": "house_photos", "category": "housing",
            "captured_at": "2026-05-02T09:15:00+08:00",
            "location": {"lat": 48.03, "lon": 125.88}, **extra}


@pytest.fixture
def phone(api):
    """inv1's signed-in client."""
    return api.as_user("inv1")


@pytest.fixture
def submit(phone, demo):
    """Post a submission listing some media; return its instance id."""
    team = [demo.user("inv1").id, demo.user("inv2").id]
    target = frozen(demo.households_in(TOWNSHIP_1)[0])

    def post(*media: dict, answers=None) -> str:
        body = survey(target, answers or {"address": "有照片"}, investigators=team,
                      media=list(media))
        response = phone.post(URL, json=body)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["status"] == ("awaiting_media" if media else "complete")
        return body["instance_id"]

    return post


def put(client, instance_id, data, digest=None, content_range=None):
    """PUT bytes to a media slot."""
    headers = {"Content-Type": "application/octet-stream"}
    if content_range:
        headers["Content-Range"] = content_range
    return client.put(f"{URL}/{instance_id}/media/{digest or sha(data)}", data=data,
                      headers=headers)


def fetch(client, url):
    """GET a photo and close the response (it streams from an open file)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def objects(app) -> list[str]:
    """Return the keys of the stored media objects."""
    return sorted(media_store().keys())


def stored(key: str) -> bytes:
    """Return a stored object's bytes."""
    with media_store().open(key) as fh:
        return fh.read()


def test_a_whole_upload_completes_the_submission(app, phone, submit):
    """One PUT with every byte: verified, stored, the submission becomes complete."""
    photo = jpeg()
    instance = submit(listed(photo))
    response = put(phone, instance, photo)
    assert response.status_code == 201, response.get_json()
    state = response.get_json()
    assert state == {"sha256": sha(photo), "offset": len(photo), "size": len(photo),
                     "complete": True, "submission_status": "complete"}
    assert response.headers["Upload-Offset"] == str(len(photo))
    outcome = phone.get(f"{URL}/{instance}").get_json()
    assert outcome["status"] == "complete" and outcome["missing_media"] == []
    assert put(phone, instance, photo).status_code == 200  # a retry
    assert set(objects(app)) == {sha(photo), f"{sha(photo)}.320.jpg", f"{sha(photo)}.1280.jpg"}


def test_an_upload_cut_halfway_then_resumed_gives_one_complete_photo(app, phone, submit):
    """The link drops after half: HEAD says where to continue, the rest completes it."""
    photo = jpeg(1600, 1200)
    instance = submit(listed(photo))
    half = len(photo) // 2
    first = put(phone, instance, photo[:half], sha(photo),
                content_range=f"bytes 0-{half - 1}/{len(photo)}")
    assert first.status_code == 202 and first.get_json()["complete"] is False
    head = phone.head(f"{URL}/{instance}/media/{sha(photo)}")
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(half)
    assert head.headers["Upload-Length"] == str(len(photo))
    assert phone.get(f"{URL}/{instance}").get_json()["missing_media"] == [sha(photo)]
    rest = put(phone, instance, photo[half:], sha(photo),
               content_range=f"bytes {half}-{len(photo) - 1}/{len(photo)}")
    assert rest.status_code == 201, rest.get_json()
    assert objects(app).count(sha(photo)) == 1 and stored(sha(photo)) == photo
    assert phone.get(f"{URL}/{instance}").get_json()["status"] == "complete"
    assert list(upload_parts().uploads()) == []


def test_a_chunk_sent_twice_is_harmless(phone, submit):
    """Re-sending a chunk that already arrived (the answer was lost) just overwrites it."""
    photo = jpeg()
    instance = submit(listed(photo))
    third = len(photo) // 3
    total = len(photo)
    assert put(phone, instance, photo[:2 * third], sha(photo),
               content_range=f"bytes 0-{2 * third - 1}/{total}").status_code == 202
    assert put(phone, instance, photo[third:2 * third], sha(photo),
               content_range=f"bytes {third}-{2 * third - 1}/{total}").status_code == 202
    final = put(phone, instance, photo[2 * third:], sha(photo),
                content_range=f"bytes {2 * third}-{total - 1}/{total}")
    assert final.status_code == 201


def test_a_chunk_beyond_the_offset_is_409_with_the_offset(phone, submit):
    """A gap is refused; Upload-Offset says where to continue."""
    photo = jpeg()
    instance = submit(listed(photo))
    response = put(phone, instance, photo[100:200], sha(photo),
                   content_range=f"bytes 100-199/{len(photo)}")
    assert response.status_code == 409
    assert response.get_json()["code"] == "media.offset_mismatch"
    assert response.headers["Upload-Offset"] == "0"


@pytest.mark.parametrize("header", ["bytes 0-10", "bytes 5-2/100", "items 0-1/2"])
def test_malformed_content_range_is_400(phone, submit, header):
    """A Content-Range the server cannot read is refused."""
    photo = jpeg()
    instance = submit(listed(photo))
    response = put(phone, instance, photo[:3], sha(photo), content_range=header)
    assert response.status_code in (400, 422)


def test_hash_mismatch_is_400_and_the_bytes_are_dropped(phone, submit):
    """Bytes whose SHA-256 differs from the listed one are refused; the upload restarts."""
    photo, other = jpeg(), jpeg(seed=9)
    instance = submit(listed(photo, size=len(other)))
    response = put(phone, instance, other, digest=sha(photo))
    assert response.status_code == 400 and response.get_json()["code"] == "media.hash_mismatch"
    head = phone.head(f"{URL}/{instance}/media/{sha(photo)}")
    assert head.headers["Upload-Offset"] == "0"
    assert phone.get(f"{URL}/{instance}").get_json()["status"] == "awaiting_media"


@pytest.mark.parametrize(("data", "content_type", "status", "code"), [
    (jpeg()[:-2000], "image/jpeg", 422, "media.corrupt"),
    ("户主签字：张三\n这不是图片".encode() * 40, "image/jpeg", 415, "media.unsupported_type"),
    (b"%PDF-1.4\n" + b"0" * 500, "image/jpeg", 415, "media.unsupported_type"),
    (encoded("GIF"), "image/jpeg", 415, "media.unsupported_type"),
    (png_header_only(50_000, 50_000), "image/png", 422, "media.too_many_pixels"),
], ids=["truncated-jpeg", "text-named-jpg", "pdf", "gif", "decompression-bomb"])
def test_bad_files_are_refused(app, phone, submit, data, content_type, status, code):
    """Truncated images, non-images and bombs never reach storage."""
    instance = submit(listed(data, content_type=content_type))
    response = put(phone, instance, data)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["code"] == code
    assert objects(app) == []
    assert db.session.get(MediaObject, sha(data)) is None
    assert phone.get(f"{URL}/{instance}").get_json()["missing_media"] == [sha(data)]


@pytest.mark.parametrize("app_config", [{"MEDIA_MAX_PIXELS": 1_000_000}])
def test_more_pixels_than_the_configured_limit_is_422(phone, submit):
    """The pixel limit is configuration."""
    big = encoded("PNG", size=(1200, 1000))
    instance = submit(listed(big, content_type="image/png"))
    response = put(phone, instance, big)
    assert response.status_code == 422 and response.get_json()["code"] == "media.too_many_pixels"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_are_accepted(phone, submit, fmt):
    """Signatures come as PNG; some phones send WebP."""
    data = encoded(fmt)
    instance = submit(listed(data, content_type=f"image/{fmt.lower()}"))
    assert put(phone, instance, data).status_code == 201


def test_media_not_listed_is_refused(phone, submit):
    """Only media the submission listed is accepted."""
    photo, stranger = jpeg(), jpeg(seed=5)
    instance = submit(listed(photo))
    response = put(phone, instance, stranger)
    assert response.status_code == 404 and response.get_json()["code"] == "media.not_listed"
    assert phone.head(f"{URL}/{instance}/media/{sha(stranger)}").status_code == 404
    assert put(phone, new_id(), photo).status_code == 404


def test_a_zero_byte_body_is_400(phone, submit):
    """An empty PUT stores nothing."""
    photo = jpeg()
    instance = submit(listed(photo))
    response = put(phone, instance, b"", digest=sha(photo))
    assert response.status_code == 400 and response.get_json()["code"] == "media.empty"


def test_more_bytes_than_listed_is_refused(phone, submit):
    """A body longer than the listed size is refused and not kept."""
    photo = jpeg()
    instance = submit(listed(photo, size=len(photo) - 10))
    response = put(phone, instance, photo)
    assert response.status_code == 422 and response.get_json()["code"] == "media.size_mismatch"
    head = phone.head(f"{URL}/{instance}/media/{sha(photo)}")
    assert head.headers["Upload-Offset"] == "0"


@pytest.mark.parametrize("app_config", [{"MAX_MEDIA_BYTES": 50_000}])
def test_an_upload_above_the_limit_is_413(phone, submit):
    """The size limit is configuration; above it the answer is 413."""
    small = jpeg(200, 150)
    instance = submit(listed(small))
    response = put(phone, instance, small + b"\x00" * 60_000, digest=sha(small))
    assert response.status_code == 413


def test_only_the_sender_may_upload(api, submit):
    """Another investigator cannot upload into someone's submission."""
    photo = jpeg()
    instance = submit(listed(photo))
    assert put(api.as_user("inv3"), instance, photo).status_code == 404


def test_exif_evidence_is_kept_and_thumbnails_are_upright(app, phone, submit):
    """Capture time and GPS are kept; orientation 6 (rotated) gives portrait thumbnails."""
    photo = jpeg(1600, 1200, orientation=6)
    instance = submit(listed(photo))
    assert put(phone, instance, photo).status_code == 201
    stored = db.session.get(MediaObject, sha(photo))
    assert stored.exif["taken_at"] == "2026-05-02T09:15:00"
    assert stored.exif["lat"] == pytest.approx(48.035, abs=1e-3)
    assert stored.exif["lon"] == pytest.approx(125.875, abs=1e-3)
    assert stored.exif["make"] == "HUAWEI" and stored.exif["orientation"] == 6
    assert (stored.width, stored.height) == (1200, 1600)
    for size in (320, 1280):
        response = fetch(phone, f"/api/v1/media/{sha(photo)}?size={size}")
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        width, height = Image.open(io.BytesIO(response.data)).size
        assert height == size and width < height
    full = fetch(phone, f"/api/v1/media/{sha(photo)}?size=full")
    assert full.data == photo


def test_identical_bytes_are_stored_once(app, phone, submit):
    """Two submissions listing the same photo: two slots, one stored object."""
    photo = jpeg()
    first, second = submit(listed(photo)), submit(listed(photo), answers={"phone": "1"})
    assert put(phone, first, photo).status_code == 201
    assert put(phone, second, photo).status_code == 201
    assert objects(app).count(sha(photo)) == 1
    assert len(db.session.scalars(select(MediaObject)).all()) == 1


def test_photos_are_served_only_within_scope(api, phone, submit):
    """inv2 (same township) and the county supervisor see it; inv3 does not."""
    photo = jpeg()
    instance = submit(listed(photo))
    put(phone, instance, photo)
    url = f"/api/v1/media/{sha(photo)}?size=320"
    assert fetch(api.as_user("inv2"), url).status_code == 200
    assert fetch(api.as_user("sup1"), url).status_code == 200
    assert fetch(api.as_user("inv3"), url).status_code == 404
    assert phone.get(f"/api/v1/media/{sha(photo)}?size=999").status_code == 422
    assert phone.get(f"/api/v1/media/{'0' * 64}").status_code == 404


def test_a_photo_not_yet_complete_is_not_served(phone, submit):
    """Half an upload is nobody's photo."""
    photo = jpeg()
    instance = submit(listed(photo))
    put(phone, instance, photo[:100], sha(photo), content_range=f"bytes 0-99/{len(photo)}")
    assert phone.get(f"/api/v1/media/{sha(photo)}").status_code == 404


@pytest.fixture
def second_host(app):
    """Another server process sharing the database and the photo storage (a second host)."""
    other = create_app(dict(app.config))
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_chunks_landing_on_two_hosts_make_one_photo(app, phone, submit, second_host):
    """Behind nginx, a phone's chunks reach different hosts: the upload resumes across them."""
    photo = jpeg(1600, 1200)
    instance = submit(listed(photo))
    there = ApiClient(second_host.test_client(), phone.token, phone.user)
    third, total = len(photo) // 3, len(photo)
    assert put(phone, instance, photo[:third], sha(photo),
               content_range=f"bytes 0-{third - 1}/{total}").status_code == 202
    head = there.head(f"{URL}/{instance}/media/{sha(photo)}")
    assert head.headers["Upload-Offset"] == str(third)
    assert put(there, instance, photo[third:2 * third], sha(photo),
               content_range=f"bytes {third}-{2 * third - 1}/{total}").status_code == 202
    final = put(phone, instance, photo[2 * third:], sha(photo),
                content_range=f"bytes {2 * third}-{total - 1}/{total}")
    assert final.status_code == 201, final.get_json()
    assert stored(sha(photo)) == photo
    assert list(upload_parts().uploads()) == []


def test_an_outcome_read_after_another_host_took_the_photo_is_fresh(phone, submit, second_host):
    """Nothing one request loaded is trusted by the next one: the photo arrived through
    another host, and the first host's next answer says the survey is complete."""
    photo = jpeg(seed=5)
    instance = submit(listed(photo))
    there = ApiClient(second_host.test_client(), phone.token, phone.user)
    assert put(there, instance, photo).status_code == 201
    assert phone.get(f"{URL}/{instance}").get_json()["status"] == "complete"


def test_the_same_upload_racing_on_two_hosts_is_stored_once(app, phone, submit, second_host):
    """A phone's retry reaching another host while the first try runs: one whole photo."""
    photo = jpeg(1600, 1200, seed=3)
    instance = submit(listed(photo))
    clients = [phone, ApiClient(second_host.test_client(), phone.token, phone.user)] * 2
    barrier = threading.Barrier(len(clients))
    statuses = []

    def send(client):
        barrier.wait()
        half = len(photo) // 2
        first = put(client, instance, photo[:half], sha(photo),
                    content_range=f"bytes 0-{half - 1}/{len(photo)}")
        rest = put(client, instance, photo[half:], sha(photo),
                   content_range=f"bytes {half}-{len(photo) - 1}/{len(photo)}")
        statuses.append((first.status_code, rest.status_code))

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # A late first half may find the photo already complete (200), or restart a finished
    # upload's parts; a second half may then find the first half overwritten (409, resume).
    assert len(statuses) == len(clients)
    assert all(s in (200, 201, 202, 409) for pair in statuses for s in pair), statuses
    assert any(201 in pair for pair in statuses), statuses
    assert objects(app).count(sha(photo)) == 1 and stored(sha(photo)) == photo
    assert phone.get(f"{URL}/{instance}").get_json()["status"] == "complete"


def test_a_transparent_signature_gets_a_white_background(phone, submit):
    """A PNG signature (black strokes on transparency) stays readable in its thumbnail."""
    signature = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    signature.paste((0, 0, 0, 255), (50, 90, 550, 110))  # a thick black stroke
    buffer = io.BytesIO()
    signature.save(buffer, format="PNG")
    data = buffer.getvalue()
    instance = submit(listed(data, content_type="image/png"))
    assert put(phone, instance, data).status_code == 201
    response = fetch(phone, f"/api/v1/media/{sha(data)}?size=320")
    thumbnail = Image.open(io.BytesIO(response.data)).convert("L")
    assert thumbnail.getpixel((5, 5)) > 240 and thumbnail.getextrema()[0] < 100
