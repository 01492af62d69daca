"""List speed goal (issue 12): `vaxres slot list` and `vaxres outbox list` each answer in under
0.3 s on a store of 1,000,000 slots and 2,000,000 outbox messages, beside `vaxres --version`
(the same start-up, no store) measured in the same run.

The store is built once by bulk SQL and kept under the cache folder ($VAXRES_BENCH_CACHE, or
vaxres-bench in the temporary folder), named after the schema revision and the data's version.

Run: uv run python benchmarks/bench_lists.py [--quick]   (writes the lists section of docs/benchmarks.md)
"""

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import compile_installed, machine, median, wall_times, write_section  # noqa: E402

VAXRES = str(Path(sys.executable).with_name("vaxres"))
QUICK = "--quick" in sys.argv
RUNS = 5 if QUICK else 11
SLOTS = 1_000_000
MESSAGES = 2_000_000
HOSPITALS = 1_000
DAYS = 500
VACCINES = ("Pfizer", "Moderna")
DATA_VERSION = 1
CITIES = ("서울", "부산", "대구", "인천", "광주", "대전", "울산", "수원", "Seoul", "Jeju")
KINDS = ("대병원", "의료원", "아산병원", "성모병원", " General Hospital")
START = dt.date(2027, 1, 1)
# Messages were written over 200 days, one every MESSAGE_SECONDS, in id order.
MESSAGE_SECONDS = 200 * 86_400 / MESSAGES
WRITTEN_FROM = dt.datetime(2026, 6, 1)


def hospital_names() -> list[str]:
    """1,000 hospitals: 'city + kind + number', a tenth of them in each city (서울 is a tenth)."""
    return [f"{CITIES[n % len(CITIES)]}{KINDS[n // len(CITIES) % len(KINDS)]} {n // 50 + 1}호" for n in range(HOSPITALS)]


def store_path(cache: Path) -> Path:
    from vaxres.db.revisions import HEAD

    return cache / f"lists-{HEAD}-v{DATA_VERSION}.db"


def build_store(path: Path) -> None:
    """1,000,000 slots (1,000 hospitals x 500 days x 2 vaccines) and 2,000,000 messages: one
    SlotRegistered per slot (to '*') and one ReservationConfirmed for each of 1,000,000 people,
    most delivered, some pending and failed, by INSERT ... SELECT over a recursive counter."""
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    subprocess.run([VAXRES, "--db", str(partial), "db", "upgrade"], check=True, capture_output=True)
    conn = sqlite3.connect(partial, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-200000")
    conn.execute("CREATE TEMP TABLE hospital (n INTEGER PRIMARY KEY, name TEXT, key TEXT)")
    conn.executemany(
        "INSERT INTO hospital VALUES (?, ?, ?)", [(n, name, name.casefold()) for n, name in enumerate(hospital_names())]
    )
    conn.execute("CREATE TEMP TABLE vaccine_name (n INTEGER PRIMARY KEY, name TEXT, key TEXT)")
    conn.executemany("INSERT INTO temp.vaccine_name VALUES (?, ?, ?)", [(n, v, v.casefold()) for n, v in enumerate(VACCINES)])
    created = "2026-06-01 00:00:00.000000"
    conn.execute("BEGIN")
    # Slot ids follow date, hospital, vaccine: the order of the listing.
    conn.execute(
        f"""
        WITH RECURSIVE counter(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM counter WHERE i < {SLOTS - 1})
        INSERT INTO slot (id, date, hospital, vaccine, hospital_key, vaccine_key, capacity, remaining, created_at, updated_at)
        SELECT i + 1, date('{START.isoformat()}', '+' || (i / {HOSPITALS * len(VACCINES)}) || ' days'),
               h.name, v.name, h.key, v.key, 100, 100 - i % 7, '{created}', '{created}'
        FROM counter
        JOIN hospital AS h ON h.n = (i / {len(VACCINES)}) % {HOSPITALS}
        JOIN temp.vaccine_name AS v ON v.n = i % {len(VACCINES)}
        """
    )
    conn.execute(
        f"""
        WITH RECURSIVE counter(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM counter WHERE i < {MESSAGES - 1})
        INSERT INTO outbox (id, event, recipient, payload, correlation_id, created_at, status, attempts,
                            next_attempt_at, delivered_at, last_error)
        SELECT i + 1,
               CASE WHEN i % 2 = 0 THEN 'SlotRegistered' ELSE 'ReservationConfirmed' END,
               CASE WHEN i % 2 = 0 THEN '*' ELSE printf('user%07d', i / 2) END,
               CASE WHEN i % 2 = 0
                    THEN json_object('slot_id', s.id, 'date', s.date, 'hospital', s.hospital, 'vaccine', s.vaccine,
                                     'doses', s.capacity)
                    ELSE json_object('reservation_id', i / 2 + 1, 'user', printf('user%07d', i / 2), 'dose', 1,
                                     'slot_id', s.id, 'date', s.date, 'hospital', s.hospital, 'vaccine', s.vaccine)
               END,
               CASE WHEN i % 2 = 0 THEN s.id ELSE i / 2 + 1 END,
               strftime('%Y-%m-%d %H:%M:%f000', '{WRITTEN_FROM.isoformat()}', '+' || (i * {MESSAGE_SECONDS}) || ' seconds'),
               CASE WHEN i % 100 = 1 THEN 'failed' WHEN i >= {MESSAGES - 20_000} THEN 'pending' ELSE 'delivered' END,
               CASE WHEN i % 100 = 1 THEN 5 ELSE 1 END,
               strftime('%Y-%m-%d %H:%M:%f000', '{WRITTEN_FROM.isoformat()}', '+' || (i * {MESSAGE_SECONDS}) || ' seconds'),
               CASE WHEN i % 100 = 1 OR i >= {MESSAGES - 20_000} THEN NULL
                    ELSE strftime('%Y-%m-%d %H:%M:%f000', '{WRITTEN_FROM.isoformat()}', '+' || (i * {MESSAGE_SECONDS} + 5) || ' seconds')
               END,
               CASE WHEN i % 100 = 1 THEN 'HTTP 503 Service Unavailable from https://hooks.example.org/vaxres' END
        FROM counter JOIN slot AS s ON s.id = i / 2 + 1
        """
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE") if "--analyze" in sys.argv else None
    conn.close()
    os.replace(partial, path)


def cached_store() -> Path:
    cache = Path(os.environ.get("VAXRES_BENCH_CACHE") or Path(tempfile.gettempdir()) / "vaxres-bench")
    cache.mkdir(parents=True, exist_ok=True)
    path = store_path(cache)
    if not path.exists():
        start = time.perf_counter()
        build_store(path)
        print(f"built {path} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return path


if __name__ == "__main__" and "--build-only" in sys.argv:
    print(cached_store())
