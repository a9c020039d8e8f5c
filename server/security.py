"""Security headers on every response: CSP without inline script, no framing, no sniffing."""

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

# Scripts only from our own origin (no inline script, no eval); images may be blob:/data: URLs
# (photo previews and canvas signatures on the phone); the camera stream is a blob: media URL.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Set on every response unless the view set its own (the shell's index.html widens the CSP).
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()"),
)
_HSTS = ("Strict-Transport-Security", "max-age=31536000")
# Personal data must not linger in shared caches or the phone's HTTP cache; the app keeps its
# own offline copy in IndexedDB.
_NO_STORE = ("Cache-Control", "no-store")


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, with the cookie's signer built only when a request
    carries the cookie (Flask builds it for every request: the API's, signed in by a bearer
    token, carry none)."""

    def open_session(self, app: Flask, request):
        """Return an empty session when there is no cookie, else Flask's."""
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Add the security headers to every response and harden the session cookie."""
    app.config.setdefault("SESSION_COOKIE_SECURE", False)
    app.session_interface = CookieSessions()

    @app.after_request
    def add_security_headers(response):
        """Set CSP, frame denial, no-sniff and referrer policy (and HSTS over HTTPS, no-store
        on the API) where the response has not set them itself: one pass over its headers
        (Headers.setdefault looks through them three times per header)."""
        headers = response.headers
        present = {key.lower() for key, _ in headers}
        wanted = [*SECURITY_HEADERS]
        if request.is_secure:
            wanted.append(_HSTS)
        if request.path.startswith("/api/"):
            wanted.append(_NO_STORE)
        for key, value in wanted:
            if key.lower() not in present:
                headers.add(key, value)
        return response
