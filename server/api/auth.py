"""Sign-in and sign-out for the app (bearer tokens)."""

from flask import g, request

from ..extensions import db
from ..schemas.auth import (
    enrol_schema,
    enrolment_request_schema,
    enrolment_schema,
    login_schema,
    teammates_schema,
    token_schema,
    user_schema,
)
from ..services import auth, qr_codes
from . import bp
from .auth_context import client_ip, require_user
from .households import base_url


@bp.post("/auth/login")
def login():
    """Sign in with username and password; returns a bearer token.
    ---
    post:
      tags: [auth]
      summary: Sign in
      requestBody:
        required: true
        content:
          application/json:
            schema: LoginSchema
      responses:
        200:
          content:
            application/json:
              schema: TokenSchema
        401: error
        422: error
        429: error
    """
    data = login_schema.load(request.get_json(silent=True) or {})
    secret, row = auth.login(
        data["username"], data["password"], ip=client_ip(), device_label=data["device_label"]
    )
    return token_schema.dump(
        {"token": secret, "token_id": row.id, "expires_at": row.expires_at, "user": row.user}
    )


@bp.get("/auth/me")
@require_user()
def me():
    """Return the signed-in user.
    ---
    get:
      tags: [auth]
      summary: The signed-in user
      security: [{bearer: []}]
      responses:
        200:
          content:
            application/json:
              schema: UserSchema
        401: error
    """
    return user_schema.dump(g.user)


@bp.post("/auth/logout")
@require_user()
def logout():
    """Revoke the calling device's token.
    ---
    post:
      tags: [auth]
      summary: Sign out this device
      security: [{bearer: []}]
      responses:
        204:
          description: signed out
        401: error
    """
    token_id = getattr(g, "device_token_id", None)
    if token_id is not None:
        auth.revoke_token(token_id, actor=g.user, ip=client_ip())
    db.session.commit()
    return "", 204


@bp.post("/auth/enrol")
def enrol():
    """Exchange a one-time enrolment code (the console's QR) for a device token.
    ---
    post:
      tags: [auth]
      summary: Enrol a phone with a one-time code
      requestBody:
        required: true
        content:
          application/json:
            schema: EnrolSchema
      responses:
        200:
          content:
            application/json:
              schema: TokenSchema
        401: error
        422: error
        429: error
    """
    data = enrol_schema.load(request.get_json(silent=True) or {})
    secret, row = auth.enrol(data["code"], ip=client_ip(), device_label=data["device_label"])
    return token_schema.dump(
        {"token": secret, "token_id": row.id, "expires_at": row.expires_at, "user": row.user}
    )


@bp.post("/auth/enrolments")
@require_user("supervisor", "admin")
def create_enrolment():
    """Create a one-time code (valid 15 minutes) that enrols a phone for a user in scope.
    ---
    post:
      tags: [auth]
      summary: Create a device enrolment code
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: EnrolmentRequestSchema
      responses:
        201:
          content:
            application/json:
              schema: EnrolmentSchema
        401: error
        403: error
        404: error
        422: error
    """
    data = enrolment_request_schema.load(request.get_json(silent=True) or {})
    code, row = auth.create_enrolment(data["username"], actor=g.user, ip=client_ip())
    body = {
        "code": code,
        "url": qr_codes.enrolment_url(base_url(), code),
        "expires_at": row.expires_at,
        "user": row.user,
    }
    return enrolment_schema.dump(body), 201


@bp.get("/auth/teammates")
@require_user()
def teammates():
    """List the investigators the caller may survey with (teams of at least two).
    ---
    get:
      tags: [auth]
      summary: Possible second investigators
      security: [{bearer: []}]
      responses:
        200:
          content:
            application/json:
              schema: TeammatesSchema
        401: error
    """
    return teammates_schema.dump({"users": auth.teammates(g.user)})
