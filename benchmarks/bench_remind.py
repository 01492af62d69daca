"""Reminder speed goal (issue 13): `vaxres remind` over 1,000,000 reserved bookings in under 10 s.

The store: 1,000,000 reserved bookings of 1,000,000 people on 30,000 slots (1,000 hospitals x the
next 30 days), so about 1/30 of them (34,000) are due tomorrow, and their 1,000,000 ReservationConfirmed
messages already delivered (the outbox's indexes are as big as a real store's). Built by bulk SQL
once per day (the bookings are dated from today, in the store's zone, UTC) and cached under
$VAXRES_BENCH_CACHE or vaxres-bench in the temporary folder; each measured run gets a fresh copy.

Timed as whole processes: the first `vaxres remind` (writes the day's reminders), a second run at
once (writes nothing), `--days-before 7` on a fresh copy (a week ahead: 238,000 reminders), beside
`vaxres mypage nobody` on the same store (the start-up every store command pays).

Run: uv run python benchmarks/bench_remind.py [--quick]   (writes the remind section of docs/benchmarks.md)
"""

import datetime as dt
import json
import os
import shutil
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
RUNS = 2 if QUICK else 5
BOOKINGS = 1_000_000
HOSPITALS = 1_000
DAYS = 30
CAPACITY = 40
DATA_VERSION = 1


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def store_path(cache: Path) -> Path:
    from vaxres.db.revisions import HEAD

    return cache / f"remind-{HEAD}-v{DATA_VERSION}-{today().isoformat()}.db"


