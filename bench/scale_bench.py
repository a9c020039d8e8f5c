"""A province-sized county: 100,000 households, 500,000 submissions; the pages that must stay
fast at that size.

    .venv/bin/python bench/scale_bench.py [--engine postgresql|sqlite]
                                          [--households 100000] [--submissions 500000]

Builds the data straight into a new database with bulk inserts of the real models (20
townships: the demo's 2 with 3 villages each, 18 more with 10; households drawn by the demo's generator with members, incomes,
assets, supporters and version 1; submissions over 80 days with varied review states,
assessments with failed checks, county-review cases, missing photos and conflicts), lets the
review queue summarise every submission once (as a server catching up would, timed), then
times through the app's test client:

- QR lookup (``GET /api/v1/households/lookup?qr=``, an investigator) — target < 5 ms;
  baseline: the same household by primary key (``GET /api/v1/households/<id>``, same stack);
- the review queue's first page (``/console/queue``, the county supervisor) — < 300 ms;
- the progress dashboard (``/console/progress``, the county supervisor) — < 1 s;
  baseline for both: a bare ``SELECT count(*)`` of the submissions in scope.
"""

import argparse
import random
import secrets
import time
import uuid
from datetime import date, datetime, timedelta

from common import PASSWORD, app_for, database_url, pg_available, save, table, timings

TOWNSHIPS = 20
VILLAGES_PER_TOWNSHIP = 10
BATCH = 5000


def _regions():
    """Create the county with TOWNSHIPS townships of VILLAGES_PER_TOWNSHIP villages."""
    from server.services import demo
    from server.services.regions import add_region

    county = demo.load_regions()
    villages = list(county.villages)
    rng = random.Random(3)
    for t in range(len(county.townships), TOWNSHIPS):
        township = add_region(name=f"第{t + 1}镇", code=f"230229{100 + t:03d}",
                              level="township", parent=county.county)
        for v in range(VILLAGES_PER_TOWNSHIP if t >= 2 else 0):
            urban = v < 2
            villages.append(add_region(
                name=f"第{t + 1}镇{v + 1}{'社区' if urban else '村'}",
                code=f"230229{100 + t:03d}{(1 if urban else 201) + v:03d}", level="village",
                parent=township, kind="community" if urban else "village",
                area_type="urban" if urban else "rural",
                lat=48.0 + rng.uniform(-0.3, 0.3), lon=125.8 + rng.uniform(-0.3, 0.3)))
    return county, villages


def _flush(model, rows: list) -> None:
    """Insert rows in bulk and empty the list."""
    from sqlalchemy import insert

    from server.extensions import db

    if rows:
        db.session.execute(insert(model), rows)
        rows.clear()


def _household_rows(n: int, village, record: dict, now: datetime) -> dict:
    """Turn one generated record into the rows of every table, as register_household would."""
    from server.domain import idcard

    household_id = n + 1
    fields = dict(record["household"])
    if fields.get("next_review_on"):
        fields["next_review_on"] = date.fromisoformat(fields["next_review_on"])
    household = {"id": household_id, "code": f"{village.code}{n:06d}",
                 "qr_token": secrets.token_urlsafe(15), "village_id": village.id,
                 "area_type": village.area_type, "version": 1, "change_seq": household_id,
                 "created_at": now, "updated_at": now, **fields}
    snapshot = {"household": {**record["household"], "code": household["code"],
                              "village_id": village.id, "area_type": village.area_type},
                "members": {}, "supporters": {}, "assets": {}, "incomes": {}}
    rows = {"household": household, "member": [], "supporter": [], "asset": [], "income": []}
    for section, key in (("members", "member"), ("supporters", "supporter"),
                         ("assets", "asset"), ("incomes", "income")):
        for position, item in enumerate(record[section]):
            item = dict(item, id=str(uuid.uuid4()), household_id=household_id,
                        position=position)
            if key == "member":
                # A unique, valid ID number per person (the demo's repeat across counties).
                body = item["id_number"][:14] + f"{(n * 7 + position) % 1000:03d}"
                item["id_number"] = body + idcard.check_character(body)
                for name in ("birth_date", "died_on"):
                    if item.get(name):
                        item[name] = date.fromisoformat(item[name])
            rows[key].append(item)
            snapshot[section][item["id"]] = {
                k: (v.isoformat() if isinstance(v, date) else v) for k, v in item.items()
                if k not in ("id", "household_id")}
    rows["version"] = {"household_id": household_id, "version": 1, "snapshot": snapshot,
                       "changes": [], "cause": "import", "village_id": village.id,
                       "change_seq": household_id, "created_at": now}
    return rows


