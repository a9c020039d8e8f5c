"""Serving the investigator app (pwa/) and the household label URL /h/<qr_token>.

The app is a static shell of native ES modules. Its service worker precaches the shell, so
the worker's version must change whenever any shell file changes: `/sw.js` is rendered with
a version derived from a hash of every shell file and with the list of URLs to precache.
Browser libraries come from the npm registry (`pwa/package.json` + lock, `npm ci --prefix
pwa`) and only an explicit whitelist of their files is served, under a versioned URL that
may be cached for a year. index.html gets an import map naming those URLs, so the app's
modules import `jsqr` by name and the version lives only in the lock file.
"""

import base64
import hashlib
import json
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, abort, request
from flask_compress import Compress

from .security import CONTENT_SECURITY_POLICY

# Top-level files and folders of pwa/ that make up the shell (everything else, such as
# node_modules and package.json, is never served).
SHELL_ROOT_FILES = ("index.html", "manifest.webmanifest")
SHELL_DIRS = ("css", "js", "icons")
SW_TEMPLATE = "sw.js"

# Browser libraries served from pwa/node_modules: name → (npm package, file in it, how the page
# loads it). "module": named in the import map, imported on demand (jsQR only when scanning);
# "script": a classic script tag, for UMD files that need a global `this` (json-logic-js
# defines window.jsonLogic, which js/logic.js wraps).
VENDOR = {
    "jsqr": ("jsqr", "dist/jsQR.js", "module"),
    "json-logic-js": ("json-logic-js", "logic.js", "script"),
}

IMMUTABLE = "public, max-age=31536000, immutable"
# Shell files keep their names across versions: the browser must revalidate (cheap, ETag),
# and the service worker's precache bypasses the HTTP cache anyway.
REVALIDATE = "no-cache"

mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("image/svg+xml", ".svg")

compress = Compress()


@dataclass(frozen=True)
class Asset:
    """One file as served: its bytes, type, strong ETag and cache policy."""

    body: bytes
    mimetype: str
    etag: str
    cache_control: str
    headers: tuple[tuple[str, str], ...] = ()


