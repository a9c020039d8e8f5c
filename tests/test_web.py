"""Serving the investigator app: shell, service worker version, libraries, compression."""

import gzip
import json
import re
import shutil
from pathlib import Path

import pytest

from server import create_app

ROOT = Path(__file__).resolve().parents[1]
SHELL_BUDGET = 150 * 1024


@pytest.fixture
def pwa_copy(tmp_path):
    """A copy of pwa/ (with its libraries) that a test may edit."""
    target = tmp_path / "pwa"
    shutil.copytree(ROOT / "pwa", target, symlinks=True)
    return target


def app_on(pwa_dir, tmp_path):
    """An app serving `pwa_dir`."""
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "SECRET_KEY": "x",
            "DATA_DIR": str(tmp_path / "d"),
            "MEDIA_DIR": str(tmp_path / "d" / "m"),
            "PWA_DIR": str(pwa_dir),
        }
    )


def worker_version(client) -> str:
    """Return the version the served service worker carries."""
    body = client.get("/sw.js").get_data(as_text=True)
    return re.search(r'const VERSION = "([0-9a-f]+)";', body).group(1)


def test_the_page_and_label_urls_serve_the_shell_uncached(client):
    """/ and /h/<token> are the app's page, always revalidated."""
    for url in ("/", "/h/some-token"):
        response = client.get(url)
        assert response.status_code == 200
        assert b'<script type="module" src="/js/app.js">' in response.data
        assert response.headers["Cache-Control"] == "no-cache"


def test_the_import_map_is_allowed_by_its_hash_and_names_versioned_libraries(client):
    """The inline import map is the only inline script, and the CSP allows it by hash."""
    response = client.get("/")
    html = response.get_data(as_text=True)
    import_map = json.loads(re.search(r'<script type="importmap">(.*?)</script>', html).group(1))
    assert re.fullmatch(r"/vendor/jsqr@[\d.]+/jsQR\.js", import_map["imports"]["jsqr"])
    assert "'sha256-" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"].split("style-src")[0]
    assert re.search(r'<script src="/vendor/json-logic-js@[\d.]+/logic\.js" defer>', html)


def test_the_worker_precaches_the_shell_and_libraries(client):
    """/sw.js lists the page, our modules and the libraries; it is never cached."""
    response = client.get("/sw.js")
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"
    shell = json.loads(
        re.search(r"const SHELL = (\[.*?\]);", response.get_data(as_text=True)).group(1)
    )
    assert "/" in shell and "/js/app.js" in shell and "/manifest.webmanifest" in shell
    assert any(url.startswith("/vendor/jsqr@") for url in shell)
    for url in shell:
        assert client.get(url).status_code == 200, url


def test_the_worker_version_follows_the_shell_files(pwa_copy, tmp_path):
    """Changing any shell file gives a new worker version; nothing else does."""
    client = app_on(pwa_copy, tmp_path).test_client()
    before = worker_version(client)
    assert worker_version(client) == before
    (pwa_copy / "package.json").write_text('{"changed": true}')
    assert worker_version(client) == before
    css = pwa_copy / "css" / "app.css"
    css.write_text(css.read_text() + "\n/* changed */\n")
    assert worker_version(client) != before


def test_libraries_are_immutable_and_only_whitelisted_files_are_served(client):
    """Versioned library URLs may be cached for a year; nothing else of node_modules leaks."""
    html = client.get("/").get_data(as_text=True)
    jsqr = json.loads(re.search(r'<script type="importmap">(.*?)</script>', html).group(1))
    response = client.get(jsqr["imports"]["jsqr"])
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"]
    for url in (
        "/vendor/jsqr@1.4.0/package.json",
        "/vendor/jsqr/dist/jsQR.js",
        "/node_modules/jsqr/dist/jsQR.js",
        "/package.json",
        "/js/../package.json",
        "/sw.js.map",
    ):
        assert client.get(url).status_code == 404, url


def test_responses_are_compressed_and_revalidate(client):
    """Text is gzip-compressed on request; a matching ETag answers 304."""
    response = client.get("/js/app.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert b"export" in gzip.decompress(response.data)
    again = client.get(
        "/js/app.js", headers={"Accept-Encoding": "gzip", "If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304


def test_the_shell_fits_the_budget(client):
    """HTML, CSS, our JS, manifest and worker: at most 150 KB transferred (gzip)."""
    shell = json.loads(
        re.search(r"const SHELL = (\[.*?\]);", client.get("/sw.js").get_data(as_text=True)).group(1)
    )
    ours = [u for u in shell if not u.startswith(("/vendor/", "/icons/"))] + ["/sw.js"]
    sizes = {}
    for url in ours:
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        sizes[url] = len(response.data)
    total = sum(sizes.values())
    assert total <= SHELL_BUDGET, f"shell is {total} bytes gzipped: {sizes}"