def build(households: int, submissions: int) -> dict:
    """Fill the database; return how long each part took."""
    from sqlalchemy import func, select, text

    from server.extensions import db
    from server.models import (
        Asset,
        ChangeCounter,
        Conflict,
        Household,
        HouseholdVersion,
        IncomeItem,
        Member,
        Submission,
        SubmissionMedia,
        Supporter,
        User,
    )
    from server.services import demo, users

    took = {}
    began = time.perf_counter()
    county, villages = _regions()
    for username, role, region_code, display in demo.ACCOUNTS:
        users.add_user(username, role=role, region_code=region_code, password=PASSWORD,
                       display_name=display)
    db.session.commit()
    rng = random.Random(2026)
    now = datetime(2026, 3, 1)
    tables = {"household": (Household, []), "member": (Member, []),
              "supporter": (Supporter, []), "asset": (Asset, []),
              "income": (IncomeItem, []), "version": (HouseholdVersion, [])}
    for n in range(households):
        village = villages[n % len(villages)]
        rows = _household_rows(n, village, demo._household_record(rng, village, n), now)
        for key, (_model, pending) in tables.items():
            value = rows[key]
            pending.extend(value if isinstance(value, list) else [value])
        if (n + 1) % BATCH == 0 or n + 1 == households:
            for model, pending in tables.values():
                _flush(model, pending)
            db.session.commit()
    took["households_s"] = time.perf_counter() - began
    print(f"  {households:,} households in {took['households_s']:.0f} s", flush=True)

    began = time.perf_counter()
    investigators = db.session.scalars(select(User.id).where(User.role == "investigator")).all()
    seq = households
    pending, media, conflicts = [], [], []
    for n in range(submissions):
        failed = rng.random() < 0.15
        when = now + timedelta(minutes=rng.randint(0, 60 * 24 * 80))
        household_id = rng.randint(1, households)
        pending.append({
            "id": n + 1, "instance_id": str(uuid.uuid4()), "body_hash": "0" * 64,
            "form_id": "ruhu.record", "form_version": "1", "household_id": household_id,
            "base_version": 1, "household_version": 1, "submitted_by": rng.choice(investigators),
            "investigator_ids": rng.sample(investigators, 2), "device_id": "bench",
            "started_at": when - timedelta(minutes=40), "completed_at": when,
            "answers": {"address": "x"}, "changes": {}, "status": "complete",
            "merge_state": "merged", "merged_at": when,
            "review_state": rng.choices(["received", "approved", "has_issues", "rejected"],
                                        [30, 60, 7, 3])[0],
            "applied": [], "received_at": when, "outcome_seq": seq + n + 1,
            "assessment": {
                "policy_id": "keshan-2022", "eligible": rng.random() < 0.7, "benefit": 300.0,
                "counted_members": 2, "county_review": rng.random() < 0.03,
                "checks": [{"id": "photo_time", "passed": not failed, "rule": "r",
                            "reason": {"zh": "照片时间", "en": "photo time"}}]},
        })
        if rng.random() < 0.2:
            media.append({"submission_id": n + 1, "sha256": f"{n:064x}", "size": 1000,
                          "content_type": "image/jpeg", "question": "q", "category": "housing",
                          "received_at": None if rng.random() < 0.05 else when})
        if rng.random() < 0.01:
            conflicts.append({"household_id": household_id, "submission_id": n + 1,
                              "path": "household.address", "base_value": "a",
                              "server_value": "b", "submitted_value": "c", "server_version": 1,
                              "resolution_value": None, "status": "open", "created_at": when})
        if (n + 1) % BATCH == 0 or n + 1 == submissions:
            _flush(Submission, pending)
            _flush(SubmissionMedia, media)
            _flush(Conflict, conflicts)
            db.session.commit()
    db.session.get(ChangeCounter, 1).value = seq + submissions + 1
    if db.engine.dialect.name == "postgresql":
        for name in ("household", "submission"):
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT max(id) FROM {name}))"))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    db.session.commit()
    took["submissions_s"] = time.perf_counter() - began
    print(f"  {submissions:,} submissions in {took['submissions_s']:.0f} s", flush=True)
    assert db.session.scalar(select(func.count()).select_from(Submission)) == submissions
    return took


