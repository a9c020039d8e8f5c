"""Browser tests: Debian's headless Chromium (driven by Playwright) against the real server.

Each test gets its own server on a free port of 127.0.0.1, on a fresh copy of the demo county
(the root conftest's database templates), so tests never share data. Playwright's own browser
download does not work on our machines: the browser is Debian's chromium (CHROMIUM_BIN, else
the one on PATH). See ../shared/docs/browser-tests.md.
"""

import json
import os
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from server import create_app, http_server, migrate
from server.extensions import db

from ..conftest import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 360, "height": 640}


def chromium_path() -> str:
    """Return Debian's chromium, or skip the browser tests when it is not installed."""
    path = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium")
    if not path:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's chromium; the camera is faked (tests that scan launch their own)."""
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "args": ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
    }


@dataclass
class LiveServer:
    """A Ruhu server running in a thread for one test."""

    app: object
    url: str
    password: str = DEMO_PASSWORD
    _server: object = field(default=None, repr=False)

    def query(self, fn):
        """Run fn() inside the app context (to look at the database) and return its result."""
        with self.app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()

    def login(self, username: str) -> dict:
        """Return the headers of a bearer token for a demo user (through the real API)."""
        client = self.app.test_client()
        response = client.post(
            "/api/v1/auth/login", json={"username": username, "password": self.password}
        )
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}


@contextmanager
def serve(databases, tmp_path, **config):
    """Run a Ruhu server on a fresh copy of the demo county until the block ends, in waitress
    as `ruhu serve` runs it (werkzeug's development server left a response's file open when
    the browser reset the connection just after the last byte)."""
    url = databases.fresh("demo")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "e2e-secret",
            "DATA_DIR": str(tmp_path / "data"),
            "MEDIA_DIR": str(tmp_path / "data" / "media"),
            "LOGIN_MAX_FAILURES": 100,
            **config,
        }
    )
    migrate.upgrade(app)
    server = http_server.create(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.effective_port}", _server=server)
    finally:
        http_server.stop(server)
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()
        databases.drop(url)


@pytest.fixture
def live_server_config():
    """Extra server configuration for `live_server` (override in a test module)."""
    return {}


@pytest.fixture
def live_server(databases, tmp_path, live_server_config):
    """Serve a fresh demo county over HTTP on 127.0.0.1 for one test."""
    with serve(databases, tmp_path, **live_server_config) as live:
        yield live


@pytest.fixture
def base_url(live_server):
    """The live server's URL (pytest-playwright's base_url, per test)."""
    return live_server.url


@pytest.fixture
def browser_context_args(live_server):
    """A phone: 360×640, touch, Chinese, at the live server, with camera and location."""
    return {
        "base_url": live_server.url,
        "viewport": PHONE,
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "permissions": ["camera", "geolocation"],
        "geolocation": {"latitude": 48.036, "longitude": 125.884, "accuracy": 12},
        "accept_downloads": True,
    }


@pytest.fixture
def artifacts():
    """The folder for screenshots kept after the run (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def wait_for_service_worker(page) -> None:
    """Wait until a service worker controls the page and is activated (not just ready)."""
    page.wait_for_function(
        "() => navigator.serviceWorker.controller?.state === 'activated'",
        timeout=20000,
    )


def sign_in(page, username: str = "inv1", password: str = DEMO_PASSWORD) -> None:
    """Open the app, sign in and wait for the household download to finish."""
    page.goto("/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form button[type=submit]")
    page.wait_for_selector("#household-list li a", timeout=20000)
    page.wait_for_selector("#download:not([disabled])")


def idb_outbox(page) -> list:
    """Return the outbox records held in the page's IndexedDB (through the app's db.js)."""
    return page.evaluate(
        """async () => (await (await import("/js/db.js")).getAll("outbox")).map((i) => ({
            instance_id: i.instance_id, state: i.state, media: i.media.length}))"""
    )


def dump(value) -> str:
    """Pretty JSON for assertion messages."""
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)
