"""Core speed goals (issue 2), each measured against a baseline in the same run.

1. `vaxres --help`: at most 0.15 s wall, and no SQLAlchemy imported.
2. `vaxres reserve` as a whole process: at most 1.3x `python -c "import sqlmodel, typer"`.
3. reserve + cancel through the service layer: at least 1/4 of the throughput of plain sqlite3
   running the same statements with the same pragmas.

Run: uv run --group bench python benchmarks/bench_core.py [--quick]   (writes the core section of docs/benchmarks.md)
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
PROCESS_RUNS = 5 if QUICK else 15
PAIRS = 100 if QUICK else 400
DAY = (dt.date.today() + dt.timedelta(days=30)).isoformat()


def bench_help() -> dict:
    times = wall_times([VAXRES, "--help"], 3 * PROCESS_RUNS)
    probe = (
        "import sys; sys.argv=['vaxres','--help']\n"
        "from vaxres.cli import main\n"
        "try: main()\nexcept SystemExit: pass\n"
        "print('sqlalchemy' in sys.modules, file=sys.stderr)"
    )
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stderr.strip()
    return {"median": median(times), "min": min(times), "sqlalchemy": imported.endswith("True")}


def bench_reserve_process(folder: Path) -> dict:
    env = {**os.environ, "VAXRES_DB": str(folder / "process.db")}
    subprocess.run(
        [VAXRES, "slot", "add", "--date", DAY, "--hospital", "H", "--vaccine", "Janssen", "--quantity", "100000"],
        check=True,
        env=env,
        capture_output=True,
    )
    baseline, reserve = [], []
    for n in range(PROCESS_RUNS):  # interleaved, so noise hits both alike
        baseline += wall_times([sys.executable, "-c", "import sqlmodel, typer"], 1)
        reserve += wall_times([VAXRES, "reserve", "--user", f"p{n}", "--slot", "1"], 1, env=env)
    return {"baseline": median(baseline), "reserve": median(reserve), "ratio": median(reserve) / median(baseline)}


def plain_sqlite_pairs(path: Path, pairs: int) -> float:
    """The statements vaxres runs for a reserve and a cancel, by hand on sqlite3."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    now = dt.datetime.now(dt.UTC).isoformat()
    start = time.perf_counter()
    for n in range(pairs):
        user = f"u{n}"
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("SELECT id, date, hospital, vaccine, capacity, remaining FROM slot WHERE id = ?", (1,)).fetchone()
        conn.execute(
            "SELECT id FROM reservation WHERE user_id = ? AND dose = ? AND status = 'reserved'", (user, 1)
        ).fetchone()
        conn.execute(
            "UPDATE slot SET remaining = remaining - 1, updated_at = ? WHERE id = ? AND remaining > 0 RETURNING remaining",
            (now, 1),
        ).fetchone()
        rid = conn.execute(
            "INSERT INTO reservation (slot_id, user_id, dose, status, reserved_at) VALUES (?, ?, ?, 'reserved', ?) RETURNING id",
            (1, user, 1, now),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO outbox (event, recipient, payload, correlation_id, created_at, status, attempts, next_attempt_at)"
            " VALUES ('ReservationConfirmed', ?, ?, ?, ?, 'pending', 0, ?)",
            (user, '{"message": "confirmed"}', rid, now, now),
        )
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("SELECT * FROM reservation_view WHERE id = ?", (rid,)).fetchone()
        conn.execute(
            "UPDATE reservation SET status = 'cancelled', cancelled_at = ? WHERE id = ? AND status = 'reserved' RETURNING id",
            (now, rid),
        ).fetchone()
        conn.execute(
            "UPDATE slot SET remaining = remaining + 1, updated_at = ? WHERE id = ? RETURNING remaining", (now, 1)
        ).fetchone()
        conn.execute(
            "INSERT INTO outbox (event, recipient, payload, correlation_id, created_at, status, attempts, next_attempt_at)"
            " VALUES ('ReservationCancelled', ?, ?, ?, ?, 'pending', 0, ?)",
            (user, '{"message": "cancelled"}', rid, now, now),
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return pairs / elapsed


def service_pairs(path: Path, pairs: int) -> float:
    from vaxres.booking import reservations as booking
    from vaxres.db.opening import open_store

    store = open_store(str(path))
    booking.cancel(store, booking.reserve(store, user="warmup", slot_id=1).id)
    start = time.perf_counter()
    for n in range(pairs):
        booking.cancel(store, booking.reserve(store, user=f"u{n}", slot_id=1).id)
    elapsed = time.perf_counter() - start
    store.dispose()
    return pairs / elapsed


def bench_throughput(folder: Path) -> dict:
    from vaxres.booking.slots import add_slot
    from vaxres.db.opening import open_store

    paths = {}
    for name in ("plain", "service"):
        paths[name] = folder / f"{name}.db"
        store = open_store(str(paths[name]))
        add_slot(store, date=DAY, hospital="H", vaccine="Janssen", quantity=1000)
        store.dispose()
    plain, service = [], []
    for _ in range(3):  # alternate rounds so both see the same disk and CPU weather
        plain.append(plain_sqlite_pairs(paths["plain"], PAIRS))
        service.append(service_pairs(paths["service"], PAIRS))
    return {"plain": median(plain), "service": median(service), "ratio": median(service) / median(plain)}


def main() -> None:
    compile_installed()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        help_ = bench_help()
        process = bench_reserve_process(folder)
        throughput = bench_throughput(folder)

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    body = f"""
## Core (issue 2): start-up and booking throughput

Measured {dt.date.today().isoformat()} on {machine()} by `uv run python benchmarks/bench_core.py`{" --quick" if QUICK else ""}.
Process times are medians of {PROCESS_RUNS}+ runs, baseline and subject interleaved.

| goal | measured | baseline in the same run | verdict |
|---|---|---|---|
| `vaxres --help` at most 0.15 s, no SQLAlchemy | {help_["median"]:.3f} s median ({help_["min"]:.3f} s min); SQLAlchemy imported: {help_["sqlalchemy"]} | — | {verdict(help_["median"] <= 0.15 and not help_["sqlalchemy"])} |
| `vaxres reserve` process at most 1.3x `python -c "import sqlmodel, typer"` | {process["reserve"]:.3f} s | {process["baseline"]:.3f} s | {process["ratio"]:.2f}x, {verdict(process["ratio"] <= 1.3)} |
| reserve + cancel via the service layer at least 1/4 of plain sqlite3 | {throughput["service"]:.0f} pairs/s | {throughput["plain"]:.0f} pairs/s | {throughput["ratio"]:.2f}, {verdict(throughput["ratio"] >= 0.25)} |

Both throughput sides run WAL with synchronous=FULL (an fsync per commit), two transactions per
pair, the same statements; the service side adds SQLAlchemy, validation and record building.
"""
    print(body)
    write_section("core", body)


if __name__ == "__main__":
    main()
