"""Data for console tests: photos, submissions through the real API, assessments."""


def photo_bytes(seed: int, *, size=(640, 480)) -> bytes:
    """Return a distinct small JPEG (its colour and stripes follow the seed)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, ((seed * 53) % 256, (seed * 97) % 256, (seed * 31) % 256))
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 40):
        draw.rectangle((x, 0, x + 12, size[1] // 2), fill=(255, (seed * 7) % 256, 60))
    draw.text((20, size[1] - 40), f"photo {seed}", fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def signature_bytes(seed: int) -> bytes:
    """Return a small PNG that looks like a signature."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (300, 120), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.line([(20, 90), (80, 30 + seed % 20), (140, 90), (200, 40), (280, 80)], fill=0, width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Scenario:
    """Makes submissions like a phone does: post the survey, then upload its photos."""

    def __init__(self, api, demo):
        self.api, self.demo = api, demo
        self._seed = 0

    def _next_seed(self) -> int:
        """Return a fresh seed, so every photo has its own hash."""
        self._seed += 1
        return self._seed

    def media_entry(
        self,
        data: bytes,
        category: str,
        *,
        lat=None,
        lon=None,
        content_type="image/jpeg",
        question="house_photos",
    ) -> dict:
        """Return the media list entry of some bytes."""
        import hashlib

        entry = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "content_type": content_type,
            "question": question,
            "category": category,
            "captured_at": "2026-05-02T09:15:00+08:00",
        }
        if lat is not None:
            entry["location"] = {"lat": lat, "lon": lon, "accuracy": 10}
        return entry

    def record_edit(
        self,
        username: str,
        household,
        answers: dict,
        *,
        photos=(),
        upload: bool = True,
        investigators=None,
        base_version=None,
        **fields,
    ) -> str:
        """Post a record-form submission with photos [(bytes, category, lat, lon)]."""
        from tests.sync_helpers import survey

        team = investigators or [self.demo.user(username).id]
        media = [self.media_entry(data, cat, lat=lat, lon=lon) for data, cat, lat, lon in photos]
        body = survey(
            household, answers, investigators=team, media=media, base_version=base_version, **fields
        )
        client = self.api.as_user(username)
        response = client.post("/api/v1/submissions", json=body)
        assert response.status_code == 201, response.get_json()
        if upload:
            for (data, *_), entry in zip(photos, media, strict=True):
                self.upload(username, body["instance_id"], data, entry["sha256"])
        return body["instance_id"]

    def upload(self, username: str, instance_id: str, data: bytes, digest: str) -> None:
        """Upload one photo's bytes."""
        response = self.api.as_user(username).put(
            f"/api/v1/submissions/{instance_id}/media/{digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert response.status_code in (200, 201, 204), response.get_data(as_text=True)

    def photo(self, category: str = "housing_exterior", *, near=None) -> tuple:
        """Return (bytes, category, lat, lon) of a fresh photo, taken near a household."""
        lat = near.lat + 0.0002 if near is not None and near.lat is not None else None
        lon = near.lon + 0.0002 if near is not None and near.lon is not None else None
        return photo_bytes(self._next_seed()), category, lat, lon


def set_assessment(instance_id: str, assessment: dict) -> None:
    """Give a submission an assessment (as the policy engine would) and move its outcome."""
    from sqlalchemy import select

    from server.extensions import db
    from server.models import Submission
    from server.services.versions import next_change_seq

    submission = db.session.scalar(select(Submission).where(Submission.instance_id == instance_id))
    submission.assessment = assessment
    submission.outcome_seq = next_change_seq()
    db.session.commit()


def assessment(*, failed: int = 0, county_review: bool = False, reason: str = "原因") -> dict:
    """Return an assessment with `failed` failing checks."""
    checks = [
        {
            "id": f"check_{n}",
            "passed": False,
            "rule": "rule",
            "reason": {"zh": f"{reason}{n}", "en": f"reason {n}"},
        }
        for n in range(failed)
    ]
    checks.append(
        {
            "id": "ok",
            "passed": True,
            "rule": "rule",
            "reason": {"zh": "通过的核查", "en": "a passed check"},
        }
    )
    return {
        "policy_id": "keshan-2022",
        "area_type": "urban",
        "unit": "month",
        "household_income": 1200.0,
        "counted_members": 3,
        "per_capita_income": 400.0,
        "standard": 637.0,
        "eligible": True,
        "near_poverty": False,
        "benefit": 711.0,
        "benefit_class": None,
        "next_review_on": "2027-05-22",
        "county_review": county_review,
        "checks": checks,
    }
