"""Sync benchmark: merged submissions per second against a bare JSON endpoint, same run.

    .venv/bin/python bench/sync_bench.py [--clients 32] [--seconds 20] [--form survey|record]
                                         [--database-url postgresql+psycopg://...]

It builds a fresh database with the demo county (240 households), starts a real server
(waitress as `ruhu serve` runs it, server/http_server.py, in its own process) and drives it
with N concurrent clients (threads, each with its own keep-alive connection), against
``POST /api/v1/submissions`` and against ``POST /bench/parse``, an endpoint added only here
that parses the same JSON body and answers a small JSON object (no sign-in, no database).
The two take turns in short slices (--slices), so a drift of the machine's speed during the
run weighs on both alike. Every client owns its own households and sends each one's current
version as base_version, as phones that synced would, so the run measures clean merges
(each writes a new household version).

Then it times photo ingest: a 12-megapixel JPEG through `media.inspect_image` (verify,
EXIF, 1280 and 320 px thumbnails) in-process, and end-to-end through PUT.

This is a script, not a timed test: results depend on the machine. Figures: README.md.
"""

import argparse
import hashlib
import http.client
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-pass-2026"
HOUSEHOLDS = 240


def serve(args) -> None:
    """Run the app with the bare endpoint under waitress (the server process)."""
    import logging

    from flask import jsonify, request

    from server import create_app, http_server
    from server.cli import pin_to_cpu, settle_heap

    if args.cpu is not None:
        pin_to_cpu(args.cpu)  # as `ruhu serve --cpu` does
    app = create_app()
    # waitress logs a line whenever its task queue grows: expected at 32 clients.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    @app.post("/bench/parse")
    def bench_parse():
        """Parse the JSON body and answer, nothing else (the baseline)."""
        body = request.get_json(silent=True) or {}
        return jsonify({"ok": True, "keys": len(body)}), 201

    app.extensions["csrf"].exempt(bench_parse)
    settle_heap()  # as `ruhu serve` does
    # As `ruhu serve` runs it (http_server), with room for the bench's many connections.
    http_server.create(app, host="127.0.0.1", port=args.port, threads=args.threads,
                       connection_limit=256, channel_timeout=120, backlog=1024).run()


def prepare(data_dir: Path, database_url: str) -> None:
    """Create the database with the demo county and a known password."""
    from server import create_app, migrate
    from server.extensions import db
    from server.services import demo

    os.environ["RUHU_DATA_DIR"] = str(data_dir)
    os.environ["RUHU_DATABASE_URL"] = database_url
    app = create_app()
    migrate.upgrade(app)
    with app.app_context():
        demo.load_demo(households=HOUSEHOLDS, password=PASSWORD)
        db.engine.dispose()


class Client:
    """One keep-alive HTTP connection."""

    def __init__(self, port: int, token: str | None = None):
        self.port, self.token = port, token
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, bytes]:
        """Send one request (reconnecting once if the server closed the connection)."""
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                             timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def survey_answers(form: str, household: dict, n: int) -> tuple[str, str, dict]:
    """Return (form_id, form_version, answers) for the n-th submission to a household."""
    if form == "record":
        return "ruhu.record", "1", {
            "address": f"{household['address'].split('#')[0]}#{n}",
            "phone": f"139{n:08d}",
            "members": [{"id": m["id"], "name": m["name"], "occupation": f"职业{n}"}
                        for m in household["members"][:2]],
        }
    from server.services.demo import id_number
    from tests.forms_helpers import HEAD_ID, answers

    # A re-visit as a phone sends it: the family surveyed on the first visit keeps its item
    # ids (the survey is prefilled from the master record), the head's ID number is this
    # household's own (not one person registered in all 240), the wage changes from visit
    # to visit, and the photos and signatures are taken on this visit (no hash shared with
    # another submission). Fresh ids on every visit would add the family again each time.
    filled = answers()
    ids = {item["id"]: str(uuid.uuid5(uuid.NAMESPACE_URL, f"ruhu-bench/{household['id']}/"
                                                          f"{item['id']}"))
           for key in ("members", "incomes", "assets") for item in filled[key]}
    for key in ("members", "incomes", "assets"):
        for item in filled[key]:
            item["id"] = ids[item["id"]]
    for item in filled["incomes"]:
        item["income_member"] = ids.get(item["income_member"], item["income_member"])
    filled["members"][0]["member_id_number"] = id_number(HEAD_ID[:6], date(1970, 1, 1),
                                                         household["id"], True)
    filled["incomes"][0]["income_amount"] += n % 50
    for value in filled.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and "sha256" in item:
                item["sha256"] = hashlib.sha256(
                    f"{household['id']}/{n}/{item['sha256']}".encode()).hexdigest()
    filled["address"] = f"{household['address'].split('#')[0]}#{n}"
    return "dibao_household_survey", "2026.1", filled


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0..100) of values."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the given processes have used so far, from /proc (Linux)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


