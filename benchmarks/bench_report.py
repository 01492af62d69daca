"""Report speed goal (issue 14): on a store of 1,000,000 slots and 5,000,000 reservations,
`vaxres report --by hospital --json` (the whole process) within 2x the same aggregate run by the
`sqlite3` command-line shell on the same file in the same run; peak memory under 200 MB.

The store: 1,000 hospitals x 5 vaccines x 200 days (100 days past, 100 to come), 5 bookings a
slot (60% reserved, 20% administered, 5% no-show, 15% cancelled, spread so that a slot's five
differ), and 10,000 people waiting (a tenth naming no hospital). Built by bulk SQL into a store
made by `vaxres db upgrade`, under the temporary folder, and deleted at the end.

The baseline runs, in one `sqlite3` process, the very statements `vaxres report` runs
(`vaxres.reports.figures.statements`, compiled with their values), so the difference is what
vaxres adds around the SQL: start-up, opening the store, turning rows into JSON.

Run: uv run python benchmarks/bench_report.py [--slots N] [--reservations M] [--repeat R]
(writes the report section of docs/benchmarks.md; smaller figures run it smaller)
"""

import datetime as dt
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import compile_installed, machine, write_section  # noqa: E402

VAXRES = str(Path(sys.executable).with_name("vaxres"))


def option(name: str, default: int) -> int:
    return int(sys.argv[sys.argv.index(name) + 1].replace(",", "").replace("_", "")) if name in sys.argv else default


SLOTS = option("--slots", 1_000_000)
RESERVATIONS = option("--reservations", 5_000_000)
REPEAT = option("--repeat", 3)
HOSPITALS = 1_000
VACCINES = ("Pfizer", "Moderna", "AstraZeneca", "Janssen", "Novavax")  # the catalog of a new store
WAITING = 10_000
# Of every 20 bookings: 12 reserved, 4 administered, 1 no-show, 3 cancelled.
STATUS = (
    "CASE WHEN {n} < 12 THEN 'reserved' WHEN {n} < 16 THEN 'administered' "
    "WHEN {n} < 17 THEN 'no_show' ELSE 'cancelled' END"
)


def build_store(path: Path) -> None:
    """Secondary indexes are dropped while the rows go in and made again after."""
    subprocess.run([VAXRES, "--db", str(path), "db", "upgrade"], check=True, capture_output=True)
    subprocess.run([VAXRES, "--db", str(path), "db", "set-timezone", "UTC"], check=True, capture_output=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('slot', 'reservation', 'waitlist') "
        "AND sql IS NOT NULL"
    ).fetchall()
    for name, _sql in indexes:
        conn.execute(f"DROP INDEX {name}")
    per_day = HOSPITALS * len(VACCINES)
    days = -(-SLOTS // per_day)
    first = (dt.date.today() - dt.timedelta(days=days // 2)).isoformat()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.000000")
    per_slot = -(-RESERVATIONS // SLOTS)
    vaccine = "CASE i % 5 " + " ".join(f"WHEN {n} THEN '{name}'" for n, name in enumerate(VACCINES)) + " END"
    conn.execute("BEGIN")
    conn.execute(
        f"""
        WITH RECURSIVE counter(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM counter WHERE i < {SLOTS - 1})
        INSERT INTO slot (id, date, hospital, vaccine, hospital_key, vaccine_key, capacity, remaining, created_at, updated_at)
        SELECT i + 1, date('{first}', '+' || (i / {per_day}) || ' days'),
               printf('Hospital %04d', (i / 5) % {HOSPITALS}), {vaccine},
               printf('hospital %04d', (i / 5) % {HOSPITALS}), lower({vaccine}),
               {per_slot + 3}, {per_slot + 3}, '{now}', '{now}'
        FROM counter
        """
    )
    # Booking j takes slot j % SLOTS; its status follows (j / SLOTS * 7 + j) % 20, so the bookings
    # of one slot do not all share a status.
    conn.execute(
        f"""
        WITH RECURSIVE counter(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM counter WHERE j < {RESERVATIONS - 1})
        INSERT INTO reservation (id, slot_id, user_id, dose, status, reserved_at)
        SELECT j + 1, j % {SLOTS} + 1, printf('person%08d', j), 1,
               {STATUS.format(n=f"((j / {SLOTS}) * 7 + j) % 20")}, '{now}'
        FROM counter
        """
    )
    conn.execute(
        """
        UPDATE slot SET remaining = capacity - taken.n
        FROM (SELECT slot_id, count(*) AS n FROM reservation WHERE status <> 'cancelled' GROUP BY slot_id) AS taken
        WHERE slot.id = taken.slot_id
        """
    )
    conn.execute(
        f"""
        WITH RECURSIVE counter(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM counter WHERE k < {WAITING - 1})
        INSERT INTO waitlist (id, user_id, dose, vaccine, vaccine_key, hospital, hospital_key, date_from, date_to, joined_at)
        SELECT k + 1, printf('waiting%06d', k), 1, {vaccine.replace('i % 5', 'k % 5')}, lower({vaccine.replace('i % 5', 'k % 5')}),
               CASE WHEN k % 10 = 0 THEN NULL ELSE printf('Hospital %04d', k % {HOSPITALS}) END,
               CASE WHEN k % 10 = 0 THEN NULL ELSE printf('hospital %04d', k % {HOSPITALS}) END,
               date('now'), CASE WHEN k % 2 = 0 THEN NULL ELSE date('now', '+30 days') END, '{now}'
        FROM counter
        """
    )
    for _name, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


if __name__ == "__main__" and "--build-only" in sys.argv:
    build_store(Path(sys.argv[-1]))
