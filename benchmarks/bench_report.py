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

Run: uv run python benchmarks/bench_report.py [--slots N] [--reservations M] [--repeat R (default 5)]
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
REPEAT = option("--repeat", 5)
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
        SELECT k + 1, printf('waiting%06d', k), 1, {vaccine.replace("i % 5", "k % 5")}, lower({vaccine.replace("i % 5", "k % 5")}),
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


def report_sql(db: Path, by: str) -> str:
    """The statement `vaxres report --by BY` runs on this store, with its values written in."""
    from vaxres.db.opening import open_store
    from vaxres.reports.figures import Scope, report_statement

    store = open_store(str(db))
    try:
        with store.read() as conn:
            statement = report_statement(conn, Scope.parse(by=by))
            return str(statement.compile(conn, compile_kwargs={"literal_binds": True})) + ";\n"
    finally:
        store.dispose()


def run(cmd: list[str], stdin: str | None = None) -> tuple[float, float, bytes]:
    """Wall seconds, peak RSS in MB and stdout of one process, its rusage from os.wait4."""
    import threading

    begun = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda name=name, f=f: chunks.__setitem__(name, f.read()))
        for name, f in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for reader in readers:
        reader.start()
    if stdin:
        proc.stdin.write(stdin.encode())
    proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - begun
    for reader in readers:
        reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {chunks['err'].decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, chunks["out"]


def disk(folder: Path) -> str:
    free = shutil.disk_usage(folder).free / 1e9
    return f"{free:.1f} GB free"


def main() -> None:
    compile_installed()
    sqlite3_shell = shutil.which("sqlite3")
    if sqlite3_shell is None:
        raise SystemExit("the sqlite3 command-line shell is needed for the baseline (apt-get install sqlite3)")
    version = subprocess.run([sqlite3_shell, "--version"], capture_output=True, text=True).stdout.split()[0]
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    start_load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="vaxres-bench-report-", dir=tempfile.gettempdir()) as tmp:
        db = Path(tmp) / "report.db"
        print(f"building {db} ({disk(Path(tmp))})", file=sys.stderr)
        begun = time.perf_counter()
        # In a process of its own, as is the SQL below: a child's peak RSS (os.wait4) counts the
        # parent's pages it was forked with, and building takes a 400 MB page cache.
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--build-only", str(db)], check=True)
        built, size = time.perf_counter() - begun, db.stat().st_size / 1e9
        print(f"built in {built:.0f} s, {size:.2f} GB ({disk(Path(tmp))})", file=sys.stderr)
        for by in ("hospital", "day"):
            sql = subprocess.run(
                [sys.executable, __file__, "--sql-only", by, str(db)], check=True, capture_output=True, text=True
            ).stdout
            runs = results[by] = {"vaxres": [], "sqlite3": []}
            for n in range(REPEAT):  # interleaved, each first in turn: the machine is shared and noisy
                for name in ("vaxres", "sqlite3") if n % 2 == 0 else ("sqlite3", "vaxres"):
                    if name == "vaxres":
                        wall, rss, out = run([VAXRES, "--db", str(db), "report", "--by", by, "--json"])
                        report = json.loads(out)
                        assert report["total"]["booked"] + report["total"]["cancelled"] == RESERVATIONS, report["total"]
                        groups = len(report["groups"])
                    else:
                        wall, rss, out = run([sqlite3_shell, "-bail", str(db)], sql)
                        rows = len(out.splitlines())
                    runs[name].append((wall, rss))
                assert rows == groups + 1
            print(by, {k: [f"{w:.2f}" for w, _ in v] for k, v in runs.items()}, file=sys.stderr)
    write(results, version, built, size, (start_load, os.getloadavg()[0]))


def write(results, version: str, built: float, size: float, load: tuple[float, float]) -> None:
    options = (
        "" if (SLOTS, RESERVATIONS) == (1_000_000, 5_000_000) else f" --slots {SLOTS} --reservations {RESERVATIONS}"
    )

    def median(runs) -> float:
        return statistics.median(w for w, _ in runs)

    def peak(runs) -> float:
        return max(r for _, r in runs)

    hospital, by_day = results["hospital"], results["day"]
    ratio = median(hospital["vaxres"]) / median(hospital["sqlite3"])
    memory = peak(hospital["vaxres"])
    spread = {
        by: {name: ", ".join(f"{w:.2f}" for w, _ in runs) for name, runs in results[by].items()} for by in results
    }
    body = f"""
## Reports (issue 14)

Measured {dt.date.today().isoformat()} on {machine()} by `uv run python benchmarks/bench_report.py{options}`
(load average {load[0]:.1f} at the start, {load[1]:.1f} at the end: the machine is shared), on a SQLite
store of {SLOTS:,} slots (1,000 hospitals x 5 vaccines x {-(-SLOTS // 5000)} days), {RESERVATIONS:,} reservations
(60% reserved, 20% administered, 5% no-show, 15% cancelled) and {WAITING:,} people waiting, built by
bulk SQL in {built:.0f} s ({size:.2f} GB) and deleted afterwards. Whole processes, medians of {REPEAT} runs,
interleaved; the baseline is the `sqlite3` shell ({version}) running the very statement vaxres runs,
on the same file in the same run. Peak memory is the process's maximum resident set (`os.wait4`),
which counts the pages of the benchmark it was started from: the shell's own is a few MB.

| command | vaxres | `sqlite3` shell, same statement | ratio | peak memory: vaxres (shell) | goal |
|---|---|---|---|---|---|
| `vaxres report --by hospital --json` | {median(hospital["vaxres"]):.2f} s | {median(hospital["sqlite3"]):.2f} s | {ratio:.2f}x | {memory:.0f} MB ({peak(hospital["sqlite3"]):.0f} MB) | within 2x and under 200 MB: {"met" if ratio <= 2 and memory < 200 else "**missed**"} |
| `vaxres report --by day --json` | {median(by_day["vaxres"]):.2f} s | {median(by_day["sqlite3"]):.2f} s | {median(by_day["vaxres"]) / median(by_day["sqlite3"]):.2f}x | {peak(by_day["vaxres"]):.0f} MB ({peak(by_day["sqlite3"]):.0f} MB) | — |

All runs (s): by hospital: vaxres {spread["hospital"]["vaxres"]}; sqlite3 {spread["hospital"]["sqlite3"]}. By day: vaxres
{spread["day"]["vaxres"]}; sqlite3 {spread["day"]["sqlite3"]}.

How: one statement (`reports/figures.py` `report_statement`): the bookings counted per slot by
status in one pass over the reservations (`count(*) FILTER (WHERE status = ...) ... GROUP BY
slot_id`), joined to the slots and summed per line, the waitlist grouped by what a line matches
on, and the total row. What vaxres adds to the shell's time is its start-up, opening the store
and writing the JSON (1,000 groups by hospital, {-(-SLOTS // 5000)} by day).
"""
    print(body)
    write_section("report", body)


if __name__ == "__main__":
    if "--build-only" in sys.argv:
        build_store(Path(sys.argv[-1]))
    elif "--sql-only" in sys.argv:
        print(report_sql(Path(sys.argv[-1]), sys.argv[sys.argv.index("--sql-only") + 1]), end="")
    else:
        main()
