"""Where a QR lookup spends its time: CPU, wall time and SQL statements per request.

    .venv/bin/python bench/lookup_profile.py [--reuse URL | --engine sqlite|postgresql]
                                             [--rounds 300] [--profile] [--callgrind]

In one process through the test client, as `scale_bench.py` times it: an investigator's
`GET /api/v1/households/lookup?qr=` on households of their township, beside `GET
/api/v1/households/<id>` and a bare endpoint behind the same hooks (no sign-in, no
statement: the test client and Flask alone). The bare endpoint is the baseline: the ratio
column is CPU per request over its CPU per request, measured in the same run, also when
`--paths` leaves it out (then as "bare (baseline)", without cProfile or callgrind). `--reuse`
takes a database built by `scale_bench.py`; without it the demo county is loaded into a new
database. `--profile` prints cProfile's CPU time per package (and keeps the raw stats);
`--callgrind`, under `valgrind --tool=callgrind --instr-atstart=no`, counts the instructions
of the timed rounds only (repeatable on a busy machine, unlike CPU time):

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.%p \\
        .venv/bin/python bench/lookup_profile.py --reuse URL --rounds 100 --callgrind
    callgrind_annotate /tmp/cg.* | grep TOTALS      # divide by --rounds (one path at a time)
"""

import argparse
import collections
import cProfile
import pstats
import time

from common import (
    PASSWORD,
    RequestTimer,
    StatementCounter,
    app_for,
    callgrind,
    database_url,
    save,
    table,
)

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

    from sqlalchemy import select

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
        statements = StatementCounter(db.engine)
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={
        "username": "inv1", "password": PASSWORD}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    urls = {
        "lookup": [f"/api/v1/households/lookup?qr={qr}" for _, qr in mine],
        "by_id": [f"/api/v1/households/{household_id}" for household_id, _ in mine],
        "bare": ["/api/v1/bench/bare"],
    }

    paths = args.paths.split(",")
    baseline_only = "bare" not in paths  # measured for the ratio, not watched
    results = []
    for path in paths + ["bare"] * baseline_only:
        watched = path in paths

        def get(n: int, path=path) -> None:
            response = client.get(urls[path][n % len(urls[path])], headers=bearer)
            assert response.status_code == 200, response.status_code

        for n in range(30):  # warm up: caches, prepared statements
            get(n)
        statements.reset()
        profiler = cProfile.Profile(time.thread_time) if args.profile and watched else None
        timer = RequestTimer()
        with callgrind(args.callgrind and watched):
            if profiler:
                profiler.enable()
            for n in range(args.rounds):
                timer.run(get, n)
            if profiler:
                profiler.disable()
        results.append({"path": path if watched else "bare (baseline)",
                        "cpu_ms": timer.cpu_ms(), "median_ms": timer.median_wall_ms(),
                        "statements": statements.count / args.rounds})
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
    bare = results[-1]["cpu_ms"] if baseline_only else results[paths.index("bare")]["cpu_ms"]
    for row in results:
        row["ratio"] = row["cpu_ms"] / bare if bare else float("nan")
    print(table(results, [("path", "path"), ("cpu_ms", "CPU ms / request"),
                          ("median_ms", "median wall ms"), ("statements", "SQL / request"),
                          ("ratio", "CPU × bare")]))
    save("lookup_profile", results)


if __name__ == "__main__":
    main()
