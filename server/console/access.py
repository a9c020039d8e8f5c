"""Who is at the console: the session check before every page, roles, the error pages, and
a refusal flashed with its details.

Every console view runs after `load_user`, which puts the signed-in supervisor or admin in
`g.user` or sends the browser to the sign-in page. Scope is not checked here: every query
of households goes through services.scope with `g.user`, so a page can only ever find what
the user may see.
"""

import hashlib
from datetime import date, timedelta
from functools import wraps
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..extensions import MAX_DB_INT, db
from ..services import console_auth
from ..services.errors import Forbidden, ServiceError
from . import bp, nav
from .i18n import LANGUAGES, catalogue, current_language, translate

# Pages reachable without a session.
PUBLIC_ENDPOINTS = frozenset({"console.login", "console.static", "console.set_language"})
SESSION_KEYS = ("user_id", "auth")


def client_ip() -> str:
    """Return the caller's address (the proxy sets it; see docs/deploy.md)."""
    return request.remote_addr or ""


def own_half(message: str) -> str:
    """Return the page language's half of a service's "中文 / English" message (all of it
    when it is not in two halves)."""
    halves = message.split(" / ", 1)
    if len(halves) == 2 and all(h.strip() for h in halves):
        return halves[LANGUAGES.index(current_language())].strip()
    return message


def flash_refusal(error: ServiceError) -> None:
    """Flash a refused use case in the page's language, its details after it in brackets.

    Services write a refusal's message in both languages ("中文 / English"); the page
    shows its own half. The details (field messages) follow, once each.
    """
    lang = current_language()
    message = own_half(error.message)
    details = list(dict.fromkeys(
        str(m)
        for messages in error.errors.values()
        for m in (messages if isinstance(messages, list) else [messages])
        if str(m) and str(m) not in error.message
    ))
    if details:
        message += f"（{'；'.join(details)}）" if lang == "zh" else f" ({'; '.join(details)})"
    flash(message, "error")


def date_arg(text: str | None) -> date | None:
    """Return the date of an ISO text field of a request, or None (empty or malformed).

    The calendar's first and last days are read as the day after and the day before: a
    period's bounds are the UTC instant its first day starts (8 hours before its midnight)
    and the day after its last, which those two days do not have (it was a 500)."""
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        return None
    if day is None:
        return None
    return min(max(day, date.min + timedelta(days=1)), date.max - timedelta(days=1))


def id_arg(text: str | None) -> int | None:
    """Return the id an ASCII number of a request field names, or None (empty, not a number,
    or past any id: SQLite refused a number past 64 bits, a 500)."""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_DB_INT else None


def safe_next(target: str | None, default: str) -> str:
    """Return `target` if it is a path inside the console, else `default` (no open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console") or "\\" in target:
        return default
    return target


def start_session(user) -> None:
    """Begin a fresh session for `user` (a new cookie: no fixation), keeping the language."""
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session["user_id"] = user.id
    session["auth"] = console_auth.session_stamp(user)
    if lang:
        session["lang"] = lang


def end_session() -> None:
    """Forget the signed-in user, keeping the language."""
    for key in SESSION_KEYS:
        session.pop(key, None)


@bp.before_request
def load_user():
    """Put the session's user in g.user, or send an anonymous visitor to the sign-in page."""
    g.user = console_auth.session_user(session.get("user_id"), session.get("auth"))
    if g.user is None and session.get("user_id") is not None:
        # Disabled, password reset, role changed: this session is over.
        end_session()
    if g.user is not None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("console.login", next=safe_next(target, "") or None))


