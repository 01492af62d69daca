"""Booking imports (issue 19), against a naive plain-sqlite3 loop in the same run.

1. `vaxres import reservations` of 200,000 dose-1 rows into 200,000 distinct slots: at most 1.0x
   NAIVE below, a loop that does per row only the unavoidable work in one transaction: find the
   slot by its key, take a dose conditionally, insert the reservation, insert its message.
2. 1,000,000 rows, half of them second doses (bench_import.py's file): under 60 s, peak < 200 MB.

Both sides start from copies of one prepared store (the slots imported once), run as whole
processes, three rounds interleaved; the table shows medians.

Run: uv run --group bench python benchmarks/bench_import_bookings.py [--rows N] [--repeat N] [--skip-million]
"""

import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import compile_installed, machine, write_section  # noqa: E402
from bench_import import generate_bookings, measure  # noqa: E402

VAXRES = str(Path(sys.executable).with_name("vaxres"))
ROWS = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 200_000
REPEAT = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
MILLION = 1_000_000

# The naive loop: per row a keyed SELECT, a conditional UPDATE, the reservation, its person
# registered (issue 20: a booking names a registered person), its message; one transaction,
# vaxres's pragmas. What any import must do at the least, written the obvious way.
NAIVE = r"""
import csv, datetime as dt, json, sqlite3, sys
path, db, cache, checkpoint = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=FULL")
conn.execute("PRAGMA foreign_keys=ON")
conn.execute(f"PRAGMA cache_size=-{cache}")
conn.execute(f"PRAGMA wal_autocheckpoint={checkpoint}")
now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
conn.execute("BEGIN IMMEDIATE")
with open(path, newline="", encoding="utf-8") as f:
    rows = csv.reader(f)
    next(rows)
    for user, date, hospital, vaccine, dose in rows:
        found = conn.execute(
            "SELECT id FROM slot WHERE date = ? AND hospital_key = ? AND vaccine_key = ?",
            (date, hospital.casefold(), vaccine.casefold()),
        ).fetchone()
        if found is None:
            continue
        slot_id = found[0]
        if conn.execute("UPDATE slot SET remaining = remaining - 1, updated_at = ? WHERE id = ? AND remaining > 0",
                        (now, slot_id)).rowcount != 1:
            continue
        reservation = conn.execute(
            "INSERT INTO reservation (slot_id, user_id, dose, status, reserved_at) VALUES (?, ?, ?, 'reserved', ?)",
            (slot_id, user, int(dose), now),
        ).lastrowid
        conn.execute(
            "INSERT INTO person (id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (user, now, now)
        )
        payload = json.dumps({"reservation_id": reservation, "user": user, "dose": int(dose), "slot_id": slot_id,
                              "date": date, "hospital": hospital, "vaccine": vaccine})
        conn.execute(
            "INSERT INTO outbox (event, recipient, payload, correlation_id, created_at, status, attempts) "
            "VALUES ('ReservationConfirmed', ?, ?, ?, ?, 'pending', 0)",
            (user, payload, reservation, now),
        )
conn.execute("COMMIT")
"""


def generate_dose_ones(folder: Path, rows: int) -> tuple[Path, Path]:
    """`rows` slots (one dose each is enough, 2 given) and one dose-1 booking in each."""
    start = dt.date.today() + dt.timedelta(days=3)
    slots, bookings = folder / "slots.csv", folder / "bookings.csv"
    with open(slots, "w") as plan, open(bookings, "w") as wanted:
        plan.write("date,hospital,vaccine,quantity\n")
        wanted.write("user,date,hospital,vaccine,dose\n")
        for n in range(rows):
            day = (start + dt.timedelta(days=n % 300)).isoformat()
            hospital = f"Hospital {n // 300:05d}"
            plan.write(f"{day},{hospital},Janssen,2\n")
            wanted.write(f"person{n:07d},{day},{hospital},Janssen,1\n")
    return slots, bookings


