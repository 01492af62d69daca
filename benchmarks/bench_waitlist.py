"""Waitlist speed goal (issue 13): a cancellation that books a waiting person among 100,000
entries costs at most 2x a plain cancellation (indexes, not scans).

Two stores, built alike by bulk SQL: one slot of 1,000 doses, all booked (holder0..holder999),
beside 2,000 other slots of other hospitals and days; the first store has nobody waiting, the
second 100,000 people waiting for Pfizer (a tenth of them for another hospital, a tenth from a
later day, so the offer reads past entries that do not suit). Each measured round cancels the
same number of bookings through the service layer (`booking.reservations.cancel`, in one
process, the store opened once), alternating the stores; in the second store every cancellation
books the longest-waiting suitable person in the same transaction.

Run: uv run python benchmarks/bench_waitlist.py [--quick]   (writes the waitlist section of docs/benchmarks.md)
"""

import datetime as dt
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import compile_installed, machine, median, write_section  # noqa: E402

VAXRES = str(Path(sys.executable).with_name("vaxres"))
QUICK = "--quick" in sys.argv
ROUNDS = 3 if QUICK else 7
PER_ROUND = 40  # cancellations per round and store
HOLDERS = 1_000
WAITING = 100_000


def build(path: Path, waiting: int) -> None:
    subprocess.run([VAXRES, "--db", str(path), "db", "upgrade"], check=True, capture_output=True)
    day = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=7)).isoformat()
    now = dt.datetime.now(dt.UTC).isoformat(sep=" ")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    slots = [
        (
            1,
            day,
            "Seoul National University Hospital",
            "Pfizer",
            "seoul national university hospital",
            "pfizer",
            HOLDERS,
            0,
        )
    ]
    for n in range(2, 2_002):
        other_day = (dt.date.fromisoformat(day) + dt.timedelta(days=n % 60)).isoformat()
        slots.append((n, other_day, f"Hospital {n}", "Pfizer", f"hospital {n}", "pfizer", 10, 10))
    conn.executemany(
        "INSERT INTO slot (id, date, hospital, vaccine, hospital_key, vaccine_key, capacity, remaining, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*s, now, now) for s in slots],
    )
    conn.executemany(
        "INSERT INTO reservation (id, slot_id, user_id, dose, status, reserved_at) VALUES (?, 1, ?, 1, 'reserved', ?)",
        [(n + 1, f"holder{n}", now) for n in range(HOLDERS)],
    )
    later = (dt.date.fromisoformat(day) + dt.timedelta(days=30)).isoformat()
    conn.executemany(
        "INSERT INTO waitlist (user_id, dose, vaccine, vaccine_key, hospital, hospital_key, date_from, date_to, joined_at) "
        "VALUES (?, 1, 'Pfizer', 'pfizer', ?, ?, ?, NULL, ?)",
        [
            (
                f"waiter{n}",
                "Busan" if n % 10 == 3 else None,
                "busan" if n % 10 == 3 else None,
                later if n % 10 == 7 else day,
                now,
            )
            for n in range(waiting)
        ],
    )
    conn.execute("COMMIT")
    conn.close()


def cancel_round(store, first: int) -> float:
    from vaxres.booking.reservations import cancel

    started = time.perf_counter()
    for reservation_id in range(first, first + PER_ROUND):
        cancel(store, reservation_id)
    return (time.perf_counter() - started) / PER_ROUND


def main() -> None:
    compile_installed()
    from vaxres.db.opening import open_store

    with tempfile.TemporaryDirectory(prefix="vaxres-bench-waitlist-") as folder:
        plain, waiting = Path(folder) / "plain.db", Path(folder) / "waiting.db"
        build(plain, 0)
        build(waiting, WAITING)
        stores = {"plain": open_store(str(plain)), "waiting": open_store(str(waiting))}
        times: dict[str, list[float]] = {"plain": [], "waiting": []}
        for round_ in range(ROUNDS):
            for name in ("plain", "waiting") if round_ % 2 == 0 else ("waiting", "plain"):
                times[name].append(cancel_round(stores[name], 1 + round_ * PER_ROUND))
        booked = (
            sqlite3.connect(waiting)
            .execute("SELECT COUNT(*) FROM reservation WHERE user_id LIKE 'waiter%' AND status = 'reserved'")
            .fetchone()[0]
        )
        left = sqlite3.connect(waiting).execute("SELECT COUNT(*) FROM waitlist").fetchone()[0]
    plain_ms, waiting_ms = median(times["plain"]) * 1000, median(times["waiting"]) * 1000
    ratio = waiting_ms / plain_ms
    body = f"""## Waitlist (issue 13): a cancellation that books a waiting person among {WAITING:,} entries

Measured {dt.date.today().isoformat()} on {machine()} by `uv run python benchmarks/bench_waitlist.py`.
Two SQLite stores built alike (a slot of {HOLDERS:,} doses, all booked, and 2,000 other slots):
nobody waiting in one, {WAITING:,} people waiting for Pfizer in the other (a tenth for another
hospital, a tenth from a later day). {ROUNDS} rounds of {PER_ROUND} cancellations each through the
service layer, the stores alternating; the figure is the median round's time per cancellation.

| goal | with {WAITING:,} waiting | plain cancellation, same run | verdict |
|---|---|---|---|
| a cancellation that books a waiting person at most 2x a plain one | {waiting_ms:.2f} ms | {plain_ms:.2f} ms | {ratio:.2f}x, {"met" if ratio <= 2 else "**missed**"} |

Every measured cancellation in the second store booked someone: {booked:,} people were booked
from the waitlist and {left:,} still wait. The offer reads the entries of the freed slot's vaccine
through `ix_waitlist_vaccine_key_id`, {50} at a time, in join order.
"""
    print(body)
    write_section("waitlist", body)


if __name__ == "__main__":
    main()