def roles_required(*roles: str):
    """Decorate a view so only the given roles may use it (admin-only pages, for example)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if g.user is None or g.user.role not in roles:
                raise Forbidden("无权进行此操作 / not allowed for your role")
            return view(*args, **kwargs)

        return wrapper

    return decorate


@bp.after_request
def no_store(response):
    """Keep pages with personal data out of every cache (the browser's back button too)."""
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def error_page(status: int, message: str = ""):
    """Render the console's error page in the page's language, with a way back.

    `message` adds a detail under the status's own text: a refusal's half in this language,
    never werkzeug's stock English descriptions, and nothing at all for a 500 (no internals).
    Also used for errors no console view saw (a URL no route matches, an unexpected error):
    the session's user is then looked up here, as `load_user` never ran.
    """
    db.session.rollback()
    if request.url_rule is None or request.blueprint != "console":
        try:
            g.user = console_auth.session_user(session.get("user_id"), session.get("auth"))
        except Exception:  # the database itself failed: show the page without the user
            db.session.rollback()
            g.user = None
    key = f"error.{status}"
    text = translate(key) if key in catalogue() else translate("error.other")
    detail = own_half(message) if message and message not in STOCK_DESCRIPTIONS else ""
    return render_template("console/error.html", status=status, text=text,
                           detail="" if detail == text else detail,
                           csrf_failed=message == "csrf"), status


def _stock_descriptions(cls: type = HTTPException) -> set[str]:
    """Return werkzeug's default descriptions: English sentences that say no more than the
    status does (a Chinese page must not show them)."""
    found = set()
    for sub in cls.__subclasses__():
        if isinstance(sub.description, str):
            found.add(sub.description)
        found |= _stock_descriptions(sub)
    return found


STOCK_DESCRIPTIONS = frozenset(_stock_descriptions())


@bp.errorhandler(ServiceError)
def service_error(error: ServiceError):
    """Show a refused use case as a page (the API shows it as JSON)."""
    body, status = error_page(error.status, error.message)
    return body, status, error.headers


@bp.errorhandler(CSRFError)
def csrf_error(error: CSRFError):
    """A form without a valid CSRF token: refused, with a way back."""
    return error_page(400, "csrf")


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Show werkzeug's errors (404, 405 ...) inside the console layout."""
    return error_page(error.code or 500, error.description or "")


STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml",
                ".png": "image/png"}
# filename → (mtime, bytes, digest). Served from memory: the files are small, and a response
# body of bytes (not an open file) is what flask-compress handles without leaking the file.
_assets: dict[str, tuple[int, bytes, str]] = {}


def _asset(filename: str) -> tuple[int, bytes, str] | None:
    """Return a static file's (mtime, bytes, short SHA-256), re-read when it changes."""
    path = (STATIC_DIR / filename).resolve()
    if path.parent != STATIC_DIR or path.suffix not in STATIC_TYPES or not path.is_file():
        return None
    mtime = path.stat().st_mtime_ns
    cached = _assets.get(filename)
    if cached is None or cached[0] != mtime:
        body = path.read_bytes()
        cached = _assets[filename] = (mtime, body, hashlib.sha256(body).hexdigest()[:10])
    return cached


def asset_url(filename: str) -> str:
    """Return the URL of a console static file with a content hash, so caches stay correct."""
    found = _asset(filename)
    return url_for("console.static", filename=filename, v=found[2] if found else "0")


@bp.get("/static/<filename>")
def static(filename: str):
    """Serve a console stylesheet or script; a versioned URL may be cached for a year."""
    found = _asset(filename)
    if found is None:
        abort(404)
    response = Response(found[1], mimetype=STATIC_TYPES[Path(filename).suffix])
    response.set_etag(found[2])
    response.headers["Cache-Control"] = (
        "public, max-age=31536000, immutable" if request.args.get("v") == found[2]
        else "no-cache"
    )
    return response.make_conditional(request)


@bp.context_processor
def navigation():
    """Give every console page the navigation items of the user's role."""
    user = getattr(g, "user", None)
    endpoint = request.endpoint
    return {
        "nav_items": nav.items_for(user) if user else [],
        "item_active": lambda item: nav.is_active(item, endpoint),
    }


def url_with(**changes) -> str:
    """Return this page's URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    if "page" not in changes and any(key != "page" for key in changes):
        args.pop("page", None)  # a new filter or order starts again at page one
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def public_base_url() -> str:
    """Return the public base URL QR codes point to (RUHU_BASE_URL, else this request's host)."""
    return current_app.config.get("BASE_URL") or request.host_url
