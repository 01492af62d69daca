"""What the person registry costs a booking (issue 20), against the code before it, in the same run.

1. `reserve` + `cancel` pairs/s through the service layer, every person registered (name, birth
   date, phone, e-mail, language; half of them minors with a guardian, whose messages are copied
   to the guardian): at least 0.9x the same loop on the code before the registry.
2. `vaxres import reservations` of 200,000 dose-1 rows, every person registered (a tenth of them
   minors with a guardian): rows/s at least 0.9x the code before the registry.

"Before" is commit BEFORE (the last one without the registry), taken with `git archive` into a
temporary folder and run by this environment's Python with PYTHONPATH pointing at it. Both sides
run as child processes of this script on copies of stores each side prepared with its own code,
rounds interleaved; the table shows medians.

Run: uv run --group bench python benchmarks/bench_people.py [--pairs N] [--rows N] [--repeat N]
"""

import datetime as dt
import io
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import compile_installed, machine, write_section  # noqa: E402
from bench_import import measure  # noqa: E402
from bench_import_bookings import generate_dose_ones  # noqa: E402

BEFORE = "c2c3691"  # Merge branch 'house4': the last commit before the person registry
ROOT = Path(__file__).resolve().parent.parent
PAIRS = int(sys.argv[sys.argv.index("--pairs") + 1]) if "--pairs" in sys.argv else 400
ROWS = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 200_000
REPEAT = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
PAIRS_GUARDED_EVERY = int(os.environ.get("BENCH_GUARDED_EVERY", "2"))  # half the pairs' people are minors
IMPORT_GUARDED_EVERY = int(os.environ.get("BENCH_IMPORT_GUARDED_EVERY", "10"))  # a tenth are minors
DAY = (dt.date.today() + dt.timedelta(days=30)).isoformat()

PAIRS_LOOP = r"""
import sys, time
import vaxres
from vaxres.booking import reservations as booking
from vaxres.db.opening import open_store
store = open_store(sys.argv[1])
pairs = int(sys.argv[2])
booking.cancel(store, booking.reserve(store, user="warmup", slot_id=1).id)
start = time.perf_counter()
for n in range(pairs):
    booking.cancel(store, booking.reserve(store, user=f"person{n:07d}", slot_id=1).id)
print(pairs / (time.perf_counter() - start), vaxres.__file__)
"""


def sources(folder: Path) -> dict[str, Path]:
    """The code of each side: `before` from git, `now` this checkout."""
    before = folder / "before"
    before.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BEFORE, "vaxres", "migrations"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(before, filter="data")
    return {"before": before, "now": ROOT}


def run(side: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(side)}
    env.pop("VAXRES_DB", None)
    done = subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True, text=True)
    return done.stdout