def measure(app, rounds: int) -> list[dict]:
    """Time the three pages and their baselines (outside any app context)."""
    from sqlalchemy import func, select

    from server.extensions import db
    from server.models import Household, Region, Submission
    from server.services import review_queue

    with app.app_context():
        began = time.perf_counter()
        summarised = review_queue.refresh_flags()
        first_summary = time.perf_counter() - began
        print(f"  the queue summarised {summarised:,} submissions once in {first_summary:.0f} s")
        township = db.session.scalar(select(Region).where(Region.code == "230229100"))
        mine = db.session.execute(select(Household.id, Household.qr_token).where(
            Household.village_id.in_(select(Region.id).where(Region.parent_id == township.id)))
            .limit(500)).all()
        db.session.remove()

    # Requests are made outside any app context: each gets its own, with a fresh database
    # session, as on a real server (no identity map carried over from the request before).
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={
        "username": "inv1", "password": PASSWORD}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    rng = random.Random(1)

    def qr_lookup():
        _, token_ = rng.choice(mine)
        response = client.get(f"/api/v1/households/lookup?qr={token_}", headers=bearer)
        assert response.status_code == 200, response.status_code

    def by_id():
        household_id, _ = rng.choice(mine)
        response = client.get(f"/api/v1/households/{household_id}", headers=bearer)
        assert response.status_code == 200, response.status_code

    def primary_key_select():
        household_id, _ = rng.choice(mine)
        with app.app_context():
            db.session.execute(select(Household.id, Household.address).where(
                Household.id == household_id)).one()
            db.session.remove()

    qr = timings(qr_lookup, rounds * 20, warmup=5)
    pk = timings(by_id, rounds * 20, warmup=5)
    raw = timings(primary_key_select, rounds * 20, warmup=5)

    console = app.test_client()
    signed_in = console.post("/console/login", data={"username": "sup1", "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.status_code

    def page(url: str):
        def get():
            response = console.get(url)
            response.get_data()
            assert response.status_code == 200, (url, response.status_code)
        return get

    def count_in_scope():
        with app.app_context():
            db.session.scalar(select(func.count()).select_from(Submission))
            db.session.remove()

    queue = timings(page("/console/queue"), rounds)
    progress = timings(page("/console/progress"), rounds)
    counted = timings(count_in_scope, rounds)
    rows = [
        {"what": "QR lookup (investigator)", "target_ms": 5, "median_ms": qr["median_ms"],
         "p99_ms": qr["p99_ms"], "baseline": "GET /households/<id>",
         "baseline_ms": pk["median_ms"], "ratio": qr["median_ms"] / pk["median_ms"],
         "bare_select_ms": raw["median_ms"]},
        {"what": "review queue, first page (county)", "target_ms": 300,
         "median_ms": queue["median_ms"], "p99_ms": queue["p99_ms"],
         "baseline": "SELECT count(*) submissions", "baseline_ms": counted["median_ms"],
         "ratio": queue["median_ms"] / counted["median_ms"]},
        {"what": "progress dashboard (county)", "target_ms": 1000,
         "median_ms": progress["median_ms"], "p99_ms": progress["p99_ms"],
         "baseline": "SELECT count(*) submissions", "baseline_ms": counted["median_ms"],
         "ratio": progress["median_ms"] / counted["median_ms"]},
    ]
    if summarised:  # not when measuring again on a database already summarised (--reuse)
        rows.append({"what": f"queue summary of {summarised:,} submissions, once",
                     "median_ms": first_summary * 1000})
    return rows


def main() -> None:
    """Build, measure, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--submissions", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reuse", default="", help="measure again on a database URL a "
                        "previous run built (it prints it), instead of building")
    args = parser.parse_args()
    if args.engine == "postgresql" and not pg_available():
        raise SystemExit("PostgreSQL not reachable (RUHU_BENCH_PG_URL)")
    url = args.reuse or database_url(args.engine, "scale")
    app = app_for(url)
    from server.extensions import db

    took = {}
    if not args.reuse:
        with app.app_context():
            print(f"{args.engine}: building {args.households:,} households, "
                  f"{args.submissions:,} submissions in {url}", flush=True)
            took = build(args.households, args.submissions)
            db.session.remove()
    rows = measure(app, args.rounds)
    with app.app_context():
        db.engine.dispose()
    for row in rows:
        row["engine"] = args.engine
    save(f"scale-{args.engine}", {"build": took, "households": args.households,
                                  "submissions": args.submissions, "pages": rows})
    print(table(rows, [("what", "page"), ("target_ms", "target ms"), ("median_ms", "median ms"),
                       ("p99_ms", "p99 ms"), ("baseline", "baseline"),
                       ("baseline_ms", "baseline ms"), ("ratio", "ratio")]))


if __name__ == "__main__":
    main()