def build_store(path: Path) -> None:
    """Slot i is hospital i % 1,000 on day 1 + i // 1,000; booking i takes slot i % 30,000 (33 or
    34 per slot), so each day holds 1/30 of the bookings. Secondary indexes are dropped while
    the rows go in and made again after, as fast as SQLite builds an index."""
    partial = path.with_suffix(".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    for args in (["db", "upgrade"], ["db", "set-timezone", "UTC"]):
        subprocess.run([VAXRES, "--db", str(partial), *args], check=True, capture_output=True)
    conn = sqlite3.connect(partial, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('slot', 'reservation', 'outbox') "
        "AND sql IS NOT NULL"
    ).fetchall()
    for name, _sql in indexes:
        conn.execute(f"DROP INDEX {name}")
    slots = HOSPITALS * DAYS
    start, booked_at = (
        today().isoformat(),
        (dt.datetime.now(dt.UTC) - dt.timedelta(days=5)).strftime("%Y-%m-%d %H:%M:%S.000000"),
    )
    conn.execute("BEGIN")
    conn.execute(
        f"""
        WITH RECURSIVE counter(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM counter WHERE i < {slots - 1})
        INSERT INTO slot (id, date, hospital, vaccine, hospital_key, vaccine_key, capacity, remaining, created_at, updated_at)
        SELECT i + 1, date('{start}', '+' || (1 + i / {HOSPITALS}) || ' days'), printf('Hospital %04d', i % {HOSPITALS}),
               'Pfizer', printf('hospital %04d', i % {HOSPITALS}), 'pfizer', {CAPACITY},
               {CAPACITY} - ({BOOKINGS} / {slots} + CASE WHEN i < {BOOKINGS % slots} THEN 1 ELSE 0 END),
               '{booked_at}', '{booked_at}'
        FROM counter
        """
    )
    conn.execute(
        f"""
        WITH RECURSIVE counter(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM counter WHERE i < {BOOKINGS - 1})
        INSERT INTO reservation (id, slot_id, user_id, dose, status, reserved_at)
        SELECT i + 1, i % {slots} + 1, printf('user%07d', i), 1, 'reserved', '{booked_at}' FROM counter
        """
    )
    conn.execute(
        f"""
        INSERT INTO outbox (id, event, recipient, payload, correlation_id, created_at, status, attempts,
                            next_attempt_at, delivered_at)
        SELECT r.id, 'ReservationConfirmed', r.user_id,
               json_object('reservation_id', r.id, 'user', r.user_id, 'dose', 1, 'slot_id', s.id, 'date', s.date,
                           'hospital', s.hospital, 'vaccine', s.vaccine),
               r.id, '{booked_at}', 'delivered', 1, '{booked_at}', '{booked_at}'
        FROM reservation AS r JOIN slot AS s ON s.id = r.slot_id
        """
    )
    for _name, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    os.replace(partial, path)


def cached_store() -> Path:
    cache = Path(os.environ.get("VAXRES_BENCH_CACHE") or Path(tempfile.gettempdir()) / "vaxres-bench")
    cache.mkdir(parents=True, exist_ok=True)
    path = store_path(cache)
    if not path.exists():
        for old in cache.glob("remind-*.db"):  # yesterday's bookings are no longer from tomorrow on
            old.unlink()
        begun = time.perf_counter()
        build_store(path)
        print(f"built {path} in {time.perf_counter() - begun:.0f} s", file=sys.stderr)
    return path


def fresh_copy(store: Path, folder: Path) -> Path:
    copy = folder / "work.db"
    for leftover in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(store, copy)
    return copy


def remind(db: Path, *args: str) -> tuple[float, int]:
    """Wall seconds and reminders written of one `vaxres remind` process."""
    begun = time.perf_counter()
    proc = subprocess.Popen(
        [VAXRES, "--db", str(db), "remind", "--json", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out, err = proc.communicate()
    wall = time.perf_counter() - begun
    if proc.returncode != 0:
        raise SystemExit(f"vaxres remind failed: {err}")
    return wall, json.loads(out)["written"]


def main() -> None:
    compile_installed()
    store = cached_store()
    firsts, seconds, opened = [], [], []
    with tempfile.TemporaryDirectory(dir=store.parent) as tmp:
        folder = Path(tmp)
        for _ in range(RUNS):
            db = fresh_copy(store, folder)
            opened += wall_times([VAXRES, "--db", str(db), "mypage", "nobody"], 1)
            wall, written = remind(db)
            firsts.append((wall, written))
            wall, again = remind(db)
            seconds.append((wall, again))
        db = fresh_copy(store, folder)
        week_wall, week_written = remind(db, "--days-before", "7")
        week_again, _ = remind(db, "--days-before", "7")
        size = store.stat().st_size / 1e9
    first, second, open_cost = median([w for w, _ in firsts]), median([w for w, _ in seconds]), median(opened)
    [written] = {n for _, n in firsts}
    assert {n for _, n in seconds} == {0}

    body = f"""
## Reminders (issue 13): `vaxres remind` over 1,000,000 bookings

Measured {today().isoformat()} on {machine()} by `uv run python benchmarks/bench_remind.py`{" --quick" if QUICK else ""},
on a SQLite store of {BOOKINGS:,} reserved bookings (1,000 hospitals x the next {DAYS} days, 33 or 34
people a slot) and their {BOOKINGS:,} delivered ReservationConfirmed messages ({size:.2f} GB), built
by bulk SQL. Each run starts from a fresh copy of the store; whole processes, medians of {RUNS}
(interleaved with `vaxres mypage nobody` on the same copy: {open_cost:.3f} s, the start-up every
store command pays).

| command | wall time | reminders written | goal |
|---|---|---|---|
| `vaxres remind` (first run of the day: about 1/{DAYS} due tomorrow) | {first:.2f} s | {written:,} | under 10 s: {"met" if first < 10 else "**missed**"} |
| `vaxres remind` again (nothing left to write) | {second:.2f} s | 0 | under 10 s: {"met" if second < 10 else "**missed**"} |
| `vaxres remind --days-before 7` (one run) | {week_wall:.2f} s | {week_written:,} | — |
| `vaxres remind --days-before 7` again (one run) | {week_again:.2f} s | 0 | — |

All runs: first {", ".join(f"{w:.2f}" for w, _ in firsts)} s; second {", ".join(f"{w:.2f}" for w, _ in seconds)} s.

How: one transaction, two statements. `INSERT INTO reminder ... SELECT` the bookings whose slot
is dated today to today + N (the slot's unique index leads with the date; the bookings come by
`reservation.slot_id`), `ON CONFLICT DO NOTHING` on the reminder's unique key (booking, day, N);
then `INSERT INTO outbox ... SELECT` the ReservationReminder messages of the reminder rows this
run added (numbered above the highest before; runs are serialised), their payloads built in SQL
by `json_object` (`outbox/events.py` `reservation_reminder_rows`). The second run reads the same
due bookings and finds each key taken. Nothing per booking goes through Python.
"""
    print(body)
    write_section("remind", body)


if __name__ == "__main__":
    if "--build-only" in sys.argv:
        print(cached_store())
    else:
        main()
