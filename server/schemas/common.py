"""Schemas shared by every resource."""

from marshmallow import Schema, fields


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
