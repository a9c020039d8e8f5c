"""Security headers on every response: CSP without inline script, no framing, no sniffing."""

from flask import Flask, request

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


def init_app(app: Flask) -> None:
    """Add the security headers to every response and harden the session cookie."""
    app.config.setdefault("SESSION_COOKIE_SECURE", False)

    @app.after_request
    def add_security_headers(response):
        """Set CSP, frame denial, no-sniff and referrer policy."""
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.path.startswith("/api/"):
            # Personal data must not linger in shared caches or the phone's HTTP cache; the
            # app keeps its own offline copy in IndexedDB.
            headers.setdefault("Cache-Control", "no-store")
        return response
