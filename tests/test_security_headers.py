"""Security headers on every kind of response."""

import pytest

from server.security import CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("url", ["/api/v1/openapi.json", "/api/v1/households", "/api/v1/nowhere"])
def test_every_response_carries_the_security_headers(client, url):
    """CSP without inline script, frame denial and no-sniff, on success and on errors."""
    response = client.get(url)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp


def test_api_responses_are_not_cached(api):
    """Household data is never stored by HTTP caches."""
    response = api.as_user("inv1").get("/api/v1/households?limit=1")
    assert response.headers["Cache-Control"] == "no-store"


def test_secure_cookie_setting_follows_the_environment(monkeypatch, tmp_path):
    """RUHU_SECURE_COOKIES=1 makes the session cookie Secure."""
    from server import create_app

    monkeypatch.setenv("RUHU_SECURE_COOKIES", "1")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "SECRET_KEY": "x",
            "DATA_DIR": str(tmp_path),
            "MEDIA_DIR": str(tmp_path / "m"),
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_proxy_headers_are_trusted_only_when_configured(tmp_path):
    """Behind one proxy the client address comes from X-Forwarded-For; otherwise it is ignored."""
    from flask import request

    from server import create_app

    def remote_addr(proxies: int) -> str:
        """Return the address the app sees for a forwarded request."""
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "SECRET_KEY": "x",
                "PROXY_COUNT": proxies,
                "DATA_DIR": str(tmp_path),
                "MEDIA_DIR": str(tmp_path / "m"),
            }
        )
        app.add_url_rule("/whoami", "whoami", lambda: request.remote_addr)
        response = app.test_client().get("/whoami", headers={"X-Forwarded-For": "10.1.2.3"})
        return response.get_data(as_text=True)

    assert remote_addr(1) == "10.1.2.3"
    assert remote_addr(0) == "127.0.0.1"
