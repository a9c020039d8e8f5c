"""Schemas shared by every resource."""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate

from ..extensions import MAX_DB_INT

# Integers an Integer column holds (32-bit: extensions.MAX_DB_INT); ids are positive.
DB_ID = validate.Range(min=1, max=MAX_DB_INT)
DB_COUNT = validate.Range(min=0, max=MAX_DB_INT)


class ErrorSchema(Schema):
    """The one error shape of the API."""

    code = fields.String(
        required=True, metadata={"description": "stable code, e.g. auth.rate_limited"}
    )
    message = fields.String(required=True, metadata={"description": "a sentence a person can read"})
    errors = fields.Dict(required=True, metadata={"description": "field path → messages"})


class LocationSchema(Schema):
    """A point on the map (WGS84)."""

    lat = fields.Float(required=True, validate=lambda v: -90 <= v <= 90)
    lon = fields.Float(required=True, validate=lambda v: -180 <= v <= 180)
    accuracy = fields.Float(load_default=None, allow_none=True)


error_schema = ErrorSchema()


class UtcDateTime(fields.DateTime):
    """A timestamp on the wire as RFC 3339 with its offset (the database keeps naive UTC)."""

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        """Attach UTC to naive values before formatting."""
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        """Return naive UTC, converting any offset the client sent."""
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is not None:
            try:
                parsed = parsed.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:  # e.g. 0001-01-01T00:00:00+03:04 has no UTC equivalent
                raise ValidationError("date out of range") from None
        return parsed


def plain_dump(schema: Schema) -> Callable[[Mapping], dict]:
    """Return a function dumping plain data the way `schema.dump` dumps an object.

    The data is a mapping holding the value of every field (a Function field's already
    computed; a list of nested objects as a list of such mappings); each value goes through
    its field's own formatting, so the answer is the same, without marshmallow looking up
    each attribute (the QR lookup answers at every door). For a schema without dump hooks.
    """
    formats = [(field.data_key or name, field.attribute or name, _plain_format(field))
               for name, field in schema.dump_fields.items()]

    def dump(data: Mapping) -> dict:
        """Return the schema's answer for this data."""
        return {key: data[attr] if formatted is None else formatted(data[attr], attr, data)
                for key, attr, formatted in formats}

    return dump


def _plain_format(field: fields.Field):
    """Return how plain_dump formats one field's value (None: as it is)."""
    if isinstance(field, fields.Function | fields.Method):
        return None
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        each = plain_dump(field.inner.schema)
        return lambda values, attr, data: None if values is None else [each(v) for v in values]
    return field._serialize