def query(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchone()[0]


def register_everyone(db: Path, people: int, guarded_every: int) -> None:
    """Every person booked, registered with their contacts; every `guarded_every`-th a minor with
    a guardian (guardians registered too)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    conn = sqlite3.connect(db)
    columns = "id, name, birth_date, phone, email, lang, guardian_id, created_at, updated_at"
    insert = f"INSERT INTO person ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    guardians = [
        (f"guardian{n:07d}", f"보호자{n}", "1980-01-01", f"+8210{n:08d}", f"g{n}@example.org", "ko", None, now, now)
        for n in range(0, people, guarded_every)
    ]
    conn.executemany(insert, guardians)
    conn.executemany(
        insert,
        (
            (
                f"person{n:07d}",
                f"김민수{n}",
                "2015-03-03" if n % guarded_every == 0 else "1990-05-12",
                f"+8211{n:08d}",
                f"p{n}@example.org",
                "ko" if n % 2 else "en",
                f"guardian{n:07d}" if n % guarded_every == 0 else None,
                now,
                now,
            )
            for n in range(people)
        ),
    )
    conn.commit()
    conn.close()


def prepare(code: dict[str, Path], folder: Path, slots: Path) -> dict[str, dict[str, Path]]:
    """Per side, a store with one big slot (pairs) and one with the import's slots (import)."""
    stores: dict[str, dict[str, Path]] = {}
    for side, source in code.items():
        pairs, imports = folder / f"{side}-pairs.db", folder / f"{side}-import.db"
        run(
            source,
            "-m",
            "vaxres",
            "--db",
            str(pairs),
            "slot",
            "add",
            "--date",
            DAY,
            "--hospital",
            "H",
            "--vaccine",
            "Janssen",
            "--quantity",
            "100000",
        )
        run(source, "-m", "vaxres", "--db", str(imports), "import", "slots", str(slots))
        if side == "now":
            register_everyone(pairs, PAIRS, guarded_every=PAIRS_GUARDED_EVERY)
            register_everyone(imports, ROWS, guarded_every=IMPORT_GUARDED_EVERY)
        stores[side] = {"pairs": pairs, "import": imports}
    return stores


def main() -> None:
    compile_installed()
    pairs: dict[str, list[float]] = {"before": [], "now": []}
    imports: dict[str, list[tuple[float, float, int]]] = {"before": [], "now": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.chdir(folder)  # `python -c` and `-m` put the working folder first on sys.path
        code = sources(folder)
        slots, bookings = generate_dose_ones(folder, ROWS)
        stores = prepare(code, folder, slots)
        for n in range(REPEAT):
            for side in ("before", "now") if n % 2 else ("now", "before"):
                copy = folder / f"round-{side}.db"
                shutil.copyfile(stores[side]["pairs"], copy)
                rate, ran = run(code[side], "-c", PAIRS_LOOP, str(copy), str(PAIRS)).split()
                assert Path(ran).is_relative_to(code[side]), f"{side} ran {ran}"
                pairs[side].append(float(rate))
                if side == "now":
                    copies = query(copy, "SELECT count(*) FROM outbox WHERE recipient LIKE 'guardian%'")
                    guarded = len(range(0, PAIRS, PAIRS_GUARDED_EVERY))
                    assert copies == 2 * guarded, f"{copies} guardian copies for {guarded} minors"
                shutil.copyfile(stores[side]["import"], copy)
                env = {**os.environ, "PYTHONPATH": str(code[side])}
                cmd = [sys.executable, "-m", "vaxres", "--db", str(copy), "import", "reservations", str(bookings)]
                imports[side].append(measure(cmd, env))
                assert query(copy, "SELECT count(*) FROM reservation") == ROWS
                for stale in folder.glob("round-*"):
                    stale.unlink()

    rate = {side: statistics.median(values) for side, values in pairs.items()}
    took = {side: statistics.median(m[0] for m in measured) for side, measured in imports.items()}
    pair_ratio = rate["now"] / rate["before"]
    import_ratio = took["before"] / took["now"]  # rows/s now over rows/s before
    spread = (
        ", ".join(f"{value:.0f}" for value in pairs["now"]) + " vs " + ", ".join(f"{v:.0f}" for v in pairs["before"])
    )
    verdict = lambda ok: "met" if ok else "**missed**"
    body = f"""## The person registry's cost to booking (issue 20)

Measured {dt.date.today().isoformat()} on {machine()} by `uv run --group bench python benchmarks/bench_people.py`.
"Before" is commit `{BEFORE}`, the last without the registry, run from `git archive` by the same
Python; both sides as child processes on copies of stores each prepared with its own code,
{REPEAT} rounds interleaved, medians. "Now" has every person registered with name, birth date,
phone, e-mail and language; minors with a guardian get a copy of each message (half the people of
the pairs, a tenth of the import's).

| goal | now | before | result |
|---|---|---|---|
| `reserve` + `cancel` pairs/s ({PAIRS} pairs, service layer) at least 0.9x | {rate["now"]:.0f}/s | {rate["before"]:.0f}/s | {pair_ratio:.2f}x, {verdict(pair_ratio >= 0.9)} |
| `import reservations` of {ROWS:,} dose-1 rows: rows/s at least 0.9x | {took["now"]:.2f} s ({ROWS / took["now"]:,.0f}/s) | {took["before"]:.2f} s ({ROWS / took["before"]:,.0f}/s) | {import_ratio:.2f}x, {verdict(import_ratio >= 0.9)} |

Pairs/s per round, now vs before: {spread}.
"""
    print(body)
    write_section("people", body)


if __name__ == "__main__":
    main()
