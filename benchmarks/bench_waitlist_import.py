"""Waitlist speed goal (issue 13): `vaxres import slots` of 1,000,000 rows with 100,000 people
waiting costs at most 1.5x the same import with nobody waiting, measured in the same run.

Two stores made by `vaxres db upgrade`; into the second, 100,000 waitlist entries are written by
bulk SQL before each import: most wait for a first Pfizer dose anywhere, a tenth at one hospital,
a tenth only from 200 days on, and a twentieth each for Moderna and for a hospital the plan does
not have (those keep waiting, so every chunk of the import reads them again). The same plan
(benchmarks/bench_import.py's generator) goes into each store, the stores alternating, R rounds;
the medians of whole-process wall times are compared, with CPU time (user + system) beside them,
steadier on a shared machine.

Run: uv run python benchmarks/bench_waitlist_import.py [--rows N] [--waiting W] [--repeat R]
(writes the waitlist-import section of docs/benchmarks.md)
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
from _report import compile_installed, machine, median, write_section  # noqa: E402
from bench_import import generate_slots  # noqa: E402

VAXRES = str(Path(sys.executable).with_name("vaxres"))


def option(name: str, default: int) -> int:
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


ROWS = option("--rows", 1_000_000)
WAITING = option("--waiting", 100_000)
REPEAT = option("--repeat", 3)


def entry(n: int, today: dt.date, now: str) -> tuple:
    """(user, vaccine, key, hospital, hospital key, from) of the n-th person waiting."""
    kind = n % 20
    vaccine = ("Moderna", "moderna") if kind == 5 else ("Pfizer", "pfizer")
    hospital = {
        1: ("Hospital 0100", "hospital 0100"),
        2: ("Hospital 0200", "hospital 0200"),
        9: ("Nowhere", "nowhere"),
    }.get(kind, (None, None))
    start = today + dt.timedelta(days=200) if kind in (3, 4) else today
    return (f"person{n:07d}", *vaccine, *hospital, start.isoformat(), now)


def fresh_store(path: Path, waiting: int) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    subprocess.run([VAXRES, "--db", str(path), "db", "upgrade"], check=True, capture_output=True)
    if not waiting:
        return
    today, now = dt.date.today(), dt.datetime.now(dt.UTC).isoformat(sep=" ")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO waitlist (user_id, dose, vaccine, vaccine_key, hospital, hospital_key, date_from, date_to, "
        "joined_at) VALUES (?, 1, ?, ?, ?, ?, ?, NULL, ?)",
        (entry(n, today, now) for n in range(waiting)),
    )
    conn.execute("COMMIT")
    conn.close()


def measure(db: Path, plan: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS in MB of one import."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [VAXRES, "--db", str(db), "import", "slots", str(plan)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    compile_installed()
    runs: dict[str, list[tuple[float, float, float]]] = {"empty": [], "waiting": []}
    with tempfile.TemporaryDirectory(prefix="vaxres-bench-wl-import-") as folder:
        plan = Path(folder) / "plan.csv"
        generate_slots(plan, ROWS)
        for round_ in range(REPEAT):
            for name in ("empty", "waiting") if round_ % 2 == 0 else ("waiting", "empty"):
                db = Path(folder) / f"{name}.db"
                fresh_store(db, WAITING if name == "waiting" else 0)
                runs[name].append(measure(db, plan))
        conn = sqlite3.connect(Path(folder) / "waiting.db")
        booked = conn.execute("SELECT COUNT(*) FROM reservation").fetchone()[0]
        left = conn.execute("SELECT COUNT(*) FROM waitlist").fetchone()[0]
        conn.close()
    wall = {name: median([m[0] for m in measured]) for name, measured in runs.items()}
    cpu = {name: median([m[1] for m in measured]) for name, measured in runs.items()}
    peak = max(m[2] for m in runs["waiting"])
    ratio, cpu_ratio = wall["waiting"] / wall["empty"], cpu["waiting"] / cpu["empty"]
    spread = {name: ", ".join(f"{m[0]:.1f}" for m in measured) for name, measured in runs.items()}
    body = f"""## Waitlist (issue 13): an import of {ROWS:,} slots with {WAITING:,} people waiting

Measured {dt.date.today().isoformat()} on {machine()} by `uv run python benchmarks/bench_waitlist_import.py`.
The same {ROWS:,}-row plan imported into a store where nobody waits and into one where {WAITING:,}
people wait (most for a first Pfizer dose anywhere; a tenth at one hospital; a tenth only from
200 days on; a twentieth for Moderna; a twentieth for a hospital the plan lacks), {REPEAT} rounds,
the stores alternating; medians of whole processes (wall: empty {spread["empty"]} s, waiting
{spread["waiting"]} s).

| goal | with {WAITING:,} waiting | nobody waiting, same run | verdict |
|---|---|---|---|
| `import slots` at most 1.5x the same import with an empty waitlist | {wall["waiting"]:.1f} s (CPU {cpu["waiting"]:.1f} s, peak {peak:.0f} MB) | {wall["empty"]:.1f} s (CPU {cpu["empty"]:.1f} s) | {ratio:.2f}x (CPU {cpu_ratio:.2f}x), {"met" if ratio <= 1.5 else "**missed**"} |

The import booked {booked:,} people in the transactions of the chunks that added their doses;
{left:,} still wait (the hospital the plan lacks). Each chunk reads the entries of its vaccines
once, with the waiting people's held doses, and decides in join order in Python (`booking/offering.py`);
one UPDATE of the slots, one INSERT of the reservations and of their messages follow.
"""
    print(body)
    write_section("waitlist-import", body)


if __name__ == "__main__":
    main()
