"""Where a QR lookup spends its time: CPU, wall time and SQL statements per request.

    .venv/bin/python bench/lookup_profile.py [--reuse URL | --engine sqlite|postgresql]
                                             [--rounds 300] [--profile] [--callgrind]

In one process through the test client, as `scale_bench.py` times it: an investigator's
`GET /api/v1/households/lookup?qr=` on households of their township, beside `GET
/api/v1/households/<id>` and a bare endpoint behind the same hooks (no sign-in, no
statement: the test client and Flask alone). `--reuse` takes a database built by
`scale_bench.py`; without it the demo county is loaded into a new database. `--profile`
prints cProfile's CPU time per package (and keeps the raw stats); `--callgrind`, under
`valgrind --tool=callgrind --instr-atstart=no`, counts the instructions of the timed rounds
only (repeatable on a busy machine, unlike CPU time):

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.%p \\
        .venv/bin/python bench/lookup_profile.py --reuse URL --rounds 100 --callgrind
    callgrind_annotate /tmp/cg.* | grep TOTALS      # divide by --rounds (one path at a time)
"""

import argparse
import collections
import cProfile
import os
import pstats
import statistics
import subprocess
import time

from common import PASSWORD, app_for, database_url, save, table

PATHS = ("lookup", "by_id", "bare")


def _package(filename: str) -> str:
    """Name the package (or the project's folder) a profiled function belongs to."""
    for marker in ("site-packages/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1].lstrip("0123456789./").split("/")[0]
    if "/server/" in filename:
        return "server/" + filename.split("/server/", 1)[1].split("/")[0]
    return "builtins" if filename == "~" else filename


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reuse", help="a database scale_bench.py built")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--paths", default=",".join(PATHS),
                        help=f"comma-separated, of {', '.join(PATHS)}")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--callgrind", action="store_true")
    args = parser.parse_args()

    from sqlalchemy import event, select

    from server.extensions import db
    from server.models import Household, User
    from server.services import demo
    from server.services.scope import scoped_households

    app = app_for(args.reuse or database_url(args.engine, "lookup_profile"))

    @app.get("/api/v1/bench/bare")
    def bench_bare():
        return {"ok": True}

    with app.app_context():
        if not args.reuse:
            demo.load_demo(households=240, password=PASSWORD)
        investigator = db.session.scalar(select(User).where(User.username == "inv1"))
        mine = db.session.execute(
            scoped_households(investigator).with_only_columns(Household.id, Household.qr_token)
            .order_by(Household.id).limit(200)).all()
        db.session.remove()
        statements = [0]
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a, **k: statements.__setitem__(0, statements[0] + 1))
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={
        "username": "inv1", "password": PASSWORD}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    urls = {
        "lookup": [f"/api/v1/households/lookup?qr={qr}" for _, qr in mine],
        "by_id": [f"/api/v1/households/{household_id}" for household_id, _ in mine],
        "bare": ["/api/v1/bench/bare"],
    }

    results = []
    for path in args.paths.split(","):
        def get(n: int, path=path) -> None:
            response = client.get(urls[path][n % len(urls[path])], headers=bearer)
            assert response.status_code == 200, response.status_code

        for n in range(30):  # warm up: caches, prepared statements
            get(n)
        statements[0] = 0
        profiler = cProfile.Profile(time.thread_time) if args.profile else None
        if args.callgrind:
            subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], check=True,
                           capture_output=True)
        if profiler:
            profiler.enable()
        walls, cpu = [], time.process_time()
        for n in range(args.rounds):
            began = time.perf_counter()
            get(n)
            walls.append((time.perf_counter() - began) * 1000)
        cpu = time.process_time() - cpu
        if profiler:
            profiler.disable()
        if args.callgrind:
            subprocess.run(["callgrind_control", "--instr=off", str(os.getpid())], check=True,
                           capture_output=True)
        results.append({"path": path, "cpu_ms": cpu / args.rounds * 1000,
                        "median_ms": statistics.median(walls),
                        "statements": statements[0] / args.rounds})
        if profiler:
            profiler.dump_stats(f"/tmp/lookup_profile_{path}.prof")
            stats = pstats.Stats(profiler).stats
            own = collections.Counter()
            for (filename, _, _), (_, _, tottime, _, _) in stats.items():
                own[_package(filename)] += tottime
            total = sum(own.values())
            print(f"\n{path}: CPU per package (cProfile's own time; raw stats in "
                  f"/tmp/lookup_profile_{path}.prof)")
            for package, seconds in own.most_common(15):
                print(f"  {seconds / total:6.1%}  {package}")
    print(f"\n{args.rounds} rounds each (cProfile slows what it watches: compare shares)"
          if args.profile else f"\n{args.rounds} rounds each")
    print(table(results, [("path", "path"), ("cpu_ms", "CPU ms / request"),
                          ("median_ms", "median wall ms"), ("statements", "SQL / request")]))
    save("lookup_profile", results)


if __name__ == "__main__":
    main()
