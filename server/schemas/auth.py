"""Sign-in request and token response."""

from marshmallow import Schema, fields, validate

from .common import UtcDateTime


class LoginSchema(Schema):
    """Credentials posted to /auth/login."""

    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=256)
    )
    device_label = fields.String(load_default="", validate=validate.Length(max=100))


class UserSchema(Schema):
    """The signed-in user as the app sees it."""

    id = fields.Integer(dump_only=True)
    username = fields.String(dump_only=True)
    display_name = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    region_id = fields.Integer(dump_only=True)
    region_name = fields.Function(lambda u: u.region.name if u.region else "", dump_only=True)


class TokenSchema(Schema):
    """A bearer token, shown once."""

    token = fields.String(dump_only=True)
    token_id = fields.Integer(dump_only=True)
    expires_at = UtcDateTime(dump_only=True)
    user = fields.Nested(UserSchema, dump_only=True)


class EnrolSchema(Schema):
    """A one-time enrolment code posted by a phone to /auth/enrol."""

    code = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=128))
    device_label = fields.String(load_default="", validate=validate.Length(max=100))


class EnrolmentRequestSchema(Schema):
    """Which user a supervisor enrols a phone for."""

    username = fields.String(required=True, validate=validate.Length(min=1, max=64))


class EnrolmentSchema(Schema):
    """A one-time enrolment code, shown once (the console draws `url` as a QR code)."""

    code = fields.String(dump_only=True)
    url = fields.String(dump_only=True, metadata={"description": "<base-url>/?enrol=<code>"})
    expires_at = UtcDateTime(dump_only=True)
    user = fields.Nested(UserSchema, dump_only=True)


class TeammateSchema(Schema):
    """An investigator one may survey with."""

    id = fields.Integer(dump_only=True)
    username = fields.String(dump_only=True)
    display_name = fields.String(dump_only=True)


class TeammatesSchema(Schema):
    """The investigators one may survey with."""

    users = fields.List(fields.Nested(TeammateSchema), dump_only=True)


login_schema = LoginSchema()
enrol_schema = EnrolSchema()
enrolment_request_schema = EnrolmentRequestSchema()
enrolment_schema = EnrolmentSchema()
teammates_schema = TeammatesSchema()
user_schema = UserSchema()
token_schema = TokenSchema()
