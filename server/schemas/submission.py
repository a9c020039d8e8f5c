"""Submissions, their outcome, media slots, reviews, conflicts and household history."""

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from ..models.submission import REVIEW_STATES
from .common import DB_COUNT, DB_ID, LocationSchema, UtcDateTime

SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="must be a lowercase hex SHA-256")
MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp")


class MediaItemSchema(Schema):
    """A photo or signature the submission will upload."""

    sha256 = fields.String(required=True, validate=SHA256)
    size = fields.Integer(required=True, validate=DB_ID)
    content_type = fields.String(required=True, validate=validate.OneOf(MEDIA_TYPES))
    question = fields.String(load_default="", validate=validate.Length(max=64))
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    captured_at = UtcDateTime(load_default=None, allow_none=True)
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)

    @pre_load
    def lowercase_hash(self, data, **kwargs):
        """Accept an upper-case hex digest: the digest, not its spelling, is the identity."""
        if isinstance(data, dict) and isinstance(data.get("sha256"), str):
            data = {**data, "sha256": data["sha256"].lower()}
        return data


class SubmissionSchema(Schema):
    """What a phone posts: one filled survey (see docs/architecture.md, Submissions)."""

    instance_id = fields.UUID(required=True)
    form_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    form_version = fields.String(required=True, validate=validate.Length(min=1, max=32))
    household_id = fields.Integer(load_default=None, allow_none=True, validate=DB_ID)
    base_version = fields.Integer(load_default=None, allow_none=True, validate=DB_ID)
    previous_instance_id = fields.UUID(load_default=None, allow_none=True)
    corrects_instance_id = fields.UUID(load_default=None, allow_none=True)
    investigator_ids = fields.List(
        fields.Integer(validate=DB_ID), required=True, validate=validate.Length(min=1, max=10)
    )
    device_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    started_at = UtcDateTime(required=True)
    completed_at = UtcDateTime(required=True)
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)
    # JSON object keys are strings already: no field per key (a survey has ~70).
    answers = fields.Dict(required=True)
    media = fields.List(
        fields.Nested(MediaItemSchema), load_default=list, validate=validate.Length(max=200)
    )

    @validates_schema
    def check_links(self, data, **kwargs):
        """A known household needs the version the phone started from; ids never repeat."""
        errors = {}
        if data.get("household_id") is not None and data.get("base_version") is None:
            errors["base_version"] = ["required when household_id is given"]
        if data.get("household_id") is None and data.get("base_version") is not None:
            errors["household_id"] = ["required when base_version is given"]
        own = data.get("instance_id")
        for name in ("previous_instance_id", "corrects_instance_id"):
            if own is not None and data.get(name) == own:
                errors[name] = ["must name another submission"]
        hashes = [m["sha256"] for m in data.get("media", [])]
        if len(hashes) != len(set(hashes)):
            errors["media"] = ["each sha256 may be listed once"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def normalise(self, data, **kwargs):
        """UUIDs as strings (times are naive UTC already): what the canonical hash is taken of."""
        for name in ("instance_id", "previous_instance_id", "corrects_instance_id"):
            data[name] = str(data[name]) if data[name] is not None else None
        return data


class ConflictSchema(Schema):
    """A merge conflict: one path, its three values and both sources."""

    id = fields.Integer(dump_only=True)
    household_id = fields.Integer(dump_only=True)
    instance_id = fields.Function(
        lambda c: c.submission.instance_id,
        dump_only=True,
        metadata={"description": "the submission whose value lost"},
    )
    path = fields.String(dump_only=True)
    base = fields.Raw(attribute="base_value", dump_only=True, allow_none=True)
    server = fields.Raw(attribute="server_value", dump_only=True, allow_none=True)
    submitted = fields.Raw(attribute="submitted_value", dump_only=True, allow_none=True)
    server_version = fields.Integer(dump_only=True)
    server_source = fields.String(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    resolution = fields.Raw(attribute="resolution_value", dump_only=True, allow_none=True)
    comment = fields.String(dump_only=True, allow_none=True)
    created_at = UtcDateTime(dump_only=True)
    resolved_at = UtcDateTime(dump_only=True, allow_none=True)


class ReviewEntrySchema(Schema):
    """One review transition."""

    from_state = fields.String(dump_only=True)
    to_state = fields.String(dump_only=True)
    actor_id = fields.Integer(dump_only=True, allow_none=True)
    at = UtcDateTime(dump_only=True)
    comment = fields.String(dump_only=True)


class OutcomeSchema(Schema):
    """What the phone learns about a submission (on POST and from the outcome feed)."""

    instance_id = fields.String(dump_only=True)
    form_id = fields.String(dump_only=True)
    form_version = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": ["awaiting_media", "complete"]})
    merge_state = fields.String(
        dump_only=True,
        metadata={
            "enum": ["held", "merged", "discarded"],
            "description": "held: waiting for an earlier submission of the same phone",
        },
    )
    review_state = fields.String(dump_only=True, metadata={"enum": list(REVIEW_STATES)})
    review_comment = fields.String(dump_only=True, allow_none=True)
    household_id = fields.Integer(dump_only=True, allow_none=True)
    base_version = fields.Integer(dump_only=True, allow_none=True)
    household_version = fields.Integer(dump_only=True, allow_none=True)
    conflicts = fields.List(fields.Nested(ConflictSchema), dump_only=True)
    missing_media = fields.List(fields.String(), dump_only=True)
    assessment = fields.Dict(dump_only=True, allow_none=True)
    received_at = UtcDateTime(dump_only=True)
    seq = fields.String(
        attribute="outcome_seq",
        dump_only=True,
        metadata={"description": "this outcome's position in the feed"},
    )


class OutcomePageSchema(Schema):
    """One page of the outcome feed."""

    submissions = fields.List(fields.Nested(OutcomeSchema), dump_only=True)
    cursor = fields.String(dump_only=True, metadata={"description": "pass as ?since= next time"})
    more = fields.Boolean(dump_only=True)


class OutcomeQuerySchema(Schema):
    """Query of the outcome feed."""

    mine = fields.Boolean(load_default=False)
    since = fields.Integer(load_default=0, validate=DB_COUNT)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    household_id = fields.Integer(load_default=None, validate=DB_ID)
    review_state = fields.String(load_default=None, validate=validate.OneOf(REVIEW_STATES))


class ReviewSchema(Schema):
    """A supervisor's review decision."""

    state = fields.String(required=True, validate=validate.OneOf(REVIEW_STATES))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))
    seen_state = fields.String(
        load_default=None, validate=validate.OneOf(REVIEW_STATES),
        metadata={"description": "the review state the decider saw: another decision since "
                                 "is refused (409 review.stale) instead of overturned"})


