"""Delta download of a 2,000-household township: bytes (raw and gzip) and time.

    .venv/bin/python bench/delta_bench.py [--engine sqlite|postgresql|both] [--rounds 5]

Loads the demo county with 3,998 households (2,000 in township 1) and times an
investigator's first full download of township 1 (``GET /api/v1/households`` in pages of 500,
through the app's test client: routing, sign-in check, scope, audit entry, schema, gzip),
against the baseline: the same households with their members, supporters, assets and
incomes read by plain SELECTs and dumped to JSON. Then the delta after one changed
household (what a phone's next sync costs).
"""

import argparse
import gzip
import json
import time

from common import PASSWORD, app_for, database_url, pg_available, save, table, timings

# The demo spreads households over its 6 villages in turn: 3,998 puts 2,000 in township 1.
HOUSEHOLDS = 3998
TOWNSHIP_1 = "230229100"


def download(client, token: str, encoding: str, since: str | None = None) -> tuple[int, int, str]:
    """Download every page; return (bytes on the wire, households, final cursor)."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": encoding}
    cursor, total, count = since, 0, 0
    while True:
        response = client.get("/api/v1/households?limit=500"
                              + (f"&since={cursor}" if cursor else ""), headers=headers)
        body = response.get_data()
        assert response.status_code == 200, body[:300]
        total += len(body)
        page = json.loads(gzip.decompress(body) if encoding == "gzip" else body)
        count += len(page["households"])
        cursor = page["cursor"]
        if not page["more"]:
            return total, count, cursor


def baseline_dump(township_id: int) -> bytes:
    """The same rows by plain SELECTs, dumped to JSON (no ORM, no scope, no audit)."""
    from sqlalchemy import text

    from server.extensions import db

    villages = "SELECT id FROM region WHERE parent_id = :t"
    households = [dict(r._mapping) for r in db.session.execute(text(
        f"SELECT * FROM household WHERE village_id IN ({villages}) ORDER BY id"),
        {"t": township_id})]
    ids = [h["id"] for h in households]
    by_id = {h["id"]: h for h in households}
    for table_name in ("member", "supporter", "asset", "income_item"):
        for row in db.session.execute(text(
                f"SELECT * FROM {table_name} WHERE household_id IN "
                f"(SELECT id FROM household WHERE village_id IN ({villages}))"),
                {"t": township_id}):
            item = dict(row._mapping)
            by_id[item["household_id"]].setdefault(table_name + "s", []).append(item)
    db.session.commit()
    assert len(ids) == 2000, len(ids)
    return json.dumps({"households": households}, default=str, ensure_ascii=False).encode()


def run(engine: str, rounds: int) -> dict:
    """Build the county on one engine and measure."""
    from sqlalchemy import select

    from server.extensions import db
    from server.models import Household, Region
    from server.services import demo
    from server.services.household_record import to_record
    from server.services.versions import record_version

    app = app_for(database_url(engine, "delta"))
    with app.app_context():
        began = time.perf_counter()
        demo.load_demo(households=HOUSEHOLDS, password=PASSWORD)
        print(f"{engine}: loaded {HOUSEHOLDS} households in {time.perf_counter() - began:.0f} s")
        township = db.session.scalar(select(Region).where(Region.code == TOWNSHIP_1))
        client = app.test_client()
        token = client.post("/api/v1/auth/login", json={
            "username": "inv1", "password": PASSWORD}).get_json()["token"]
        raw_bytes, count, cursor = download(client, token, "identity")
        assert count == 2000, count
        gzip_bytes, _, _ = download(client, token, "gzip")
        full = timings(lambda: download(client, token, "gzip"), rounds)
        dump = baseline_dump(township.id)
        base = timings(lambda: baseline_dump(township.id), rounds)

        # One household changes; the phone's next sync downloads just that.
        household = db.session.scalar(select(Household).where(
            Household.village_id.in_(select(Region.id).where(Region.parent_id == township.id)))
            .limit(1))
        before = to_record(household)
        household.address = household.address + "（新）"
        record_version(household, before=before, cause="admin")
        db.session.commit()
        delta_bytes, delta_count, _ = download(client, token, "gzip", since=cursor)
        delta = timings(lambda: download(client, token, "gzip", since=cursor), rounds)
        db.session.remove()
        db.engine.dispose()
    return {
        "engine": engine, "households": count,
        "raw_bytes": raw_bytes, "gzip_bytes": gzip_bytes,
        "baseline_bytes": len(dump), "baseline_gzip_bytes": len(gzip.compress(dump)),
        "download_ms": full["median_ms"], "baseline_ms": base["median_ms"],
        "ratio": full["median_ms"] / base["median_ms"],
        "delta_households": delta_count, "delta_gzip_bytes": delta_bytes,
        "delta_ms": delta["median_ms"],
    }


def main() -> None:
    """Measure on the chosen engines, print the table, save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    if "postgresql" in engines and not pg_available():
        print("PostgreSQL not reachable: skipped")
        engines.remove("postgresql")
    rows = [run(engine, args.rounds) for engine in engines]
    save("delta", rows)
    print(table(rows, [
        ("engine", "engine"), ("households", "households"), ("raw_bytes", "raw bytes"),
        ("gzip_bytes", "gzip bytes"), ("download_ms", "download ms"),
        ("baseline_bytes", "SELECT→JSON bytes"), ("baseline_ms", "SELECT→JSON ms"),
        ("ratio", "ratio"), ("delta_gzip_bytes", "next sync bytes"), ("delta_ms", "next sync ms"),
    ]))


if __name__ == "__main__":
    main()