class Shell:
    """The served files of pwa/, read once and re-read when a file changes on disk."""

    def __init__(self, pwa_dir: Path):
        self.pwa_dir = pwa_dir
        self._stamp: tuple | None = None
        self._assets: dict[str, Asset] = {}
        self.version = ""

    def _sources(self) -> dict[str, Path]:
        """Map each URL path of the shell and vendor files to its file on disk."""
        sources: dict[str, Path] = {}
        for name in SHELL_ROOT_FILES:
            if (self.pwa_dir / name).is_file():
                sources["/" + name] = self.pwa_dir / name
        for folder in SHELL_DIRS:
            for path in sorted((self.pwa_dir / folder).rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    sources["/" + path.relative_to(self.pwa_dir).as_posix()] = path
        for url, path in self._vendor_files().items():
            sources[url] = path
        return sources

    def _vendor_urls(self) -> dict[str, tuple[str, Path]]:
        """Map each library name to (URL carrying its package version, file on disk)."""
        urls = {}
        for name, (package, file, _) in VENDOR.items():
            package_dir = self.pwa_dir / "node_modules" / package
            try:
                version = json.loads((package_dir / "package.json").read_text())["version"]
            except (OSError, ValueError, KeyError):
                continue  # `npm ci --prefix pwa` not run: the page will say what is missing
            urls[name] = (
                f"/vendor/{package}@{version}/{file.rsplit('/', 1)[-1]}",
                package_dir / file,
            )
        return urls

    def _vendor_files(self) -> dict[str, Path]:
        """Map each whitelisted library URL to its file."""
        return dict(self._vendor_urls().values())

    def import_map(self) -> dict:
        """Return the import map pointing each module library's name at its served URL."""
        urls = self._vendor_urls()
        return {
            "imports": {
                name: urls[name][0]
                for name, (_, _, kind) in VENDOR.items()
                if kind == "module" and name in urls
            }
        }

    def classic_scripts(self) -> list[str]:
        """Return the URLs of the libraries loaded with a classic script tag."""
        urls = self._vendor_urls()
        return [
            urls[name][0]
            for name, (_, _, kind) in VENDOR.items()
            if kind == "script" and name in urls
        ]

    def refresh(self) -> None:
        """Re-read the files when any of them changed (cheap stat calls otherwise)."""
        sources = self._sources()
        sw_path = self.pwa_dir / SW_TEMPLATE
        stamp = tuple(
            (url, p.stat().st_mtime_ns, p.stat().st_size)
            for url, p in [*sources.items(), ("/sw.js", sw_path)]
            if p.exists()
        )
        if stamp == self._stamp:
            return
        assets: dict[str, Asset] = {}
        digest = hashlib.sha256()
        for url, path in sorted(sources.items()):
            body = path.read_bytes()
            mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            cache = IMMUTABLE if url.startswith("/vendor/") else REVALIDATE
            headers: tuple = ()
            if url == "/index.html":
                body, headers = self._with_import_map(body)
            assets[url] = _asset(body, mimetype, cache, headers)
            digest.update(url.encode() + b"\0" + assets[url].etag.encode() + b"\0")
        self.version = digest.hexdigest()[:16]
        if sw_path.exists():
            assets["/sw.js"] = _asset(
                self._render_worker(sw_path, assets), "text/javascript", REVALIDATE
            )
        self._assets, self._stamp = assets, stamp

    def _with_import_map(self, html: bytes) -> tuple[bytes, tuple]:
        """Fill index.html's import map placeholder, followed by the classic library scripts.

        Classic scripts are `defer`red, so they run, in order, before the (deferred) module
        scripts that come after them in the page. An import map can only be inline, and the
        CSP allows no inline script: the page's CSP allows this one map by its hash.
        """
        import_map = json.dumps(self.import_map())
        tags = [f'<script type="importmap">{import_map}</script>']
        tags += [f'<script src="{url}" defer></script>' for url in self.classic_scripts()]
        html = re.sub(
            rb'<script type="importmap">.*?</script>',
            "\n".join(tags).encode(),
            html,
            count=1,
            flags=re.S,
        )
        digest = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
        csp = CONTENT_SECURITY_POLICY.replace(
            "script-src 'self'", f"script-src 'self' 'sha256-{digest}'", 1
        )
        return html, (("Content-Security-Policy", csp),)

    def _render_worker(self, sw_path: Path, assets: dict[str, Asset]) -> bytes:
        """Fill the service worker's version and precache list (any change → new worker)."""
        precache = ["/", *sorted(u for u in assets if u != "/index.html")]
        text = sw_path.read_text(encoding="utf-8")
        text = text.replace('"__SHELL_VERSION__"', json.dumps(self.version))
        text = text.replace('["__SHELL_FILES__"]', json.dumps(precache))
        return text.encode()

    def get(self, url: str) -> Asset | None:
        """Return the asset served at a URL path, or None."""
        self.refresh()
        return self._assets.get(url)

    def shell_urls(self) -> list[str]:
        """List the URL paths of our own shell (not vendor libraries), for budget checks."""
        self.refresh()
        return sorted(u for u in self._assets if not u.startswith("/vendor/"))


def _asset(body: bytes, mimetype: str, cache_control: str, headers: tuple = ()) -> Asset:
    """Build an asset with a strong ETag from its content."""
    return Asset(body, mimetype, hashlib.sha256(body).hexdigest()[:32], cache_control, headers)


def _respond(asset: Asset, *, url: str | None = None) -> Response:
    """Answer with an asset, honouring If-None-Match."""
    response = Response(asset.body, mimetype=asset.mimetype)
    response.headers["Cache-Control"] = asset.cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(asset.etag)
    for name, value in asset.headers:
        response.headers[name] = value
    if url == "/sw.js":
        response.headers["Service-Worker-Allowed"] = "/"
    return response.make_conditional(request)


def init_app(app: Flask) -> None:
    """Register the routes that serve the PWA shell, and response compression."""
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault(
        "COMPRESS_MIMETYPES",
        [
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/manifest+json",
            "image/svg+xml",
        ],
    )
    compress.init_app(app)
    shell = Shell(Path(app.config["PWA_DIR"]))
    app.extensions["ruhu_shell"] = shell

    def page() -> Response:
        """Serve index.html (never cached without revalidation)."""
        asset = shell.get("/index.html")
        if asset is None:
            abort(404)
        return _respond(asset)

    @app.get("/")
    def app_shell():
        """Serve the app's shell page."""
        return page()

    @app.get("/h/<qr_token>")
    def household_label(qr_token: str):
        """Open the app at a household: the URL a door label's QR code encodes."""
        return page()

    @app.get("/sw.js")
    def service_worker():
        """Serve the service worker with its shell version and precache list."""
        asset = shell.get("/sw.js")
        if asset is None:
            abort(404)
        return _respond(asset, url="/sw.js")

    @app.get("/manifest.webmanifest")
    @app.get("/<any(css, js, icons):folder>/<path:name>")
    @app.get("/vendor/<package>/<path:name>")
    def shell_file(folder: str = "", name: str = "", package: str = ""):
        """Serve a shell file or a whitelisted library file."""
        asset = shell.get(request.path)
        if asset is None:
            abort(404)
        return _respond(asset)
