"""Fixtures for console tests (a pytest plugin: `pytest_plugins = ["tests.console_helpers"]`):
browser-like clients signed in through the real login form, a township-2 supervisor, and
submissions made through the real API. Plain helpers live in tests/console_data.py."""

import re

import pytest
from flask import g, has_app_context

from tests.conftest import DEMO_PASSWORD
from tests.console_data import Scenario

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """Return the CSRF token of the first form in a page."""
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def _forget_cached_csrf() -> None:
    """Drop Flask-WTF's per-request token cache from g.

    The `app` fixture holds one app context for the whole test, and Flask reuses it for every
    request, so `g` outlives a request here (never in production). Flask-WTF caches the token
    in g: without this, a second client (or a new session after sign-in) would be handed a
    token belonging to another session.
    """
    if has_app_context():
        g.pop("csrf_token", None)


class ConsoleClient:
    """A test client with its own cookie jar that sends the CSRF token with every POST."""

    def __init__(self, client):
        self.client = client
        self.token: str | None = None
        self.client.get = self._fresh(self.client.get)
        self.client.post = self._fresh(self.client.post)

    @staticmethod
    def _fresh(method):
        """Wrap a request method so every request starts without a cached CSRF token."""

        def request(*args, **kwargs):
            _forget_cached_csrf()
            return method(*args, **kwargs)

        return request

    def login(self, username: str, password: str = DEMO_PASSWORD):
        """Sign in through the form; return the response of the POST."""
        page = self.client.get("/console/login")
        response = self.client.post(
            "/console/login",
            data={
                "username": username,
                "password": password,
                "csrf_token": csrf_from(page.get_data(as_text=True)),
            },
        )
        # Signing in starts a new session, and with it a new CSRF token.
        self.token = None
        return response

    def get(self, url, **kw):
        """GET a page."""
        return self.client.get(url, **kw)

    def post(self, url, data=None, *, csrf: bool = True, **kw):
        """POST a form, with the session's CSRF token unless csrf=False."""
        data = dict(data or {})
        if csrf:
            if self.token is None:
                page = self.client.get("/console/login", follow_redirects=True)
                self.token = csrf_from(page.get_data(as_text=True))
            data.setdefault("csrf_token", self.token)
        return self.client.post(url, data=data, **kw)

    def text(self, url, status: int = 200) -> str:
        """GET a page, check its status and return its HTML."""
        response = self.client.get(url)
        assert response.status_code == status, (url, response.status_code)
        return response.get_data(as_text=True)


class ConsoleFactory:
    """Signs users in to the console, each in a client of their own."""

    def __init__(self, app):
        self.app = app
        self._cache: dict[str, ConsoleClient] = {}

    def anonymous(self) -> ConsoleClient:
        """Return a client with no session."""
        return ConsoleClient(self.app.test_client())

    def as_user(self, username: str, password: str = DEMO_PASSWORD) -> ConsoleClient:
        """Return a client signed in as `username` (cached per test)."""
        if username not in self._cache:
            console = ConsoleClient(self.app.test_client())
            response = console.login(username, password)
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
            self._cache[username] = console
        return self._cache[username]


@pytest.fixture
def console(app):
    """Sign users in to the console: ``console.as_user("sup1").text("/console/")``."""
    return ConsoleFactory(app)


@pytest.fixture
def sup2(app):
    """A township-2 supervisor (北兴镇), who must see nothing of township 1."""
    from server.services import users

    return users.add_user(
        "sup2", role="supervisor", region_code="230229101", password=DEMO_PASSWORD,
        display_name="北兴督导",
    )


@pytest.fixture
def scenario(api, demo):
    """Make submissions with real photos through the API."""
    return Scenario(api, demo)