class Load:
    """What the clients keep from one slice of load to the next: each household's version
    as the server last answered it (the next survey's base), and each client's count."""

    def __init__(self, households: list[dict], clients: int):
        self.versions = {h["id"]: h["version"] for h in households}
        self.sent = [0] * clients


def run_load(ports: list[int], token: str, households: list[dict], clients: int,
             seconds: float, form: str, bare: bool, team: list[int],
             server_pids: list[int], load: Load) -> dict:
    """Drive one endpoint with `clients` threads for `seconds`; return the raw figures."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[int] = [0] * clients
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start_barrier = threading.Barrier(clients + 1)
    stop = threading.Event()
    versions = load.versions  # each client writes only its own households' entries

    def work(index: int) -> None:
        # Clients spread over the server processes, as nginx's upstream would spread them.
        client = Client(ports[index % len(ports)], token)
        mine = households[index::clients]
        n = load.sent[index]
        start_barrier.wait()
        while not stop.is_set():
            household = mine[n % len(mine)]
            form_id, version, answers = survey_answers(form, household, n)
            body = json.dumps({
                "instance_id": str(uuid.uuid4()), "form_id": form_id, "form_version": version,
                "household_id": household["id"], "base_version": versions[household["id"]],
                "investigator_ids": team, "device_id": f"bench-{index}",
                "started_at": "2026-05-22T09:00:00+08:00",
                "completed_at": "2026-05-22T09:50:00+08:00",
                "location": {"lat": 48.036, "lon": 125.884, "accuracy": 5},
                "answers": answers, "media": [],
            }, ensure_ascii=False).encode()
            path = "/bench/parse" if bare else "/api/v1/submissions"
            began = time.perf_counter()
            status, payload = client.request("POST", path, body,
                                             {"Content-Type": "application/json"})
            if not stop.is_set():  # one that ends after the slice is not counted in it
                latencies[index].append(time.perf_counter() - began)
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                if status not in (200, 201):
                    errors[index] += 1
            if status in (200, 201) and not bare:
                versions[household["id"]] = json.loads(payload)["household_version"]
            n += 1
        load.sent[index] = n

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    start_barrier.wait()
    began = time.perf_counter()
    server_cpu, client_cpu = cpu_seconds(server_pids), time.process_time()
    time.sleep(seconds)
    stop.set()
    # The slice ends here: what is still on its way finishes uncounted (a slice's rate is
    # that of the full load, not of its last requests draining).
    elapsed = time.perf_counter() - began
    server_cpu = cpu_seconds(server_pids) - server_cpu
    client_cpu = time.process_time() - client_cpu
    for thread in threads:
        thread.join(timeout=120)
    return {
        "elapsed": elapsed, "server_cpu": server_cpu, "client_cpu": client_cpu,
        "latencies": [x for per_client in latencies for x in per_client],
        "errors": sum(errors), "statuses": statuses,
    }


def alternate(slices: int, seconds: float, run) -> tuple[dict, dict, list[float]]:
    """Run merge and bare load in turn, `slices` times each (`seconds` in all per endpoint,
    merge first in even slices, bare first in odd ones, after a short warm-up of each);
    return the merge's and the bare endpoint's figures and the ratio of each slice pair.

    The machine's speed drifts (a shared VM's bare rate moved by a third within minutes):
    measured in alternating slices, both endpoints see the same drift, so their ratio is
    that of the code, not of the minute each ran in.
    """
    merges, bares, ratios = [], [], []
    for bare in (False, True):  # warm up (caches, connections), not counted
        run(min(2.0, seconds / slices), bare)
    for n in range(slices):
        order = (False, True) if n % 2 == 0 else (True, False)
        pair = {bare: run(seconds / slices, bare) for bare in order}
        merges.append(pair[False])
        bares.append(pair[True])
        ratios.append(_rate(pair[False]) / _rate(pair[True]))
    return summary(merges), summary(bares), ratios


def _rate(raw: dict) -> float:
    return len(raw["latencies"]) / raw["elapsed"]


def summary(raws: list[dict]) -> dict:
    """Sum the slices of one endpoint into its figures."""
    elapsed = sum(r["elapsed"] for r in raws)
    flat = [x for r in raws for x in r["latencies"]]
    statuses: dict[int, int] = {}
    for raw in raws:
        for status, count in raw["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    server_cpu = sum(r["server_cpu"] for r in raws)
    return {
        "requests": len(flat), "per_second": len(flat) / elapsed,
        "errors": sum(r["errors"] for r in raws),
        # Where the two cores went: the servers' CPU per request, and the clients' share.
        "server_cpu_ms_per_request": server_cpu * 1000 / max(len(flat), 1),
        "server_cores": server_cpu / elapsed,
        "client_cores": sum(r["client_cpu"] for r in raws) / elapsed,
        "statuses": statuses,
        "p50_ms": percentile(flat, 50) * 1000, "p99_ms": percentile(flat, 99) * 1000,
    }


def twelve_megapixel_jpeg() -> bytes:
    """Return a 4000×3000 JPEG with EXIF, about 3 MB like a phone's (detail plus sensor noise)."""
    from PIL import Image

    size = (4000, 3000)
    scene = Image.effect_mandelbrot(size, (-2.2, -1.2, 1.0, 1.2), 60).convert("RGB")
    light = Image.linear_gradient("L").rotate(30).resize(size).convert("RGB")
    noise = Image.effect_noise(size, 40).convert("RGB")
    image = Image.blend(Image.blend(scene, light, 0.5), noise, 0.15)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2026:05:22 10:05:00"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def time_ingest(photo: bytes, rounds: int) -> dict:
    """Time inspect_image (verify + EXIF + two thumbnails) on a 12-MP JPEG, in-process."""
    from server.services.media import inspect_image

    with tempfile.NamedTemporaryFile(suffix=".jpg") as fh:
        fh.write(photo)
        fh.flush()
        timings = []
        for _ in range(rounds):
            began = time.perf_counter()
            inspect_image(Path(fh.name), max_pixels=60_000_000)
            timings.append(time.perf_counter() - began)
    return {"median_ms": statistics.median(timings) * 1000, "max_ms": max(timings) * 1000,
            "size_bytes": len(photo)}


