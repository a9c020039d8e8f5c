"""What one SQL statement costs the server process, per engine: the floor under a merge.

    .venv/bin/python bench/statement_cost.py [--engines sqlite postgresql] [--rounds 5000]

A merge sends about 20 statements (bench/merge_profile.py counts them). This measures the
client-side CPU (`time.process_time`: the Ruhu process's own work, not the database
server's) of one small indexed SELECT sent four ways, against the driver alone in the same
run (the baseline):

* the DB-API driver alone (sqlite3 / psycopg), a reused cursor;
* SQLAlchemy Core, a statement built once and run on a connection (the merge's plain reads);
* the ORM session, the same statement through ``session.execute`` (loads, locks);
* a whole transaction round: the statement, then COMMIT (each request has at least two).

On PostgreSQL every statement is a round trip to another process: the client's part of it
(building the message, the socket calls, the wake-up, reading the answer) is CPU the
Python process spends even when the database does nothing. Figures: README.md.
"""

import argparse
import time

from common import database_url, pg_available, save, table


def cpu_us(action, rounds: int) -> float:
    """Return the CPU microseconds one call of `action` takes (after a warm-up)."""
    for _ in range(min(rounds, 500)):
        action()
    began = time.process_time()
    for _ in range(rounds):
        action()
    return (time.process_time() - began) * 1e6 / rounds


def measure(engine_name: str, rounds: int) -> list[dict]:
    """Return one row per way of sending the statement, on a fresh database."""
    from sqlalchemy import Integer, String, bindparam, create_engine, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

    class Base(DeclarativeBase):
        pass

    class Item(Base):
        __tablename__ = "item"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        name: Mapped[str] = mapped_column(String(40))

    engine = create_engine(database_url(engine_name, "statements"))
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Item(id=n, name=f"item {n}") for n in range(1, 1001)])
        session.commit()
    statement = select(Item.name).where(Item.id == bindparam("id"))
    rows = []

    raw = engine.raw_connection()
    cursor = raw.cursor()
    sql = ("SELECT name FROM item WHERE id = ?" if engine_name == "sqlite"
           else "SELECT name FROM item WHERE id = %s")
    driver = cpu_us(lambda: cursor.execute(sql, (7,)).fetchone(), rounds)
    raw.rollback()
    raw.close()
    rows.append({"way": "DB-API driver, reused cursor", "us": driver})

    with engine.connect() as connection:
        rows.append({"way": "SQLAlchemy Core, prebuilt statement",
                     "us": cpu_us(lambda: connection.execute(statement, {"id": 7}).scalar(),
                                  rounds)})
    with Session(engine) as session:
        rows.append({"way": "ORM session.execute", "us": cpu_us(
            lambda: session.execute(statement, {"id": 7}).scalar(), rounds)})

        def transaction() -> None:
            session.execute(statement, {"id": 7}).scalar()
            session.commit()

        rows.append({"way": "ORM statement + COMMIT (a transaction)",
                     "us": cpu_us(transaction, rounds)})
    engine.dispose()
    for row in rows:
        row["engine"] = engine_name
        row["ratio"] = row["us"] / driver
    return rows


def main() -> None:
    """Measure every engine, print the table, save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=5000)
    args = parser.parse_args()
    engines = list(args.engines)
    if "postgresql" in engines and not pg_available():
        print("PostgreSQL not reachable: skipped")
        engines.remove("postgresql")
    rows = [row for engine in engines for row in measure(engine, args.rounds)]
    save("statement_cost", rows)
    print(table(rows, [("engine", "engine"), ("way", "sent by"),
                       ("us", "client CPU µs / statement"), ("ratio", "× driver alone")]))


if __name__ == "__main__":
    main()
