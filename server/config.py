"""Defaults and environment settings (RUHU_*). No logic beyond reading values."""

import os
import secrets
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _secret_key(data_dir: Path) -> str:
    """Return RUHU_SECRET_KEY, or a key generated once and kept in the data dir."""
    if os.environ.get("RUHU_SECRET_KEY"):
        return os.environ["RUHU_SECRET_KEY"]
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Write with 0600 so other local users cannot forge sessions.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _hours(text: str | None) -> float | None:
    """Return a number of hours from the environment's text, or None when it is not set."""
    return float(text) if text else None


def from_environment(with_secret: bool = True) -> dict:
    """Build the configuration mapping from RUHU_* environment variables.

    `with_secret=False` skips reading or generating the secret key (tests bring their own).
    """
    data_dir = Path(os.environ.get("RUHU_DATA_DIR", "instance")).resolve()
    database_url = os.environ.get("RUHU_DATABASE_URL") or f"sqlite:///{data_dir / 'ruhu.db'}"
    settings = {
        "DATA_DIR": str(data_dir),
        "MEDIA_DIR": str(data_dir / "media"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": os.environ.get("RUHU_BASE_URL", ""),
        "FORMS_DIR": os.environ.get(
            "RUHU_FORMS_DIR", str(Path(__file__).resolve().parent.parent / "forms")
        ),
        "PWA_DIR": os.environ.get(
            "RUHU_PWA_DIR", str(Path(__file__).resolve().parent.parent / "pwa")
        ),
        "TOKEN_LIFETIME_DAYS": int(os.environ.get("RUHU_TOKEN_LIFETIME_DAYS", "30")),
        "LOGIN_MAX_FAILURES": int(os.environ.get("RUHU_LOGIN_MAX_FAILURES", "5")),
        "LOGIN_WINDOW_SECONDS": int(os.environ.get("RUHU_LOGIN_WINDOW_SECONDS", "900")),
        "LOGIN_MAX_FAILURES_PER_ADDRESS": int(
            os.environ.get("RUHU_LOGIN_MAX_FAILURES_PER_ADDRESS", "50")),
        # How long a later link of an offline chain waits for its missing predecessor before
        # it is merged on the phone's original base (docs/architecture.md, Submissions).
        "SYNC_HOLD_SECONDS": int(os.environ.get("RUHU_SYNC_HOLD_SECONDS", str(72 * 3600))),
        # Submissions one process merges at once (services/gates.py); 0 for no limit; unset:
        # the database engine's default (gates.DEFAULT_SLOTS).
        "SUBMIT_CONCURRENCY": (int(os.environ["RUHU_SUBMIT_CONCURRENCY"])
                               if os.environ.get("RUHU_SUBMIT_CONCURRENCY") else None),
        # Larger images are refused as decompression bombs (a 12-MP phone photo is far below).
        "MEDIA_MAX_PIXELS": int(os.environ.get("RUHU_MEDIA_MAX_PIXELS", str(60_000_000))),
        "MAX_MEDIA_BYTES": int(os.environ.get("RUHU_MAX_MEDIA_BYTES", str(15 * 1024 * 1024))),
        "STORAGE_BACKEND": os.environ.get("RUHU_STORAGE", "local"),
        "S3_BUCKET": os.environ.get("RUHU_S3_BUCKET", ""),
        "S3_ENDPOINT_URL": os.environ.get("RUHU_S3_ENDPOINT_URL", ""),
        # How long a request waits for a database lock (SQLite's write lock, a PostgreSQL
        # row lock) before it gives up with 503 and Retry-After; the phone then retries.
        "DB_LOCK_TIMEOUT_SECONDS": float(os.environ.get("RUHU_DB_LOCK_TIMEOUT", "10")),
        # How many reverse proxies (nginx) stand in front: their X-Forwarded-* headers are then
        # trusted for the client address (rate limits, audit) and the scheme (Secure cookies).
        "PROXY_COUNT": int(os.environ.get("RUHU_PROXY_COUNT", "0")),
        # Behind HTTPS (docs/deploy.md) the session cookie must only travel encrypted.
        "SESSION_COOKIE_SECURE": os.environ.get("RUHU_SECURE_COOKIES", "") in ("1", "true", "yes"),
        # Audit (清查): keep raw uploads of cross-check lists and payment rolls (default: no),
        # and the days a township has to rectify a problem found.
        "AUDIT_KEEP_UPLOADS": os.environ.get("RUHU_AUDIT_KEEP_UPLOADS", "") in ("1", "true", "yes"),
        "LEDGER_DEADLINE_DAYS": int(os.environ.get("RUHU_LEDGER_DEADLINE_DAYS", "30")),
        # The county's offset from UTC, in hours: its calendar dates every business date (a
        # problem found, an overdue deadline, a visit) and the console shows times in it.
        # Unset means China Standard Time (server/county_clock.py); the old name
        # RUHU_CONSOLE_UTC_OFFSET_HOURS is still read.
        "COUNTY_UTC_OFFSET_HOURS": _hours(
            os.environ.get("RUHU_COUNTY_UTC_OFFSET_HOURS")
            or os.environ.get("RUHU_CONSOLE_UTC_OFFSET_HOURS")
        ),
    }
    if with_secret:
        settings["SECRET_KEY"] = _secret_key(data_dir)
    return settings


DEFAULTS = {
    "JSON_AS_ASCII": False,
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    # The API authenticates with bearer tokens, not cookies, so CSRF protection is for the
    # console's forms only; api blueprints are exempted in create_app.
    "WTF_CSRF_CHECK_DEFAULT": True,
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
}
