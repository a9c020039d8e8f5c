"""The one JSON error shape of the API: {"code", "message", "errors"}."""

from collections.abc import Callable

from flask import Flask, current_app, jsonify, request
from marshmallow import ValidationError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from ..extensions import db
from ..services.errors import ServiceError, busy

# PostgreSQL's read_only_sql_transaction: writes sent to a standby or a read-only database.
READ_ONLY_SQLSTATES = {"25006"}

HTTP_CODES = {
    400: "bad_request",
    401: "auth.required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation.failed",
    429: "rate_limited",
    503: "unavailable",
}


def error_response(
    status: int, code: str, message: str, errors: dict | None = None, headers: dict | None = None
):
    """Return a Flask response in the one error shape."""
    response = jsonify({"code": code, "message": message, "errors": errors or {}})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def refusal_response(error: ServiceError):
    """Return a use case's refusal (a ServiceError) in the one error shape."""
    return error_response(error.status, error.code, error.message, error.errors, error.headers)


def _wants_json() -> bool:
    """Tell whether the failing request is an API call (console pages keep HTML errors)."""
    return request.path.startswith("/api/")


def register_error_page(app: Flask, prefix: str, render: Callable[[int, str], object]) -> None:
    """Let the pages under `prefix` show errors as a page of their own: render(status,
    message). Needed for what no blueprint handler sees: a URL no route matches (a 404
    before any view, like /console/households/abc) and an unexpected error (500)."""
    app.extensions.setdefault("ruhu.error_pages", {})[prefix] = render


def _error_page(status: int, message: str):
    """Return the error page of the pages the failing request is under, or None."""
    pages = current_app.extensions.get("ruhu.error_pages", {})
    for prefix, render in pages.items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            try:
                return render(status, message)
            except Exception:  # the page itself failed (the database is gone): plain text
                current_app.logger.exception("error page failed")
                return None
    return None


def init_app(app: Flask) -> None:
    """Register handlers turning every API error into the one JSON shape."""

    @app.errorhandler(ServiceError)
    def handle_service_error(error: ServiceError):
        """Render a use case's refusal."""
        db.session.rollback()
        return refusal_response(error)

    @app.errorhandler(ValidationError)
    def handle_validation_error(error: ValidationError):
        """Render marshmallow field errors as 422."""
        db.session.rollback()
        messages = (
            error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        )
        return error_response(422, "validation.failed", "输入有误 / invalid input", messages)

    def database_unavailable(error: Exception):
        """Answer 503 with Retry-After: the transaction was rolled back, nothing was saved
        half, and the phone's retry (same instance_id) is accepted once it works again."""
        try:
            db.session.rollback()
        except Exception:  # the connection itself is gone; the pool replaces it
            db.session.close()
        app.logger.warning("database unavailable: %s", error)
        refusal = busy()
        page = None if _wants_json() else _error_page(refusal.status, refusal.message)
        if page is not None:
            body, status = page
            return body, status, refusal.headers
        return refusal_response(refusal)

    @app.errorhandler(OperationalError)
    def handle_database_busy(error: OperationalError):
        """A locked, full or unreachable database (SQLite: locked, disk full, read-only;
        PostgreSQL: connection refused, lock timeout, disk full, deadlock) is a 503."""
        return database_unavailable(error)

    @app.errorhandler(PoolTimeout)
    def handle_pool_exhausted(error: PoolTimeout):
        """Every database connection of this process is busy: a 503 as well."""
        return database_unavailable(error)

    @app.errorhandler(DBAPIError)
    def handle_database_error(error: DBAPIError):
        """A read-only database (a PostgreSQL standby after a failover) is a 503; any other
        database error is a bug, a 500."""
        if getattr(error.orig, "sqlstate", None) in READ_ONLY_SQLSTATES:
            return database_unavailable(error)
        if isinstance(error, DataError):
            # A value the database cannot hold (a number out of range, text it cannot
            # encode) is bad input that validation missed: say so, and log it to fix there.
            db.session.rollback()
            app.logger.warning("value refused by the database: %s", error.orig)
            return error_response(
                422, "validation.out_of_range", "数值超出范围 / a value is out of range"
            )
        return handle_unexpected(error)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        """Render werkzeug's HTTP errors (404, 405, 413 ...) in the one shape for the API."""
        status = error.code or 500
        if not _wants_json():
            page = _error_page(status, error.description or "")
            return error if page is None else page
        return error_response(
            status, HTTP_CODES.get(status, "error"), error.description or error.name
        )

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        """Log an unexpected error and answer in the one shape without internals."""
        db.session.rollback()
        app.logger.exception("unhandled error")
        if not _wants_json():
            page = _error_page(500, "")
            return ("Internal Server Error", 500) if page is None else page
        return error_response(500, "internal", "服务器内部错误 / internal error")
