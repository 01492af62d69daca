"""Audit trail speed (issue 14), measured against baselines in the same run.

- `vaxres log --reservation ID` (and --slot, --user, --actor, a page of the whole log) on a store
  of 2,000,000 messages, beside `vaxres outbox show 1` on the same store (the start-up and one
  indexed read every store command pays).
- `vaxres outbox prune` of 1,000,000 delivered messages: its time, and how long a `vaxres reserve`
  started during it waits (SQLite has one writer; the prune commits every 5,000 messages).
- With `--before TREE` (a copy of vaxres before the audit trail, e.g. `git archive` of the
  parent commit): `vaxres import slots` of 300,000 rows with each tree, interleaved, medians;
  what writing the actor with every message and the partial index ix_outbox_about cost.

The store: 1,000,000 slots and their SlotRegistered messages (actor "import"), 400,000 bookings
of 400,000 people with their ReservationConfirmed, 200,000 cancelled, 100,000 rescheduled to
another slot and 300,000 reminded (1,000,000 messages about bookings, 20 desk actors), half of
every kind delivered. Built by bulk SQL once and cached under $VAXRES_BENCH_CACHE or
vaxres-bench in the temporary folder.

Run: uv run python benchmarks/bench_audit.py [--quick] [--before TREE]
(writes the audit section of docs/benchmarks.md)
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
from bench_import import generate_slots  # noqa: E402

VAXRES = str(Path(sys.executable).with_name("vaxres"))
QUICK = "--quick" in sys.argv
RUNS = 3 if QUICK else 5
BEFORE = Path(sys.argv[sys.argv.index("--before") + 1]).resolve() if "--before" in sys.argv else None
SLOTS = 1_000_000
BOOKINGS = 400_000
IMPORT_ROWS = 300_000
TODAY = dt.datetime.now(dt.UTC).date().isoformat()  # the store's zone is UTC
DATA_VERSION = 3


def store_path(cache: Path) -> Path:
    from vaxres.db.revisions import HEAD

    return cache / f"audit-{HEAD}-v{DATA_VERSION}.db"


def build_store(path: Path) -> None:
    """Slot i: hospital i % 1,000, day 1 + i // 1,000 (from 2027-01-01: none has passed). Booking
    i: slot i % 10,000 + 1 (40 a slot), person user{i}; every second one cancelled (the even
    ones), every fourth one moved in from slot + 500,000 first; every booking with i % 4 < 3
    reminded. Messages numbered in that order; secondary indexes built after the rows."""
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
    at = "2026-11-01 09:00:00.000000"
    conn.execute("BEGIN")
    conn.execute(
        f"""
        WITH RECURSIVE counter(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM counter WHERE i < {SLOTS - 1})
        INSERT INTO slot (id, date, hospital, vaccine, hospital_key, vaccine_key, capacity, remaining, created_at, updated_at)
        SELECT i + 1, date('2027-01-01', '+' || (i / 1000) || ' days'), printf('Hospital %04d', i % 1000),
               'Pfizer', printf('hospital %04d', i % 1000), 'pfizer', 100, 60,
               strftime('%Y-%m-%d %H:%M:%f000', '{at}', '+' || (i / 50000) || ' seconds'), '{at}'
        FROM counter
        """
    )
    conn.execute(
        """
        INSERT INTO outbox (event, recipient, payload, correlation_id, created_at, status, attempts, next_attempt_at,
                            delivered_at, actor)
        SELECT 'SlotRegistered', '*',
               json_object('slot_id', id, 'date', date, 'hospital', hospital, 'vaccine', vaccine, 'doses', capacity),
               id, created_at, CASE WHEN id % 2 THEN 'delivered' ELSE 'pending' END, 1, created_at,
               CASE WHEN id % 2 THEN created_at END, 'import'
        FROM slot ORDER BY id
        """
    )
    conn.execute(
        f"""
        WITH RECURSIVE counter(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM counter WHERE i < {BOOKINGS - 1})
        INSERT INTO reservation (id, slot_id, user_id, dose, status, reserved_at, cancelled_at)
        SELECT i + 1, i % 10000 + 1, printf('user%07d', i), 1, CASE WHEN i % 2 = 0 THEN 'cancelled' ELSE 'reserved' END,
               '2026-11-02 09:00:00.000000', CASE WHEN i % 2 = 0 THEN '2026-11-04 09:00:00.000000' END
        FROM counter
        """
    )
    facts = (
        "'reservation_id', r.id, 'user', r.user_id, 'dose', 1, 'slot_id', {slot}.id, 'date', {slot}.date, "
        "'hospital', {slot}.hospital, 'vaccine', {slot}.vaccine"
    )
    actor = "printf('desk%02d', r.id % 20)"
    steps = (
        # booked: the moved ones first in slot + 500,000
        ("ReservationConfirmed", "CASE WHEN (r.id - 1) % 4 = 1 THEN s2 ELSE s END", "", "'2026-11-02 09:00:00.000000'"),
        ("ReservationRescheduled", "s", "WHERE (r.id - 1) % 4 = 1", "'2026-11-03 09:00:00.000000'"),
        ("ReservationCancelled", "s", "WHERE (r.id - 1) % 2 = 0", "'2026-11-04 09:00:00.000000'"),
        ("ReservationReminder", "s", "WHERE (r.id - 1) % 4 < 3", "'2026-11-05 09:00:00.000000'"),
    )
    for event, which, where, created in steps:
        slot_facts = facts.format(slot="s2" if which != "s" else "s")
        extra = ""
        if event == "ReservationRescheduled":
            extra = ", 'previous_slot_id', s2.id, 'previous_date', s2.date, 'previous_hospital', s2.hospital"
        elif event == "ReservationReminder":
            extra = ", 'days_before', 1, 'days_left', 1"
        payload = f"json_object({slot_facts}{extra})"
        if which.startswith("CASE"):  # the booking's first slot: s2 for the moved ones
            payload = (
                f"CASE WHEN (r.id - 1) % 4 = 1 THEN json_object({facts.format(slot='s2')}) "
                f"ELSE json_object({facts.format(slot='s')}) END"
            )
        conn.execute(
            f"""
            INSERT INTO outbox (event, recipient, payload, correlation_id, created_at, status, attempts,
                                next_attempt_at, delivered_at, actor)
            SELECT '{event}', r.user_id, {payload}, r.id, {created},
                   CASE WHEN (r.id / 4) % 2 THEN 'delivered' ELSE 'pending' END, 1, {created},
                   CASE WHEN (r.id / 4) % 2 THEN {created} END, {actor}
            FROM reservation AS r JOIN slot AS s ON s.id = r.slot_id JOIN slot AS s2 ON s2.id = r.slot_id + 500000
            {where} ORDER BY r.id
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
        begun = time.perf_counter()
        build_store(path)
        print(f"built {path} in {time.perf_counter() - begun:.0f} s", file=sys.stderr)
    return path


