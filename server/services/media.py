"""Photos: resumable upload of listed media, verification, evidence, thumbnails, scoped reads.

An upload is addressed by (instance_id, sha256) and must be listed by that submission.
Bytes arrive whole or in chunks (``Content-Range: bytes <first>-<last>/<total>``) and are
added to the upload's parts (services/storage.py: a file, or objects in the shared bucket);
``HEAD`` tells the phone where to continue. A front server
(waitress, nginx) buffers a request body before the app sees it, so a link dropping
mid-request loses only that request: phones send chunks (e.g. 512 KB) so that at most one
chunk is sent again.

When the last byte is in: the SHA-256 is checked, Pillow checks it is a real JPEG, PNG or
WebP image within the pixel limit, EXIF time and GPS are kept as evidence, and thumbnails
of about 320 and 1280 px are made with reduce-on-decode (`Image.draft`: the JPEG decoder
scales by 1/2..1/8 while decoding, so a 12-megapixel photo never decodes at full size).
The original bytes are stored unchanged (they are the evidence), once per content.
"""

import hashlib
import io
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Household, MediaObject, Submission, SubmissionMedia, User
from ..models.clock import utcnow
from . import audit, sync
from .errors import Conflict, Invalid, NotFound, ServiceError
from .locks import begin_household_write
from .scope import village_ids
from .storage import CHUNK, media_store, unavailable_as_503, upload_parts

SHA256 = re.compile(r"^[0-9a-f]{64}$")
RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
THUMBNAIL_SIZES = (1280, 320)
SIZES = ("320", "1280", "full")
# EXIF orientation → the transpose that turns the picture upright (as ImageOps.exif_transpose).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
QUARTER_TURNS = frozenset({Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_270,
                           Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90})


class PayloadTooLarge(ServiceError):
    """The upload is larger than the configured limit."""

    status = 413
    code = "media.too_large"


class UnsupportedMedia(ServiceError):
    """The bytes are not an image of an accepted type."""

    status = 415
    code = "media.unsupported_type"


@dataclass
class ImageFacts:
    """What a verified image is: its type, size and the evidence in its EXIF."""

    content_type: str
    width: int
    height: int
    exif: dict = field(default_factory=dict)
    thumbnails: dict[int, bytes] = field(default_factory=dict)


# --- image checks (no database) ----------------------------------------------------------------


def _ratio(value) -> float:
    """Return an EXIF rational as a float."""
    return float(value[0]) / float(value[1]) if isinstance(value, tuple) else float(value)


def _degrees(dms, ref) -> float | None:
    """Return GPS degrees/minutes/seconds as signed decimal degrees."""
    try:
        degrees = _ratio(dms[0]) + _ratio(dms[1]) / 60 + _ratio(dms[2]) / 3600
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    return round(-degrees if ref in ("S", "W") else degrees, 7)


def _evidence(exif: Image.Exif) -> dict:
    """Return the evidence kept from EXIF: capture time, GPS, orientation, camera."""
    facts: dict = {}
    detail = exif.get_ifd(0x8769)
    taken = detail.get(0x9003) or exif.get(0x0132)  # DateTimeOriginal, else DateTime
    if isinstance(taken, str):
        try:
            facts["taken_at"] = datetime.strptime(taken.strip("\x00 "),
                                                  "%Y:%m:%d %H:%M:%S").isoformat()
        except ValueError:
            pass
    gps = exif.get_ifd(0x8825)
    if gps.get(2) and gps.get(4):
        lat, lon = _degrees(gps[2], gps.get(1)), _degrees(gps[4], gps.get(3))
        if lat is not None and lon is not None:
            facts["lat"], facts["lon"] = lat, lon
    for tag, name in ((0x0112, "orientation"), (0x010F, "make"), (0x0110, "model")):
        value = exif.get(tag)
        if isinstance(value, int | str) and value != "":
            facts[name] = value.strip("\x00 ") if isinstance(value, str) else value
    return facts


