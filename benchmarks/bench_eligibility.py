"""What eligibility windows (issue 21) cost a booking, against the same code without windows, in the same run.

1. `reserve` + `cancel` pairs/s through the service layer with three windows active for the
   booked vaccine (one of them a rotation): at least 0.9x the same loop on a store without windows.
2. `vaxres import reservations` of 200,000 dose-1 rows, every person registered, the same three
   windows: rows/s at least 0.8x the same import without windows.

One store is prepared per benchmark (slots, every person registered with a birth date by sqlite3);
the measured side is a copy of it plus three windows (`vaxres window add`), the baseline a copy
without. The windows are placed relative to now so that every booking of the run is admitted:

- `18-49`: born 1972-01-01 to 2003-12-31, the birth-digit rotation, opened two days ago, whose
  daily sub-window runs from two hours ago to two hours ago minus a minute the next day; today's
  digit is the digit of the day that sub-window started on.
- `catch-up`: born 1972-01-01 to 1985-12-31, opened yesterday, never closes.
- `everyone`: no condition, opens tomorrow (not open yet: it matches everyone and is looked at).

Even-numbered people are born in 1990 on a day with today's digit: the rotation admits them.
Odd-numbered people are born in 1980 on a day with another digit: the rotation matches them but
is not open to them (its next sub-window for them is searched), and the catch-up window admits
them. Both sides run as child processes of this script on copies of the prepared stores, rounds
interleaved; the table shows medians. After each run the reservations are counted, so a refusal
cannot pass for speed.

Run: uv run --group bench python benchmarks/bench_eligibility.py [--pairs N] [--rows N] [--repeat N]
"""

import datetime as dt
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import compile_installed, machine, write_section  # noqa: E402
from bench_import import measure  # noqa: E402
from bench_import_bookings import generate_dose_ones  # noqa: E402

VAXRES = str(Path(sys.executable).with_name("vaxres"))
PAIRS = int(sys.argv[sys.argv.index("--pairs") + 1]) if "--pairs" in sys.argv else 400
ROWS = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 200_000
REPEAT = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
DAY = (dt.date.today() + dt.timedelta(days=30)).isoformat()
VACCINE = "Janssen"
SIDES = ("without", "with")

# person{PAIRS} books and cancels once before the clock starts (imports, connections warmed).
PAIRS_LOOP = r"""
import sys, time
from vaxres.booking import reservations as booking
from vaxres.db.opening import open_store
store = open_store(sys.argv[1])
pairs = int(sys.argv[2])
booking.cancel(store, booking.reserve(store, user=f"person{pairs:07d}", slot_id=1).id)
start = time.perf_counter()
for n in range(pairs):
    booking.cancel(store, booking.reserve(store, user=f"person{n:07d}", slot_id=1).id)
print(pairs / (time.perf_counter() - start))
"""


def vaxres(db: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "VAXRES_DB"}
    return subprocess.run([VAXRES, "--db", str(db), *args], env=env, check=True, capture_output=True, text=True).stdout