def main() -> None:
    compile_installed()
    from vaxres.imports.staging import IMPORT_CACHE_KIB, IMPORT_CHECKPOINT_PAGES

    runs: dict[str, list[tuple[float, float, int]]] = {"vaxres": [], "naive": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        slots, bookings = generate_dose_ones(folder, ROWS)
        prepared = folder / "prepared.db"
        env = {**os.environ, "VAXRES_DB": str(prepared)}
        subprocess.run([VAXRES, "import", "slots", str(slots)], env=env, check=True, capture_output=True)
        for n in range(REPEAT):
            for side in ("naive", "vaxres") if n % 2 else ("vaxres", "naive"):
                copy = folder / f"{side}{n}.db"
                shutil.copyfile(prepared, copy)
                if side == "vaxres":
                    runs[side].append(measure([VAXRES, "--db", str(copy), "import", "reservations", str(bookings)]))
                else:
                    pragmas = [str(IMPORT_CACHE_KIB), str(IMPORT_CHECKPOINT_PAGES)]
                    runs[side].append(measure([sys.executable, "-c", NAIVE, str(bookings), str(copy), *pragmas]))
                for stale in folder.glob(f"{side}{n}.db*"):
                    stale.unlink()
        million = None
        if "--skip-million" not in sys.argv:
            slots_m, bookings_m = generate_bookings(folder, MILLION)
            env = {**os.environ, "VAXRES_DB": str(folder / "million.db")}
            subprocess.run([VAXRES, "import", "slots", str(slots_m)], env=env, check=True, capture_output=True)
            million = measure([VAXRES, "import", "reservations", str(bookings_m)], env)

    medians = {side: statistics.median(m[0] for m in measured) for side, measured in runs.items()}
    ratio = medians["vaxres"] / medians["naive"]
    spread = {side: ", ".join(f"{m[0]:.2f}" for m in measured) for side, measured in runs.items()}
    peak = max(m[1] for m in runs["vaxres"])
    rows = [
        f"| `vaxres import reservations` of {ROWS:,} dose-1 rows into {ROWS:,} slots at most 1.0x the naive loop | "
        f"{medians['vaxres']:.2f} s ({peak:.0f} MB) | {medians['naive']:.2f} s | {ratio:.2f}x, {'met' if ratio <= 1.0 else '**missed**'} |"
    ]
    if million is not None:
        ok = million[0] < 60 and million[1] < 200
        rows.append(
            f"| `vaxres import reservations` of {MILLION:,} rows, half of them dose 2, under 60 s and 200 MB | "
            f"{million[0]:.1f} s ({million[1]:.0f} MB) | — | {'met' if ok else '**missed**'} |"
        )
    body = (
        f"""## Booking imports (issue 19)

Measured {dt.date.today().isoformat()} on {machine()} by `uv run --group bench python benchmarks/bench_import_bookings.py`.
Whole processes on copies of one prepared store, {REPEAT} rounds interleaved, medians (vaxres:
{spread["vaxres"]} s; naive loop: {spread["naive"]} s).

| goal | vaxres | baseline in the same run | verdict |
|---|---|---|---|
"""
        + "\n".join(rows)
        + """

The naive loop (in the script) reads the CSV with `csv.reader` and, per row in one transaction
with vaxres's pragmas (WAL, synchronous=FULL, the import's page cache and checkpoint interval), finds the slot by its key, takes a dose with a conditional UPDATE,
inserts the reservation, registers its person (`INSERT ... ON CONFLICT DO NOTHING`, since issue 20)
and inserts its message (payload by `json.dumps`). vaxres does more: it checks
every row first (staging), applies the series rules and the past-day rule, and reports line by
line. The 1,000,000-row file is bench_import.py's (blocks of people, dose 1 then dose 2).
"""
    )
    print(body)
    write_section("import-bookings", body)


if __name__ == "__main__":
    main()
