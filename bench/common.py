"""What the benchmark scripts share: databases to run on, timing, a table, saved results.

Every script measures its figure and a baseline in the same run and reports the ratio, so the
numbers mean something on any machine. Results go to bench/results/<name>.json (git-ignored);
bench/README.md holds the table of a reference run.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
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


class RequestTimer:
    """CPU (`time.process_time`) and wall time of each request run through `run`.

    The figure to trust on a shared machine is the best block of `block` requests: other work
    only adds time. A remainder shorter than a block is left out of the blocks.
    """

    def __init__(self, block: int = 20):
        self.block = block
        self.cpu: list[float] = []
        self.wall: list[float] = []

    def run(self, action, *args) -> None:
        """Call action(*args) and record its CPU and wall seconds."""
        c0, w0 = time.process_time(), time.perf_counter()
        action(*args)
        self.cpu.append(time.process_time() - c0)
        self.wall.append(time.perf_counter() - w0)

    def cpu_ms(self) -> float:
        """Mean CPU milliseconds per request."""
        return sum(self.cpu) / len(self.cpu) * 1000 if self.cpu else 0.0

    def wall_ms(self) -> float:
        """Mean wall milliseconds per request."""
        return sum(self.wall) / len(self.wall) * 1000 if self.wall else 0.0

    def median_wall_ms(self) -> float:
        """Median wall milliseconds per request."""
        return statistics.median(self.wall) * 1000 if self.wall else 0.0

    def blocks_ms(self) -> list[float]:
        """Mean CPU milliseconds per request of each full block of `block` requests."""
        full = len(self.cpu) - len(self.cpu) % self.block
        return [sum(self.cpu[i:i + self.block]) / self.block * 1000
                for i in range(0, full, self.block)]

    def best_ms(self) -> float:
        """Mean CPU milliseconds per request of the best block (0 with fewer requests)."""
        return min(self.blocks_ms(), default=0.0)


class StatementCounter:
    """Count the SQL statements an engine sends (SQLAlchemy's `before_cursor_execute`)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args, **kwargs) -> None:
        self.count += 1

    def reset(self) -> None:
        """Start counting from zero."""
        self.count = 0


@contextmanager
def callgrind(enabled: bool = True):
    """Count instructions inside the block only, when `enabled`.

    For a process run under `valgrind --tool=callgrind --instr-atstart=no`: instrumentation is
    switched on at entry and off at exit with `callgrind_control`, so set-up and warm-up stay out
    of the figures. Does nothing when not enabled.
    """
    if not enabled:
        yield
        return
    _callgrind_control("--instr=on")
    try:
        yield
    finally:
        _callgrind_control("--instr=off")


def _callgrind_control(switch: str) -> None:
    subprocess.run(["callgrind_control", switch, str(os.getpid())], check=True,
                   capture_output=True)


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