def _jpeg(image: Image.Image, quality: int) -> bytes:
    """Return an image encoded as JPEG."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def inspect_image(path: Path, *, max_pixels: int) -> ImageFacts:
    """Verify a file is a whole JPEG/PNG/WebP image; return its facts and thumbnails.

    Raises UnsupportedMedia (415) for anything that is not such an image and Invalid (422)
    for a truncated or corrupt one or one with more pixels than `max_pixels` (a
    decompression bomb: a small file that would decode to gigabytes).
    """
    with warnings.catch_warnings():
        # Pillow's own bomb check warns first; treat its warning as the error it is.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                if image.format not in FORMATS:
                    raise UnsupportedMedia("只接受 JPEG、PNG、WebP 图片 / only JPEG, PNG and "
                                           "WebP images are accepted")
                width, height = image.size
                if width * height > max_pixels:
                    raise Invalid("图片像素过多 / image has too many pixels",
                                  code="media.too_many_pixels",
                                  errors={"pixels": [f"at most {max_pixels}"]})
                facts = ImageFacts(content_type=FORMATS[image.format], width=width,
                                   height=height, exif=_evidence(image.getexif()))
                # Reduce on decode: the JPEG decoder scales by 1/2..1/8 while decoding, to
                # the smallest size still at least as large as the biggest thumbnail.
                image.draft("RGB", (THUMBNAIL_SIZES[0], THUMBNAIL_SIZES[0]))
                image.load()
                _thumbnails(_on_white(image), facts)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Invalid("图片像素过多 / image has too many pixels",
                          code="media.too_many_pixels",
                          errors={"pixels": [f"at most {max_pixels}"]}) from None
        except UnidentifiedImageError:
            raise UnsupportedMedia("不是图片 / not an image") from None
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise Invalid("图片已损坏或不完整 / image is damaged or truncated",
                          code="media.corrupt", errors={"image": [str(error)[:200]]}) from None
    return facts


def _thumbnails(decoded: Image.Image, facts: ImageFacts) -> None:
    """Make the thumbnails (upright) into `facts`; swap its size when the photo lies sideways.

    Each thumbnail is shrunk from the one before, with an area-averaging (box) filter, the
    usual choice for shrinking and twice as fast here as bilinear; it is turned upright
    after shrinking, since turning a small image costs less than turning a large one.
    """
    turn = UPRIGHT.get(facts.exif.get("orientation"))
    if turn in QUARTER_TURNS:
        facts.width, facts.height = facts.height, facts.width
    previous = decoded
    for size in THUMBNAIL_SIZES:
        scale = size / max(previous.size)
        if scale < 1:
            previous = previous.resize((max(1, round(previous.width * scale)),
                                        max(1, round(previous.height * scale))),
                                       Image.Resampling.BOX)
        upright = previous.transpose(turn) if turn is not None else previous
        facts.thumbnails[size] = _jpeg(upright, 82 if size > 320 else 75)


def _on_white(image: Image.Image) -> Image.Image:
    """Return the image as RGB; transparent parts (a signature's background) become white."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


# --- uploads -----------------------------------------------------------------------------------


def _slot(user: User, instance_id: str, sha256: str) -> tuple[Submission, SubmissionMedia]:
    """Return the submission and its listed media row; 404 when either is not there."""
    submission = sync.by_instance(instance_id)
    if submission is None or (submission.submitted_by != user.id
                              and user.id not in (submission.investigator_ids or [])):
        raise NotFound("问卷不存在 / no such submission")
    item = next((m for m in submission.media if m.sha256 == sha256), None)
    if not SHA256.match(sha256) or item is None:
        raise NotFound("此问卷没有列出这张图片 / this submission did not list this media",
                       code="media.not_listed")
    return submission, item


def _state(item: SubmissionMedia, offset: int, submission: Submission) -> dict:
    """Return an upload's state."""
    done = item.received_at is not None
    return {"sha256": item.sha256, "offset": item.size if done else offset, "size": item.size,
            "complete": done, "submission_status": submission.status}


def upload_state(user: User, instance_id: str, sha256: str) -> dict:
    """Return how much of a listed photo arrived (HEAD)."""
    submission, item = _slot(user, instance_id, sha256.lower())
    with unavailable_as_503():
        offset = upload_parts().offset(instance_id, item.sha256)
    state = _state(item, offset, submission)
    db.session.commit()
    return state


def _parse_range(header: str | None, size: int) -> tuple[int, int | None]:
    """Return (first byte, expected length or None) of a PUT."""
    if header is None:
        return 0, None
    match = RANGE.match(header.strip())
    if not match:
        raise ServiceError("Content-Range 格式错误 / malformed Content-Range",
                           code="media.bad_range",
                           errors={"Content-Range": ["bytes <first>-<last>/<total>"]})
    first, last, total = (int(g) for g in match.groups())
    if total != size:
        raise Invalid("大小与清单不符 / total differs from the listed size",
                      code="media.size_mismatch", errors={"Content-Range": [f"total is {size}"]})
    if last < first or last >= total:
        raise ServiceError("Content-Range 越界 / Content-Range out of bounds",
                           code="media.bad_range", errors={"Content-Range": ["bad bounds"]})
    return first, last - first + 1


def _spool(stream: BinaryIO, room: int) -> tuple[BinaryIO, int]:
    """Read a request body (at most room + 1 bytes) into a spool; return it and its length.

    The body is read before the upload's lock is taken, so a slow link never holds the lock,
    and checked before anything is written, so a bad chunk never damages what arrived.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=CHUNK * 4)
    written = 0
    while written <= room:
        chunk = stream.read(min(CHUNK, room + 1 - written))
        if not chunk:
            break
        spool.write(chunk)
        written += len(chunk)
    spool.seek(0)
    return spool, written


def _file_digest(path: Path) -> str:
    """Return the SHA-256 of a whole file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def receive_chunk(
    user: User,
    instance_id: str,
    sha256: str,
    stream: BinaryIO,
    *,
    content_length: int | None,
    content_range: str | None,
    ip: str | None = None,
) -> tuple[dict, int]:
    """Store a PUT's bytes; verify and ingest once complete. Returns (state, HTTP status).

    A full disk or an unreachable bucket is a 503 (StorageUnavailable); what arrived before
    stays, so the phone resumes from Upload-Offset.
    """
    with unavailable_as_503():
        return _receive_chunk(
            user,
            instance_id,
            sha256,
            stream,
            content_length=content_length,
            content_range=content_range,
            ip=ip,
        )


def _receive_chunk(
    user: User,
    instance_id: str,
    sha256: str,
    stream: BinaryIO,
    *,
    content_length: int | None,
    content_range: str | None,
    ip: str | None,
) -> tuple[dict, int]:
    """Do receive_chunk's work."""
    sha256 = sha256.lower()
    submission, item = _slot(user, instance_id, sha256)
    limit = current_app.config["MAX_MEDIA_BYTES"]
    if (content_length or 0) > limit or item.size > limit:
        raise PayloadTooLarge(f"图片超过 {limit} 字节 / media larger than {limit} bytes")
    if item.received_at is not None:
        db.session.commit()
        return _state(item, item.size, submission), 200
    first, expected = _parse_range(content_range, item.size)
    # The read transaction ends before the body is read and the lock is waited for.
    db.session.commit()
    body, written = _spool(stream, item.size - first)
    with body:
        if written == 0:
            raise ServiceError("没有收到数据 / empty body", code="media.empty")
        if first + written > item.size:
            raise Invalid("数据多于清单大小 / more bytes than the listed size",
                          code="media.size_mismatch", errors={"size": [str(item.size)]})
        if expected is not None and written != expected:
            raise ServiceError("数据长度与 Content-Range 不符 / body length differs from "
                               "Content-Range", code="media.bad_range")
        parts = upload_parts()
        with parts.locked(instance_id, sha256) as upload:
            # Another request (a retry on another host) may have completed it meanwhile.
            db.session.expire_all()
            submission, item = _slot(user, instance_id, sha256)
            if item.received_at is not None:
                db.session.commit()
                return _state(item, item.size, submission), 200
            offset = upload.offset()
            if first > offset:
                raise Conflict("上传位置不连续 / upload must continue from Upload-Offset",
                               code="media.offset_mismatch", errors={"offset": [str(offset)]},
                               headers={"Upload-Offset": str(offset)})
            upload.write(first, body, written)
            offset = first + written
            if offset < item.size:
                return _state(item, offset, submission), 202
            with upload.whole() as path:
                if _file_digest(path) != sha256:
                    parts.discard(instance_id, sha256)
                    raise ServiceError("校验和不符，请重新上传 / SHA-256 mismatch, upload again",
                                       code="media.hash_mismatch")
                try:
                    _store(path, sha256)
                except ServiceError:
                    parts.discard(instance_id, sha256)
                    raise
            # Still under the upload's lock (then the household's): a request waiting for
            # it finds the photo received, never a half-discarded upload.
            submission = _mark_received(user, instance_id, sha256, ip)
            parts.discard(instance_id, sha256)
    item = next(m for m in submission.media if m.sha256 == sha256)
    return _state(item, item.size, submission), 201


def _store(path: Path, sha256: str) -> None:
    """Verify and store a complete upload (once per content) with its thumbnails."""
    if db.session.get(MediaObject, sha256) is not None:
        db.session.commit()
        return
    facts = inspect_image(path, max_pixels=current_app.config.get("MEDIA_MAX_PIXELS",
                                                                   60_000_000))
    store = media_store()
    for size, data in facts.thumbnails.items():
        store.put_bytes(f"{sha256}.{size}.jpg", data)
    store.put_file(sha256, path)
    db.session.add(MediaObject(sha256=sha256, size=path.stat().st_size,
                               content_type=facts.content_type, width=facts.width,
                               height=facts.height, exif=facts.exif))
    try:
        db.session.commit()
    except IntegrityError:
        # The same bytes were stored for another submission at the same moment.
        db.session.rollback()


def _mark_received(user: User, instance_id: str, sha256: str, ip: str | None) -> Submission:
    """Mark the photo received (and the submission complete when it was the last). Commits."""
    submission = sync.by_instance(instance_id)
    begin_household_write(sync.household_of_chain(submission), collections=False)
    submission = db.session.scalar(
        select(Submission).where(Submission.instance_id == instance_id).with_for_update()
        .execution_options(populate_existing=True))
    now = utcnow()
    for item in submission.media:
        if item.sha256 == sha256 and item.received_at is None:
            item.received_at = now
    if all(item.received_at is not None for item in submission.media):
        submission.status = "complete"
    sync.stamp([submission])
    audit.record("media.receive", actor=user, object_type="submission", object_id=instance_id,
                 ip=ip, detail={"sha256": sha256, "status": submission.status})
    db.session.commit()
    return submission


# --- reading ---------------------------------------------------------------------------------


def open_media(user: User, sha256: str, size: str, *, ip: str | None = None) -> tuple:
    """Return (open file, content type) of a photo the user's scope covers. Audited."""
    sha256 = sha256.lower()
    if size not in SIZES:
        raise Invalid("尺寸无效 / unknown size", errors={"size": list(SIZES)})
    listed = (
        select(SubmissionMedia.id)
        .join(Submission, Submission.id == SubmissionMedia.submission_id)
        .where(SubmissionMedia.sha256 == sha256, SubmissionMedia.received_at.is_not(None))
    )
    in_scope = listed.join(Household, Household.id == Submission.household_id).where(
        Household.village_id.in_(village_ids(user)))
    own = listed.where(Submission.submitted_by == user.id)
    stored = db.session.get(MediaObject, sha256) if SHA256.match(sha256) else None
    if stored is None or (db.session.scalar(in_scope.limit(1)) is None
                          and db.session.scalar(own.limit(1)) is None):
        raise NotFound("图片不存在 / no such media")
    key, content_type = (sha256, stored.content_type) if size == "full" else (
        f"{sha256}.{size}.jpg", "image/jpeg")
    audit.record("media.read", actor=user, object_type="media", object_id=sha256[:64], ip=ip,
                 detail={"size": size})
    db.session.commit()
    with unavailable_as_503():
        return media_store().open(key), content_type
