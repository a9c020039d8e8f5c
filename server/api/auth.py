"""Sign-in and sign-out for the app (bearer tokens)."""

from flask import g, request

from ..extensions import db
from ..schemas.auth import login_schema, token_schema, user_schema
from ..services import auth
from . import bp
from .auth_context import client_ip, require_user


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
        401:
          content:
            application/json:
              schema: ErrorSchema
        422:
          content:
            application/json:
              schema: ErrorSchema
        429:
          content:
            application/json:
              schema: ErrorSchema
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
        401:
          content:
            application/json:
              schema: ErrorSchema
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
        401:
          content:
            application/json:
              schema: ErrorSchema
    """
    token = getattr(g, "device_token", None)
    if token is not None:
        auth.revoke_token(token.id, actor=g.user)
    db.session.commit()
    return "", 204