def query(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchone()[0]


def rotation_day(db: Path) -> tuple[dt.date, dt.datetime]:
    """The day whose sub-window is open for the whole run, and when that sub-window started (the
    store's zone): two hours ago, to the minute."""
    from zoneinfo import ZoneInfo

    read = "import sys; from vaxres.db.opening import open_store; print(open_store(sys.argv[1]).zone.key)"
    env = {k: v for k, v in os.environ.items() if k != "VAXRES_DB"}
    done = subprocess.run([sys.executable, "-c", read, str(db)], env=env, check=True, capture_output=True, text=True)
    zone = ZoneInfo(done.stdout.strip())  # read by a child: no connection of ours keeps the WAL from the copies
    start = (dt.datetime.now(zone) - dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    return start.date(), start


def birth_dates(digit: int) -> tuple[str, str]:
    """A 1990 birth date whose day ends in `digit` (rotation-admitted), a 1980 one whose does not."""
    admitted = dt.date(1990, 5, digit if digit else 10)
    other = (digit + 5) % 10
    return admitted.isoformat(), dt.date(1980, 5, other if other else 10).isoformat()


def register_everyone(db: Path, people: int, digit: int) -> None:
    """person0000000.. registered with a birth date: even ones by the rotation, odd ones by catch-up."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    even, odd = birth_dates(digit)
    conn = sqlite3.connect(db)
    conn.executemany(
        "INSERT INTO person (id, name, birth_date, lang, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        ((f"person{n:07d}", f"김민수{n}", odd if n % 2 else even, "ko", now, now) for n in range(people)),
    )
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all in the main file: the store is copied as a file
    conn.close()


def add_windows(db: Path, day: dt.date, start: dt.datetime) -> None:
    """The three windows of the measured side (the module docstring says which admits whom)."""
    each = f"{start:%H:%M}-{start - dt.timedelta(minutes=1):%H:%M}"
    born = ["--born-from", "1972-01-01"]
    opens = lambda moment: ["--opens", f"{moment:%Y-%m-%d %H:%M}"]  # noqa: E731
    rotation = ["--born-to", "2003-12-31", "--rotation", "birth-digit", "--each", each]
    vaxres(db, "window", "add", "18-49", "--vaccine", VACCINE, *born, *rotation, *opens(day - dt.timedelta(days=2)))
    catch_up = [*born, "--born-to", "1985-12-31", *opens(day - dt.timedelta(days=1))]
    vaxres(db, "window", "add", "catch-up", "--vaccine", VACCINE, *catch_up)
    vaxres(db, "window", "add", "everyone", "--vaccine", VACCINE, *opens(start + dt.timedelta(days=1, hours=2)))


def prepare(folder: Path, slots: Path) -> dict[str, dict[str, Path]]:
    """Both stores once (one big slot for the pairs, the import's slots), then a copy of each with windows."""
    pairs, imports = folder / "pairs.db", folder / "import.db"
    vaxres(pairs, "slot", "add", "--date", DAY, "--hospital", "H", "--vaccine", VACCINE, "--quantity", "100000")
    vaxres(imports, "import", "slots", str(slots))
    day, start = rotation_day(pairs)
    register_everyone(pairs, PAIRS + 1, day.day % 10)
    register_everyone(imports, ROWS, day.day % 10)
    stores: dict[str, dict[str, Path]] = {"without": {"pairs": pairs, "import": imports}, "with": {}}
    for name, prepared in (("pairs", pairs), ("import", imports)):
        windowed = folder / f"windows-{name}.db"
        shutil.copyfile(prepared, windowed)
        add_windows(windowed, day, start)
        stores["with"][name] = windowed
    return stores


def pair_round(folder: Path, prepared: Path, side: str, env: dict[str, str]) -> float:
    """Pairs/s of one child process on a copy of `prepared`, every pair counted afterwards."""
    copy = folder / f"round-{side}.db"
    shutil.copyfile(prepared, copy)
    os.sync()  # the copy on disk before the clock starts: each side's fsyncs wait on its own writes only
    done = subprocess.run(
        [sys.executable, "-c", PAIRS_LOOP, str(copy), str(PAIRS)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{side}: {done.stderr[-2000:]}"
    cancelled = query(copy, "SELECT count(*) FROM reservation WHERE status = 'cancelled'")
    assert cancelled == PAIRS + 1, f"{side}: {cancelled} pairs made of {PAIRS + 1}"
    for stale in folder.glob("round-*"):
        stale.unlink()
    return float(done.stdout)


def main() -> None:
    compile_installed()
    pairs: dict[str, list[float]] = {side: [] for side in SIDES}
    imports: dict[str, list[float]] = {side: [] for side in SIDES}
    env = {k: v for k, v in os.environ.items() if k != "VAXRES_DB"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        slots, bookings = generate_dose_ones(folder, ROWS)
        stores = prepare(folder, slots)
        assert query(stores["with"]["pairs"], "SELECT count(*) FROM eligibility_window") == 3
        for n in range(REPEAT):  # the pairs first, then the imports: no import's writes left to flush
            for side in SIDES if n % 2 else SIDES[::-1]:
                pairs[side].append(pair_round(folder, stores[side]["pairs"], side, env))
        for n in range(REPEAT):
            for side in SIDES if n % 2 else SIDES[::-1]:
                copy = folder / f"round-{side}.db"
                shutil.copyfile(stores[side]["import"], copy)
                os.sync()
                imports[side].append(
                    measure([VAXRES, "--db", str(copy), "import", "reservations", str(bookings)], env)[0]
                )
                booked = query(copy, "SELECT count(*) FROM reservation")
                assert booked == ROWS, f"{side}: {booked} rows booked of {ROWS}"
                for stale in folder.glob("round-*"):
                    stale.unlink()
    report(pairs, imports)


def report(pairs: dict[str, list[float]], imports: dict[str, list[float]]) -> None:
    rate = {side: statistics.median(values) for side, values in pairs.items()}
    took = {side: statistics.median(values) for side, values in imports.items()}
    pair_ratio = rate["with"] / rate["without"]
    import_ratio = took["without"] / took["with"]  # rows/s with windows over rows/s without

    def spread(values: dict[str, list[float]], fmt: str) -> str:
        return " vs ".join(", ".join(format(v, fmt) for v in values[side]) for side in ("with", "without"))

    verdict = lambda ok: "met" if ok else "**missed**"  # noqa: E731
    body = f"""## Eligibility windows' cost to booking (issue 21)

Measured {dt.date.today().isoformat()} on {machine()} by `uv run --group bench python benchmarks/bench_eligibility.py`.
The same code on copies of one prepared store per benchmark, every person registered with a birth
date; "with" is that store plus three windows for the booked vaccine, "without" the store as it is.
Both sides as child processes, {REPEAT} rounds interleaved, medians; after each run the
reservations are counted (every booking made, none refused).

| goal | with windows | without | result |
|---|---|---|---|
| `reserve` + `cancel` pairs/s ({PAIRS} pairs, service layer) at least 0.9x | {rate["with"]:.0f}/s | {rate["without"]:.0f}/s | {pair_ratio:.2f}x, {verdict(pair_ratio >= 0.9)} |
| `import reservations` of {ROWS:,} dose-1 rows: rows/s at least 0.8x | {took["with"]:.2f} s ({ROWS / took["with"]:,.0f}/s) | {took["without"]:.2f} s ({ROWS / took["without"]:,.0f}/s) | {import_ratio:.2f}x, {verdict(import_ratio >= 0.8)} |

Per round, with vs without: pairs/s {spread(pairs, ".0f")}; import seconds {spread(imports, ".2f")}.

The windows, placed relative to the moment of the run so that every booking is admitted:
`18-49` (born 1972–2003, the birth-digit rotation, opened two days before, its daily sub-window
from two hours before the run to a minute short of a day later), `catch-up` (born 1972–1985,
opened the day before) and `everyone` (no condition, opening the next day, so it matches everyone
and is looked at but admits no one yet). Half the people are born in 1990 on a day with the
rotation day's digit: the rotation admits them. The other half are born in 1980 on a day with
another digit: the rotation matches them but is not open to them (its next sub-window for them is
worked out), and the catch-up window admits them.

A booking with windows pays one more query (the windows of the booked vaccine; an import, one per
chunk of rows) and the check: the governing windows looked up once per vaccine and dose, a
window's birth range and group keys worked out when it is read, the first window open to the
person ending the check, and a rotation's opening worked out once per digit of the day of birth
(only a refusal goes the long way, through `decide()`, for its reason). Before that fast path
(issue 21 as merged), the first run of this script measured the import at 0.74x (missed; 11.05 s
vs 8.17 s on a loaded machine), the pairs at 1.00x.
"""
    print(body)
    write_section("eligibility", body)


if __name__ == "__main__":
    main()