def fresh_copy(store: Path, folder: Path, name: str = "work.db") -> Path:
    copy = folder / name
    for leftover in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(store, copy)
    return copy


def timed(args: list[str], env: dict | None = None) -> tuple[float, str]:
    begun = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - begun
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr}")
    return wall, done.stdout


def log_timings(db: Path) -> tuple[list[tuple[str, float, int]], float]:
    """Each `vaxres log` query (median wall time, entries) and the baseline's median."""
    cases = [
        ("`log --reservation 1001 --json`", ["log", "--reservation", "1001", "--json"]),
        ("`log --reservation 399999 --json`", ["log", "--reservation", "399999", "--json"]),
        ("`log --slot 1001 --json` (40 bookings)", ["log", "--slot", "1001", "--json"]),
        ("`log --slot 1002 --json` (40 bookings moved in)", ["log", "--slot", "1002", "--json"]),
        ("`log --slot 501002 --json` (40 bookings moved out)", ["log", "--slot", "501002", "--json"]),
        ("`log --user user0123456 --json`", ["log", "--user", "user0123456", "--json"]),
        ("`log` (the first page of 50, the total)", ["log"]),
        ("`log --actor desk07` (a page of 50, the total)", ["log", "--actor", "desk07"]),
        (
            "`log --from 2026-11-03 --to 2026-11-03` (a page, the total)",
            ["log", "--from", "2026-11-03", "--to", "2026-11-03"],
        ),
    ]
    base = [VAXRES, "--db", str(db)]
    walls: dict[str, list[float]] = {label: [] for label, _ in cases}
    counts: dict[str, int] = {}
    baseline: list[float] = []
    for _ in range(RUNS):
        baseline += wall_times([*base, "outbox", "show", "1", "--json"], 1)
        for label, args in cases:
            wall, out = timed([*base, *args])
            walls[label].append(wall)
            counts[label] = len(json.loads(out)) if "--json" in args else 50
    return [(label, median(walls[label]), counts[label]) for label, _ in cases], median(baseline)


