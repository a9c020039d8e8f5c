"""Shared fixtures: a fresh app and database per test, demo data, API clients.

Databases are built once per session as templates (migrated; migrated + demo county) and
copied for each test, so every test starts from a fresh database in milliseconds:
SQLite copies the file; PostgreSQL uses CREATE DATABASE ... TEMPLATE.
Set RUHU_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
everything on PostgreSQL.
"""

import itertools
import os
import shutil
from dataclasses import dataclass

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from server import create_app, migrate
from server.extensions import db

# In CI every hypothesis-driven test (merge properties, API fuzzing) runs a fixed sequence of
# examples, so a landing is never decided by luck; run locally without CI=true to explore new
# random examples.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

PG_URL = os.environ.get("RUHU_TEST_DATABASE_URL")
DEMO_HOUSEHOLDS = 24
DEMO_PASSWORD = "demo-pass-2026"
_counter = itertools.count()


def _config(database_url: str, data_dir) -> dict:
    """Return the test configuration for a database and a data folder."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "DATA_DIR": str(data_dir),
        "MEDIA_DIR": str(data_dir / "media"),
        "BASE_URL": "http://ruhu.test",
    }


class DatabaseFactory:
    """Makes per-test databases from templates, on SQLite or PostgreSQL."""

    def __init__(self, root):
        self.root = root
        self.templates: dict[str, str] = {}
        self.created: list[str] = []
        if PG_URL:
            self.admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            self.prefix = f"ruhu_t{os.getpid()}"

    def _url_for(self, name: str) -> str:
        """Return the URL of a database called `name`."""
        if PG_URL:
            return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        return f"sqlite:///{self.root / (name + '.db')}"

    def _create_empty(self, name: str) -> str:
        """Create an empty database and return its URL."""
        if PG_URL:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self.created.append(name)
        return self._url_for(name)

    def template(self, kind: str) -> str:
        """Return the name of a template database of `kind` ("bare" or "demo"), built once."""
        if kind in self.templates:
            return self.templates[kind]
        name = f"{self.prefix}_tpl_{kind}" if PG_URL else f"tpl_{kind}"
        url = self._create_empty(name)
        app = create_app(_config(url, self.root / f"data_{kind}"))
        migrate.upgrade(app)
        if kind == "demo":
            from server.services import demo

            with app.app_context():
                demo.load_demo(households=DEMO_HOUSEHOLDS, password=DEMO_PASSWORD)
        with app.app_context():
            db.engine.dispose()
        if not PG_URL:
            # Fold the WAL into the main file so a plain copy holds everything.
            engine = create_engine(url)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
        self.templates[kind] = name
        return name

    def fresh(self, kind: str) -> str:
        """Return the URL of a new database copied from the template of `kind`."""
        template = self.template(kind)
        name = f"{self.prefix}_{next(_counter)}" if PG_URL else f"db_{next(_counter)}"
        if PG_URL:
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            self.created.append(name)
        else:
            shutil.copyfile(self.root / f"{template}.db", self.root / f"{name}.db")
        return self._url_for(name)

    def drop(self, url: str) -> None:
        """Drop a per-test database (PostgreSQL; SQLite files go with the temp folder)."""
        if PG_URL:
            name = make_url(url).database
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        """Drop every database this session made."""
        if PG_URL:
            with self.admin.connect() as conn:
                for name in self.created:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    """The session's database factory."""
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.close()


def _make_app(databases, tmp_path, kind: str, overrides: dict | None):
    """Create an app on a fresh database of `kind`."""
    url = databases.fresh(kind)
    app = create_app({**_config(url, tmp_path / "data"), **(overrides or {})})
    return app, url


@pytest.fixture
def app_config():
    """Extra configuration for the `app` fixture; override in a test module to change it."""
    return {}


@pytest.fixture(scope="session")
def s3_server():
    """An S3-compatible server (moto) on the loopback interface, shared by the session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def media_storage():
    """Where the `app` fixture keeps photos: "local"; a module parametrizes it to add "s3"."""
    return "local"


@pytest.fixture
def storage_config(request, media_storage, monkeypatch):
    """The configuration of `media_storage`: for "s3", a new bucket on the moto server."""
    if media_storage == "local":
        return {}
    import boto3

    endpoint = request.getfixturevalue("s3_server")
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    bucket = f"ruhu-test-{os.getpid()}-{next(_counter)}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return {"STORAGE_BACKEND": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint}


@pytest.fixture
def app(databases, tmp_path, app_config, storage_config):
    """A fresh app whose database holds the demo county (24 households, 5 accounts)."""
    app, url = _make_app(databases, tmp_path, "demo", {**storage_config, **app_config})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    databases.drop(url)


@pytest.fixture
def bare_app(databases, tmp_path, app_config):
    """A fresh app with an empty, migrated database."""
    app, url = _make_app(databases, tmp_path, "bare", app_config)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    databases.drop(url)


@pytest.fixture
def client(app):
    """A test client of the demo app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner of the demo app."""
    return app.test_cli_runner()


@dataclass
class Demo:
    """Handy lookups into the demo county of the `app` fixture."""

    password: str = DEMO_PASSWORD

    def user(self, username: str):
        """Return a demo user by username."""
        from sqlalchemy import select

        from server.models import User

        return db.session.scalar(select(User).where(User.username == username))

    def region(self, code: str):
        """Return a region by code."""
        from server.services.regions import by_code

        return by_code(code)

    def households_in(self, township_code: str) -> list:
        """Return the households of a township, ordered by id."""
        from sqlalchemy import select

        from server.models import Household, Region

        township = self.region(township_code)
        villages = select(Region.id).where(Region.parent_id == township.id)
        return list(
            db.session.scalars(
                select(Household).where(Household.village_id.in_(villages)).order_by(Household.id)
            )
        )


TOWNSHIP_1 = "230229100"
TOWNSHIP_2 = "230229101"


@pytest.fixture
def demo(app):
    """Lookups into the demo county."""
    return Demo()


class ApiClient:
    """A test client that sends a bearer token with every request."""

    def __init__(self, client, token: str, user: dict):
        self.client, self.token, self.user = client, token, user

    def _headers(self, headers):
        """Merge the Authorization header into `headers`."""
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, url, **kw):
        """GET with the token."""
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url, **kw):
        """POST with the token."""
        return self.client.post(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, url, **kw):
        """PUT with the token."""
        return self.client.put(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def head(self, url, **kw):
        """HEAD with the token."""
        return self.client.head(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, url, **kw):
        """DELETE with the token."""
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


class ApiFactory:
    """Signs demo users in through the real login endpoint."""

    def __init__(self, client):
        self.client = client
        self._cache: dict[str, ApiClient] = {}

    def as_user(self, username: str, password: str = DEMO_PASSWORD) -> ApiClient:
        """Return an ApiClient signed in as `username` (cached per test)."""
        if username not in self._cache:
            response = self.client.post(
                "/api/v1/auth/login", json={"username": username, "password": password}
            )
            assert response.status_code == 200, response.get_json()
            body = response.get_json()
            self._cache[username] = ApiClient(self.client, body["token"], body["user"])
        return self._cache[username]


@pytest.fixture
def api(client):
    """Sign in demo users: ``api.as_user("inv1").get("/api/v1/households")``."""
    return ApiFactory(client)