class ResolveSchema(Schema):
    """A supervisor's decision on a conflict: keep the server's value, take a side, or set
    a new one."""

    choice = fields.String(
        required=True,
        validate=validate.OneOf(("server", "submitted", "base", "value")),
        metadata={
            "description": "server: keep the current value; submitted / base: that side's "
            "value; value: the `value` given"
        },
    )
    value = fields.Raw(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "with choice=value: the new value (null clears a field or removes "
            "an item)"
        },
    )
    seen_version = fields.Integer(
        required=True,
        validate=DB_COUNT,
        metadata={
            "description": "the household version the supervisor looked at (from the listing)"
        },
    )
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class ConflictQuerySchema(Schema):
    """Query of the conflict list."""

    status = fields.String(
        load_default="open", validate=validate.OneOf(("open", "resolved", "dismissed", "all"))
    )
    household_id = fields.Integer(load_default=None, validate=DB_ID)
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class ConflictListSchema(Schema):
    """Conflicts with the current version of each household (pass it back as seen_version)."""

    conflicts = fields.List(fields.Nested(ConflictSchema), dump_only=True)
    household_versions = fields.Dict(keys=fields.String(), values=fields.Integer(), dump_only=True)


class MediaStateSchema(Schema):
    """Where an upload stands."""

    sha256 = fields.String(dump_only=True)
    offset = fields.Integer(dump_only=True, metadata={"description": "bytes stored so far"})
    size = fields.Integer(dump_only=True)
    complete = fields.Boolean(dump_only=True)
    submission_status = fields.String(dump_only=True)


class VersionSchema(Schema):
    """One version in a household's history."""

    version = fields.Integer(dump_only=True)
    created_at = UtcDateTime(dump_only=True)
    cause = fields.String(dump_only=True)
    source_ref = fields.String(dump_only=True, allow_none=True)
    actor_id = fields.Integer(dump_only=True, allow_none=True)
    note = fields.String(dump_only=True, allow_none=True)
    changes = fields.List(fields.Dict(), dump_only=True)
    submission = fields.Dict(dump_only=True, allow_none=True)


class HistorySchema(Schema):
    """A household's versions (newest first), its conflicts and whether one is open."""

    household_id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True)
    open_conflicts = fields.Integer(dump_only=True)
    versions = fields.List(fields.Nested(VersionSchema), dump_only=True)
    conflicts = fields.List(fields.Nested(ConflictSchema), dump_only=True)


submission_schema = SubmissionSchema()
outcome_schema = OutcomeSchema()
outcome_page_schema = OutcomePageSchema()
outcome_query_schema = OutcomeQuerySchema()
review_schema = ReviewSchema()
resolve_schema = ResolveSchema()
conflict_schema = ConflictSchema()
conflict_query_schema = ConflictQuerySchema()
conflict_list_schema = ConflictListSchema()
media_state_schema = MediaStateSchema()
history_schema = HistorySchema()
