"""Merge throughput against a bare JSON endpoint at 32 and 128 clients, SQLite and PostgreSQL.

    .venv/bin/python bench/merge_bench.py [--clients 32 128] [--engines sqlite postgresql]
                                          [--seconds 20] [--form survey|record]
                                          [--processes 1 2] [--slices 6] [--no-pin]

Runs the sync engineer's harness (bench/sync_bench.py: a real `ruhu serve`-like waitress
process, N keep-alive clients, each owning its households and sending clean merges, taking
turns in short slices with the same clients against ``POST /bench/parse``, which only parses
the body) once per engine and client count, each on a fresh database, and puts the figures in
one table: requests per second, p50 and p99 latency, the merge/bare throughput ratio and the
lowest and highest ratio of a pair of slices (how much the machine drifted). Several server
processes each run on a core of their own (`ruhu serve --cpu`, as docs/deploy.md advises)
unless --no-pin. It also keeps the 12-MP photo figures sync_bench measures on the way.
"""

import argparse
import json
import os
import subprocess
import sys

from common import ROOT, database_url, pg_available, save, table


def run_one(engine: str, clients: int, seconds: float, form: str, port: int,
            processes: int = 1, slices: int = 6, pin: bool = True) -> dict:
    """Run sync_bench.py once and return its JSON report."""
    command = [sys.executable, str(ROOT / "bench" / "sync_bench.py"), "--clients", str(clients),
               "--seconds", str(seconds), "--form", form, "--port", str(port),
               "--processes", str(processes), "--photo-rounds", "3", "--slices", str(slices),
               *([] if pin else ["--no-pin"])]
    if engine == "postgresql":
        command += ["--database-url", database_url("postgresql", f"merge_{clients}")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-4000:])
    lines = done.stdout.splitlines()
    start = lines.index("{")
    end = start + lines[start:].index("}")
    return json.loads("\n".join(lines[start:end + 1]))


def main() -> None:
    """Run every combination, print the table, save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--form", choices=("survey", "record"), default="survey")
    parser.add_argument("--port", type=int, default=5987)
    parser.add_argument("--processes", type=int, nargs="+",
                        default=sorted({1, os.cpu_count() or 1}),
                        help="server processes per run (each count is a run of its own; "
                             "default: one, and one per core as docs/deploy.md advises)")
    parser.add_argument("--slices", type=int, default=6,
                        help="merge and bare load take turns in this many slices each")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="let the system place the server processes (default: several "
                             "processes each on its own core, as docs/deploy.md advises)")
    args = parser.parse_args()
    engines = list(args.engines)
    if "postgresql" in engines and not pg_available():
        print("PostgreSQL not reachable: skipped")
        engines.remove("postgresql")
    rows, reports = [], []
    runs = [(engine, clients, processes) for engine in engines for clients in args.clients
            for processes in args.processes]
    for engine, clients, processes in runs:
        print(f"{engine}, {clients} clients, {processes} process(es) ...", flush=True)
        report = run_one(engine, clients, args.seconds, args.form, args.port, processes,
                         args.slices, args.pin)
        reports.append(report)
        merge, bare = report["merge"], report["bare"]
        rows.append({
            "engine": engine, "clients": clients, "processes": processes,
            "pinned": "yes" if report.get("pinned") else "no",
            "merge_per_s": merge["per_second"], "merge_p50": merge["p50_ms"],
            "merge_p99": merge["p99_ms"], "errors": merge["errors"],
            "merge_cpu": merge["server_cpu_ms_per_request"], "cores": merge["server_cores"],
            "client_cores": merge["client_cores"], "bare_client_cores": bare["client_cores"],
            "bare_per_s": bare["per_second"], "bare_p50": bare["p50_ms"],
            "bare_p99": bare["p99_ms"], "ratio": report["ratio"],
            "spread": "–".join(f"{r:.2f}" for r in (min(report["slice_ratios"]),
                                                    max(report["slice_ratios"]))),
        })
    save("merge", reports)
    print(table(rows, [
        ("engine", "engine"), ("clients", "clients"), ("processes", "processes"),
        ("pinned", "one core each"),
        ("merge_per_s", "merges/s"),
        ("merge_p50", "p50 ms"), ("merge_p99", "p99 ms"), ("errors", "errors"),
        ("merge_cpu", "server CPU ms/merge"), ("cores", "server cores"),
        ("client_cores", "client cores"),
        ("bare_per_s", "bare/s"), ("bare_p50", "bare p50 ms"), ("bare_p99", "bare p99 ms"),
        # The clients are one Python process: near one core here, the baseline is bound by
        # the bench itself and the ratio flatters the merges (bench/README.md, pass 10).
        ("bare_client_cores", "bare client cores"),
        ("ratio", "merge/bare"), ("spread", "slices' merge/bare"),
    ]))


if __name__ == "__main__":
    main()
