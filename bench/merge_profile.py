"""Where a merge spends its time: CPU and SQL statements per submission, in one process.

    .venv/bin/python bench/merge_profile.py [--engine sqlite|postgresql] [--form survey|record]
                                            [--rounds 200] [--profile 25]

No HTTP server and no other clients: the test client posts `--rounds` clean submissions
(each on its household's current version, as `sync_bench.py` sends them; re-visits unless
`--first-visits`, with the production settings: CSRF on, not TESTING) and reports CPU
milliseconds per merge (`time.process_time`) and SQL statements per merge, beside the
bare JSON endpoint in the same process (the baseline; the ratio column is CPU per request
over the baseline's). `--profile N` prints the cProfile of the slowest functions
(cumulative) over the last N rounds.
"""

import argparse
import cProfile
import io
import json
import pstats
import uuid

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
from sync_bench import HOUSEHOLDS, survey_answers

BLOCK = 20


def _body(household: dict, version: int, form: str, n: int, team: list[int]) -> bytes:
    form_id, form_version, answers = survey_answers(form, household, n)
    return json.dumps({
        "instance_id": str(uuid.uuid4()), "form_id": form_id, "form_version": form_version,
        "household_id": household["id"], "base_version": version,
        "investigator_ids": team, "device_id": "profile",
        "started_at": "2026-05-22T09:00:00+08:00", "completed_at": "2026-05-22T09:50:00+08:00",
        "location": {"lat": 48.036, "lon": 125.884, "accuracy": 5},
        "answers": answers, "media": [],
    }, ensure_ascii=False).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--form", choices=("survey", "record"), default="survey")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--first-visits", action="store_true",
                        help="measure each household's first survey (default: re-visits, as "
                             "most visits are: the warm-up surveys every household once)")
    parser.add_argument("--profile", type=int, default=0)
    parser.add_argument("--dump", help="with --profile: also write the raw cProfile stats here")
    parser.add_argument("--callgrind", action="store_true",
                        help="under `valgrind --tool=callgrind --instr-atstart=no`: count "
                             "instructions of the merge rounds only (repeatable on a busy "
                             "machine, unlike CPU time)")
    args = parser.parse_args()

    from flask import jsonify, request

    from server.extensions import db
    from server.services import demo

    app = app_for(database_url(args.engine, "profile"), TESTING=False, WTF_CSRF_ENABLED=True)

    @app.post("/bench/parse")
    def bench_parse():
        body = request.get_json(silent=True) or {}
        return jsonify({"ok": True, "keys": len(body)}), 201

    app.extensions["csrf"].exempt(bench_parse)

    with app.app_context():
        demo.load_demo(households=HOUSEHOLDS, password=PASSWORD)
        statements = StatementCounter(db.engine)
    client = app.test_client()
    token = client.post("/api/v1/auth/login",
                        json={"username": "sup1", "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    me = client.get("/api/v1/auth/me", headers=headers).get_json()
    user_id = (me.get("user") or me)["id"]
    team = [user_id, user_id - 1]
    households, cursor = [], None
    while True:
        page = client.get("/api/v1/households?limit=500" + (f"&since={cursor}" if cursor else ""),
                          headers=headers).get_json()
        households += page["households"]
        cursor = page["cursor"]
        if not page["more"]:
            break
    versions = {h["id"]: h["version"] for h in households}
    bodies = []
    warmup = 10 if args.first_visits else len(households)
    for n in range(args.rounds + warmup + 10):
        household = households[n % len(households)]
        bodies.append((household, n))

    def post(path: str, n: int) -> None:
        household, k = bodies[n]
        body = _body(household, versions[household["id"]], args.form, k, team)
        response = client.post(path, data=body, headers=headers)
        assert response.status_code in (200, 201), response.get_data(as_text=True)[:500]
        if path != "/bench/parse":
            versions[household["id"]] = response.get_json()["household_version"]

    results = []
    for label, path in (("bare JSON endpoint", "/bench/parse"),
                        (f"merge, {args.form} form", "/api/v1/submissions")):
        for n in range(warmup):  # warm up
            post(path, n)
        statements.reset()
        profiler = cProfile.Profile() if args.profile and path != "/bench/parse" else None
        timer = RequestTimer(BLOCK)
        with callgrind(args.callgrind and path != "/bench/parse"):
            for n in range(warmup, warmup + args.rounds):
                if profiler and n >= warmup + args.rounds - args.profile:
                    profiler.enable()
                timer.run(post, path, n)
                if profiler:
                    profiler.disable()
        print(label, "blocks (ms):", " ".join(f"{b:.1f}" for b in timer.blocks_ms()))
        # The best block of BLOCK requests: other work on a shared machine only adds time.
        results.append({"path": label, "cpu_ms": timer.cpu_ms(), "best_ms": timer.best_ms(),
                        "wall_ms": timer.wall_ms(),
                        "statements": statements.count / args.rounds})
        if profiler:
            if args.dump:
                profiler.dump_stats(args.dump)
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
            stats.print_stats(60)
            stats.sort_stats("tottime").print_stats(45)
            print(out.getvalue())
    bare = results[0]["cpu_ms"]
    for row in results:
        row["ratio"] = row["cpu_ms"] / bare if bare else float("nan")
    print(f"\n{args.engine}, {args.rounds} rounds (the client's body building included in both)")
    print(table(results, [("path", "path"), ("cpu_ms", "CPU ms / request"),
                          ("best_ms", f"best {BLOCK} CPU ms / request"),
                          ("wall_ms", "wall ms / request"), ("statements", "SQL / request"),
                          ("ratio", "CPU × bare")]))
    save(f"merge_profile_{args.engine}_{args.form}", results)


if __name__ == "__main__":
    main()
