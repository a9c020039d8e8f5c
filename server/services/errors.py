"""Errors a use case raises; the HTTP layer turns each into the one JSON error shape."""


class ServiceError(Exception):
    """A use case refused: carries an HTTP status, a stable code and a readable message."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        errors: dict | None = None,
        status: int | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.headers = headers or {}
        if code:
            self.code = code
        if status:
            self.status = status


class NotFound(ServiceError):
    """The object does not exist, or is outside the caller's scope (we do not say which)."""

    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    """The caller is known but may not do this."""

    status = 403
    code = "forbidden"


class Unauthorized(ServiceError):
    """No valid credentials."""

    status = 401
    code = "auth.required"


class Invalid(ServiceError):
    """Input failed validation; `errors` maps field paths to messages."""

    status = 422
    code = "validation.failed"


class Conflict(ServiceError):
    """The request conflicts with the current state."""

    status = 409
    code = "conflict"


class TooManyRequests(ServiceError):
    """Rate limit hit; carries Retry-After."""

    status = 429
    code = "rate_limited"


class Unavailable(ServiceError):
    """The server is too busy to take this request now; carries Retry-After."""

    status = 503
    code = "unavailable"


BUSY = "服务器繁忙，请稍后重试 / server busy, retry later"
RETRY_AFTER_SECONDS = 5


def busy() -> Unavailable:
    """The refusal of a request that waited its turn too long (a merge slot, a lock): 503,
    retry after a few seconds. The phone's outbox sends the same request again."""
    return Unavailable(BUSY, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
