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
    bearer = _bearer()
    if bearer is not None:
        user, token_id = auth.user_for_token(bearer)
        g.device_token_id = token_id
        return user
    return _session_user()


def current_caller() -> auth.Caller:
    """Return the signed-in caller as plain data (for a bearer token no User row is loaded:
    auth.caller_for_token), or raise Unauthorized."""
    bearer = _bearer()
    if bearer is not None:
        caller, token_id = auth.caller_for_token(bearer)
        g.device_token_id = token_id
        return caller
    return auth.Caller.of(_session_user())


def _bearer() -> str | None:
    """Return the bearer token the request carries, if any."""
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


def _session_user() -> User:
    """Return the user of the console's session cookie, or raise Unauthorized."""
    # The console's session cookie is accepted for reads only: writes through the API need a
    # bearer token, so the API needs no CSRF token.
    if request.method in ("GET", "HEAD") and session.get("user_id"):
        # The same check the console makes: a password reset, a role change or a disabled
        # account ends the session here too.
        user = console_auth.session_user(session.get("user_id"), session.get("auth"))
        if user is not None:
            return user
    raise Unauthorized("请先登录 / sign in first")


def require_user(*roles: str, plain: bool = False):
    """Decorate a view: sets g.user, and checks the role when roles are given.

    plain=True sets g.caller instead (current_caller: who, their role and their scope as
    plain data), for a view whose services need no User row; signing in then loads no ORM
    object (the QR lookup, a submission).
    """

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if plain:
                signed_in = g.caller = current_caller()
            else:
                signed_in = g.user = current_user()
            if roles and signed_in.role not in roles:
                raise Forbidden("无权进行此操作 / not allowed for your role")
            return view(*args, **kwargs)

        return wrapper

    return decorate