def prune_timings(store: Path, folder: Path) -> dict:
    """One prune of every delivered message on a fresh copy, with a `vaxres reserve` started 2 s
    in; the same reserve on a copy nobody prunes."""
    db = fresh_copy(store, folder)
    reserve = [VAXRES, "--db", str(db), "reserve", "--user", "someone", "--slot", "999999"]
    quiet, _ = timed(reserve)
    dry, out = timed([VAXRES, "--db", str(db), "outbox", "prune", "--before", TODAY, "--dry-run", "--json"])
    would = json.loads(out)["would_prune"]
    begun = time.perf_counter()
    pruning = subprocess.Popen(
        [VAXRES, "--db", str(db), "outbox", "prune", "--before", TODAY, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    during, _ = timed([*reserve[:5], "someone-else", "--slot", "999998"])
    out, err = pruning.communicate()
    wall = time.perf_counter() - begun
    if pruning.returncode != 0:
        raise SystemExit(f"prune failed: {err}")
    return {
        "dry": dry,
        "would": would,
        "wall": wall,
        "pruned": json.loads(out)["pruned"],
        "quiet": quiet,
        "during": during,
    }


def import_timings(folder: Path) -> dict | None:
    """`vaxres import slots` of IMPORT_ROWS rows with the tree before the audit trail and with
    this one, interleaved, each into a fresh store."""
    if BEFORE is None:
        return None
    import compileall

    compileall.compile_dir(str(BEFORE / "vaxres"), quiet=1, workers=0)  # as compile_installed() does for this tree
    csv = folder / "slots.csv"
    generate_slots(csv, IMPORT_ROWS)
    trees = {"before": {**os.environ, "PYTHONPATH": str(BEFORE)}, "after": dict(os.environ)}
    walls: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(RUNS):
        for name, env in trees.items():
            db = folder / f"import-{name}.db"
            for leftover in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                leftover.unlink(missing_ok=True)
            subprocess.run([VAXRES, "--db", str(db), "db", "upgrade"], env=env, check=True, capture_output=True)
            wall, _ = timed([VAXRES, "--db", str(db), "import", "slots", str(csv), "--json"], env=env)
            walls[name].append(wall)
    return walls


def main() -> None:
    compile_installed()
    store = cached_store()
    with tempfile.TemporaryDirectory(dir=store.parent) as tmp:
        folder = Path(tmp)
        imports = import_timings(folder)
        print(f"imports: {imports}", file=sys.stderr)
        db = fresh_copy(store, folder)
        logs, baseline = log_timings(db)
        print(f"logs: {logs}, baseline {baseline:.3f} s", file=sys.stderr)
        prune = prune_timings(store, folder)
        messages = sqlite3.connect(store).execute("SELECT count(*) FROM outbox").fetchone()[0]
        size = store.stat().st_size / 1e9
    rows = "\n".join(f"| {label} | {wall:.3f} s | {count:,} |" for label, wall, count in logs)
    import_part = ""
    if imports is not None:
        before, after = median(imports["before"]), median(imports["after"])
        import_part = f"""
### What the actor costs the slot import

`vaxres import slots` of a {IMPORT_ROWS:,}-row file (bench_import's generate_slots) into a fresh
store, {RUNS} runs with each tree, interleaved: before the audit trail (`--before {BEFORE.name}`,
the parent commit) {before:.2f} s, with it {after:.2f} s (median), {after / before:.3f}x
({(after - before) / IMPORT_ROWS * 1e6:+.2f} µs a row). All runs: before
{", ".join(f"{w:.2f}" for w in imports["before"])} s; after {", ".join(f"{w:.2f}" for w in imports["after"])} s.
The actor is one bound parameter of the chunk's `INSERT INTO outbox ... SELECT` (the same short
text in every row), and SlotRegistered rows are left out of the new index.
"""
    body = f"""
## Audit trail (issue 14): `vaxres log` and `vaxres outbox prune`

Measured {dt.date.today().isoformat()} on {machine()} by `uv run python benchmarks/bench_audit.py`
{"--quick " if QUICK else ""}on a SQLite store of {messages:,} messages ({size:.2f} GB): {SLOTS:,} slots with their
SlotRegistered, {BOOKINGS:,} bookings with their ReservationConfirmed, 200,000 cancelled, 100,000
rescheduled, 300,000 reminded; half of each delivered. Whole processes, medians of {RUNS},
interleaved with `vaxres outbox show 1 --json` on the same store ({baseline:.3f} s: the start-up
and one indexed read every store command pays).

| command | wall time | entries |
|---|---|---|
{rows}

`--reservation` reads the partial index `ix_outbox_about (correlation_id, id) WHERE event <>
'SlotRegistered'`; `--slot` that index for the slot's updates and bookings, the slot's created_at
(`ix_outbox_created_at`) for its SlotRegistered, and the ReservationRescheduled messages (by
`ix_outbox_event_id`) for bookings moved out of it; `--user` the recipient index. `--actor` has
no index of its own: the page is found at once, the total counts every message.

`vaxres outbox prune --before {TODAY}` (every message is older) removed {prune["pruned"]:,} delivered messages in
{prune["wall"]:.1f} s (`--dry-run` counted {prune["would"]:,} in {prune["dry"]:.2f} s); a `vaxres reserve` started
2 s into the prune took {prune["during"]:.2f} s (on a quiet copy {prune["quiet"]:.2f} s): the prune
commits every 5,000 messages, so a writer waits for one chunk, not for the prune.
{import_part}"""
    print(body)
    write_section("audit", body)


if __name__ == "__main__":
    if "--build-only" in sys.argv:
        print(cached_store())
    else:
        main()