def time_upload(port: int, token: str, household: dict, team: list[int], rounds: int) -> dict:
    """Time a whole 12-MP upload end to end (PUT → verified, stored, thumbnails)."""
    client = Client(port, token)
    timings = []
    original = twelve_megapixel_jpeg()
    for n in range(rounds):
        # A distinct file each round (a JPEG comment after SOI), so none is deduplicated.
        comment = f"round {n}".encode()
        photo = (original[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big")
                 + comment + original[2:])
        digest = hashlib.sha256(photo).hexdigest()
        body = json.dumps({
            "instance_id": str(uuid.uuid4()), "form_id": "ruhu.record", "form_version": "1",
            "household_id": household["id"], "base_version": household["version"],
            "investigator_ids": team, "device_id": "bench-photo",
            "started_at": "2026-05-22T09:00:00+08:00", "completed_at": "2026-05-22T09:50:00+08:00",
            "answers": {}, "media": [{"sha256": digest, "size": len(photo),
                                      "content_type": "image/jpeg", "question": "photo"}],
        }).encode()
        status, payload = client.request("POST", "/api/v1/submissions", body,
                                         {"Content-Type": "application/json"})
        assert status == 201, payload
        instance = json.loads(payload)["instance_id"]
        began = time.perf_counter()
        status, payload = client.request("PUT", f"/api/v1/submissions/{instance}/media/{digest}",
                                         photo, {"Content-Type": "image/jpeg"})
        timings.append(time.perf_counter() - began)
        assert status == 201, payload
    return {"median_ms": statistics.median(timings) * 1000, "size_bytes": len(photo)}


def main() -> None:
    """Prepare, serve, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--threads", type=int, default=8,
                        help="waitress worker threads (ruhu serve's default)")
    parser.add_argument("--port", type=int, default=5987)
    parser.add_argument("--processes", type=int, default=1,
                        help="server processes (ports --port, --port+1, ...), sharing the "
                             "database as several `ruhu serve` behind nginx do")
    parser.add_argument("--form", choices=("survey", "record"), default="survey")
    parser.add_argument("--database-url", default="",
                        help="empty: a SQLite file in a temporary folder")
    parser.add_argument("--photo-rounds", type=int, default=9)
    parser.add_argument("--slices", type=int, default=6,
                        help="merge and bare load alternate in this many slices each "
                             "(--seconds in all per endpoint)")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="let the system place the server processes (default: with "
                             "several, each on its own core, as docs/deploy.md advises)")
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return

    data_dir = Path(tempfile.mkdtemp(prefix="ruhu-bench-"))
    database_url = args.database_url or f"sqlite:///{data_dir / 'ruhu.db'}"
    env = {**os.environ, "RUHU_DATA_DIR": str(data_dir), "RUHU_DATABASE_URL": database_url,
           "PYTHONPATH": str(ROOT)}
    prepare(data_dir, database_url)
    ports = [args.port + n for n in range(args.processes)]
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pinned = args.pin and args.processes > 1 and len(cores) > 1
    servers = [subprocess.Popen(
        [sys.executable, __file__, "--serve", "--port", str(port),
         "--threads", str(args.threads),
         *(["--cpu", str(cores[n % len(cores)])] if pinned else [])], env=env)
        for n, port in enumerate(ports)]
    try:
        for port in ports:
            for _ in range(100):
                try:
                    status, _ = Client(port).request("GET", "/api/v1/openapi.json")
                    if status == 200:
                        break
                except OSError:
                    time.sleep(0.2)
        anonymous = Client(args.port)
        status, payload = anonymous.request(
            "POST", "/api/v1/auth/login",
            json.dumps({"username": "inv1", "password": PASSWORD}).encode(),
            {"Content-Type": "application/json"})
        login = json.loads(payload)
        sup = json.loads(anonymous.request(
            "POST", "/api/v1/auth/login",
            json.dumps({"username": "sup1", "password": PASSWORD}).encode(),
            {"Content-Type": "application/json"})[1])["token"]
        team = [login["user"]["id"], login["user"]["id"] + 1]
        # The county supervisor may submit anywhere: the clients use that scope.
        households, cursor = [], None
        supervisor = Client(args.port, sup)
        while True:
            page = json.loads(supervisor.request(
                "GET", "/api/v1/households?limit=500" + (f"&since={cursor}" if cursor else ""))[1])
            households += page["households"]
            cursor = page["cursor"]
            if not page["more"]:
                break
        pids = [server.pid for server in servers]
        load = Load(households, args.clients)
        merge, bare, ratios = alternate(
            args.slices, args.seconds,
            lambda seconds, bare: run_load(ports, sup, households, args.clients, seconds,
                                           args.form, bare, team, pids, load))
        ingest = time_ingest(twelve_megapixel_jpeg(), args.photo_rounds)
        upload = time_upload(args.port, sup, households[0], team, 5)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    engine = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    report = {
        "engine": engine, "clients": args.clients, "processes": args.processes,
        "seconds": args.seconds, "form": args.form,
        "cpus": os.cpu_count(), "pinned": pinned, "merge": merge, "bare": bare,
        "ratio": merge["per_second"] / bare["per_second"], "slices": args.slices,
        "slice_ratios": ratios,
        "photo_ingest_12mp": ingest, "photo_upload_12mp": upload,
    }
    print(json.dumps(report, indent=2))
    print(f"\n{engine}, {args.clients} clients, {args.processes} process(es), "
          f"form={args.form}: merge "
          f"{merge['per_second']:.0f}/s (p50 {merge['p50_ms']:.0f} ms, p99 "
          f"{merge['p99_ms']:.0f} ms, errors {merge['errors']}, server CPU "
          f"{merge['server_cpu_ms_per_request']:.1f} ms each, {merge['server_cores']:.2f} "
          f"cores; clients {merge['client_cores']:.2f} cores) vs bare "
          f"{bare['per_second']:.0f}/s (p50 {bare['p50_ms']:.0f} ms, p99 "
          f"{bare['p99_ms']:.0f} ms, server CPU {bare['server_cpu_ms_per_request']:.1f} ms each, "
          f"{bare['server_cores']:.2f} cores; clients {bare['client_cores']:.2f} cores) → ratio {report['ratio']:.0%} "
          f"(slices {min(ratios):.0%}–{max(ratios):.0%}); 12-MP ingest median "
          f"{ingest['median_ms']:.0f} ms, upload end to end {upload['median_ms']:.0f} ms")


if __name__ == "__main__":
    main()
