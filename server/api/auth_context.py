"""Who is calling: a bearer token (the app) or, for GET requests, a console session."""

from functools import wraps

from flask import g, request, session

from ..models import User
from ..services import auth, console_auth
from ..services.errors import Forbidden, Unauthorized


def client_ip() -> str:
    """Return the caller's address (the proxy sets X-Forwarded-For; see docs/deploy.md)."""
    return request.remote_addr or ""


def current_user() -> User:
    """Return the signed-in user, or raise Unauthorized."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user, token_id = auth.user_for_token(header[7:].strip())
        g.device_token_id = token_id
        return user
    # The console's session cookie is accepted for reads only: writes through the API need a
    # bearer token, so the API needs no CSRF token.
    if request.method in ("GET", "HEAD") and session.get("user_id"):
        # The same check the console makes: a password reset, a role change or a disabled
        # account ends the session here too.
        user = console_auth.session_user(session.get("user_id"), session.get("auth"))
        if user is not None:
            return user
    raise Unauthorized("请先登录 / sign in first")


def require_user(*roles: str):
    """Decorate a view: sets g.user, and checks the role when roles are given."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.user = current_user()
            if roles and g.user.role not in roles:
                raise Forbidden("无权进行此操作 / not allowed for your role")
            return view(*args, **kwargs)

        return wrapper

    return decorate
