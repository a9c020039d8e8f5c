"""What the benchmark scripts share: databases to run on, timing, a table, saved results.

Every script measures its figure and a baseline in the same run and reports the ratio, so the
numbers mean something on any machine. Results go to bench/results/<name>.json (git-ignored);
bench/README.md holds the table of a reference run.
"""

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_ADMIN_URL = os.environ.get("RUHU_BENCH_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "bench-pass-2026"
sys.path.insert(0, str(ROOT))


def database_url(engine: str, name: str) -> str:
    """Return the URL of a new, empty database: a SQLite file or a PostgreSQL database."""
    if engine == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"ruhu-{name}-"))
        return f"sqlite:///{folder / 'ruhu.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    database = f"ruhu_bench_{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


def pg_available() -> bool:
    """Tell whether the benchmark PostgreSQL answers."""
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def app_for(url: str, data_dir: Path | None = None, **config):
    """Return a migrated app on `url` (CSRF off: the console is driven by a test client)."""
    from server import create_app, migrate

    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="ruhu-bench-data-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                      "DATA_DIR": str(data_dir), "MEDIA_DIR": str(data_dir / "media"),
                      "WTF_CSRF_ENABLED": False, **config})
    migrate.upgrade(app)
    return app


def timings(action, rounds: int, warmup: int = 1) -> dict:
    """Run `action` warmup + rounds times; return median, p99 and best in milliseconds."""
    for _ in range(warmup):
        action()
    values = []
    for _ in range(rounds):
        began = time.perf_counter()
        action()
        values.append((time.perf_counter() - began) * 1000)
    ordered = sorted(values)
    return {"median_ms": statistics.median(values), "best_ms": ordered[0],
            "p99_ms": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
            "rounds": rounds}


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """Return rows as a Markdown table; columns are (key, heading)."""
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    lines = ["| " + " | ".join(heading for _, heading in columns) + " |",
             "| " + " | ".join("---" for _ in columns) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(cell(row.get(key, "")) for key, _ in columns) + " |")
    return "\n".join(lines)


def save(name: str, data) -> Path:
    """Write results to bench/results/<name>.json with the machine and the time."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"at": datetime.now(UTC).isoformat(), "cpus": os.cpu_count(),
                                "results": data}, indent=2, ensure_ascii=False, default=str))
    return path
