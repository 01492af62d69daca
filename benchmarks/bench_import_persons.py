"""`vaxres import persons` (issue 20) against plain sqlite3 in the same run.

Goal: 1,000,000 people at most 1.5x a plain sqlite3 executemany of the same rows into a table of
the same columns and keys (the id, a unique fingerprint) with the same HMAC-SHA-256 of the
number computed in Python; peak memory of the vaxres process under 200 MB.

The file is realistic: Korean names, resident registration numbers (each person's own), mobile
phones, e-mail addresses at a few providers, a language, groups for one person in five, and one
person in ten a child registered by birth date with a guardian (an adult of an earlier row, or
for one child in four of a later one). Both sides run as whole processes, interleaved rounds,
each into a fresh store; the table shows the medians.

Run: uv run --group bench python benchmarks/bench_import_persons.py [--rows N] [--repeat N]
"""

import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import compile_installed, machine, write_section  # noqa: E402
from bench_import import measure  # noqa: E402

VAXRES = str(Path(sys.executable).with_name("vaxres"))
ROWS = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 1_000_000
REPEAT = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
KEY = "a benchmark identity key that is long enough"

SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍"
SYLLABLES = "민수영희지현준서연우진하은도윤예성호경미정혜원재동석태"
DOMAINS = ("naver.com", "gmail.com", "daum.net", "hanmail.net", "kakao.com", "nate.com")
GROUPS = ("의료진", "교사", "요양시설;의료진", "Seoul;교사", "65세 이상")

# The plain sqlite3 side: csv.reader, the HMAC of the 13 digits, the masked form, the birth date
# and sex the number carries (vaxres stores them: the rows are the same), executemany of the rows
# (and their groups) in transactions of the import's size, vaxres's pragmas.
BASELINE = r'''
import csv, datetime as dt, hashlib, hmac, sqlite3, sys
path, db, chunk, cache, key = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].encode()
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=FULL")
conn.execute(f"PRAGMA cache_size=-{cache}")
conn.execute("""CREATE TABLE person (id VARCHAR(200) NOT NULL PRIMARY KEY, name VARCHAR(200), birth_date DATE,
  sex VARCHAR(1), phone VARCHAR(32), email VARCHAR(254), lang VARCHAR(8), guardian_id VARCHAR(200),
  id_fingerprint VARCHAR(64) UNIQUE, id_masked VARCHAR(14), created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL, forgotten_at DATETIME)""")
conn.execute("""CREATE TABLE person_group (person_id VARCHAR(200) NOT NULL, group_key VARCHAR(100) NOT NULL,
  name VARCHAR(100) NOT NULL, PRIMARY KEY (person_id, group_key))""")
insert = "INSERT INTO person VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
CENTURY = dict(zip("1256347890", ("19",) * 4 + ("20",) * 4 + ("18",) * 2))
def flush(people, groups):
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(insert, people)
    conn.executemany("INSERT INTO person_group VALUES (?, ?, ?)", groups)
    conn.execute("COMMIT")
with open(path, newline="", encoding="utf-8") as f:
    rows = csv.reader(f)
    next(rows)
    people, groups = [], []
    for pid, name, rrn, born, phone, email, lang, guardian, grouped in rows:
        fingerprint = masked = sex = None
        if rrn:
            digits = rrn.replace("-", "")
            fingerprint = hmac.new(key, b"rrn:" + digits.encode(), hashlib.sha256).hexdigest()
            masked = f"{digits[:6]}-{digits[6]}******"
            # the birth date and sex the number carries, which vaxres stores too
            born = f"{CENTURY[digits[6]]}{digits[:2]}-{digits[2:4]}-{digits[4:6]}"
            sex = "M" if digits[6] in "13579" else "F"
        people.append((pid, name, born or None, sex, phone or None, email or None, lang or None,
                       guardian or None, fingerprint, masked, now, now))
        if grouped:
            groups += [(pid, g.casefold(), g) for g in grouped.split(";")]
        if len(people) >= chunk:
            flush(people, groups)
            people, groups = [], []
    if people:
        flush(people, groups)
'''


def generate(path: Path, rows: int) -> None:
    """The people, children after their guardian mostly and before them sometimes."""
    rnd = random.Random(20)
    this_year = dt.date.today().year
    with open(path, "w", encoding="utf-8") as out:
        out.write("id,name,rrn,birth_date,phone,email,lang,guardian,groups\n")
        for n in range(rows):
            name = rnd.choice(SURNAMES) + rnd.choice(SYLLABLES) + rnd.choice(SYLLABLES)
            person = f"p{n:07d}"
            if n % 10 == 9 and n >= 20:  # a child, by birth date, with a guardian
                born = dt.date(this_year - rnd.randint(1, 15), rnd.randint(1, 12), rnd.randint(1, 28))
                guardian = f"p{n - 9:07d}" if n % 40 != 9 else f"p{min(n + 1, rows - 1):07d}"
                out.write(f"{person},{name},,{born.isoformat()},,,ko,{guardian},\n")
                continue
            born = dt.date(rnd.randint(1940, 2004), rnd.randint(1, 12), rnd.randint(1, 28))
            sex = rnd.choice("12") if born.year < 2000 else rnd.choice("34")
            rrn = f"{born:%y%m%d}-{sex}{n:06d}"
            phone = f"010-{rnd.choice('2346789')}{rnd.randint(0, 999):03d}-{rnd.randint(0, 9999):04d}"
            email = f"user{n}@{rnd.choice(DOMAINS)}"
            groups = rnd.choice(GROUPS) if n % 5 == 0 else ""
            out.write(f"{person},{name},{rrn},,{phone},{email},{rnd.choice(('ko', 'ko', 'en'))},,{groups}\n")


def measure_tree(cmd: list[str], env: dict) -> tuple[float, float, int]:
    """Wall seconds, the peak of the summed resident memory (MB) of the process and its children
    (the import's reader worker, which runs beside it), sampled every 20 ms, and the exit code."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(_rss_kib(pid) for pid in (proc.pid, *_children(proc.pid))))
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
    return elapsed, peak / 1024, proc.returncode


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    compile_installed()
    from vaxres.imports.run import PERSON_CHUNK
    from vaxres.imports.staging import IMPORT_CACHE_KIB

    runs: dict[str, list[tuple[float, float, int]]] = {"vaxres": [], "baseline": []}
    env = {**os.environ, "VAXRES_ID_KEY": KEY}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        people = folder / "people.csv"
        generate(people, ROWS)
        for n in range(REPEAT):
            for side in ("baseline", "vaxres") if n % 2 else ("vaxres", "baseline"):
                db = folder / f"{side}{n}.db"
                if side == "vaxres":
                    subprocess.run([VAXRES, "--db", str(db), "db", "upgrade"], env=env, check=True, capture_output=True)
                    runs[side].append(measure_tree([VAXRES, "--db", str(db), "import", "persons", str(people)], env))
                else:
                    plain = [sys.executable, "-c", BASELINE, str(people), str(db), str(PERSON_CHUNK)]
                    runs[side].append(measure([*plain, str(IMPORT_CACHE_KIB), KEY], env))
                for stale in folder.glob(f"{side}{n}.db*"):
                    stale.unlink()

    medians = {side: statistics.median(m[0] for m in measured) for side, measured in runs.items()}
    ratio = medians["vaxres"] / medians["baseline"]
    peak = max(m[1] for m in runs["vaxres"])
    spread = {side: ", ".join(f"{m[0]:.1f}" for m in measured) for side, measured in runs.items()}
    body = f"""## Person import (issue 20)

Measured {dt.date.today().isoformat()} on {machine()} by `uv run --group bench python benchmarks/bench_import_persons.py`
with {ROWS:,} people. Whole processes, each into a fresh store, {REPEAT} round{"s" if REPEAT != 1 else ""} interleaved, medians
(vaxres: {spread["vaxres"]} s; baseline: {spread["baseline"]} s).

| goal | vaxres | baseline in the same run | verdict |
|---|---|---|---|
| `vaxres import persons` at most 1.5x plain sqlite3 executemany with the same HMAC | {medians["vaxres"]:.1f} s | {medians["baseline"]:.1f} s | {ratio:.2f}x, {"met" if ratio <= 1.5 else "**missed**"} |
| peak memory of `vaxres import persons` under 200 MB (the process and its reader worker, summed) | {peak:.0f} MB | — | {"met" if peak < 200 else "**missed**"} |

The file: Korean names, a resident registration number for nine people in ten (each their own),
a mobile phone, an e-mail address at one of {len(DOMAINS)} providers, a language, groups for one in
five; one person in ten a child with a birth date and a guardian (one in four of them named before
the guardian's row). The baseline (in the script) reads it with `csv.reader`, computes the
fingerprint `hmac.new(key, b"rrn:" + digits, sha256)`, the masked form and the birth date and sex
the number carries (vaxres stores them too), and inserts the rows, and their groups, by
`executemany` into tables of vaxres's columns and keys, in
{PERSON_CHUNK:,}-row transactions with vaxres's pragmas. vaxres does more: it validates every
value first (names, numbers against their dates, phones to E.164, e-mail addresses, guardians:
registered, adult, no circle), stages the rows (numbers already hashed) outside the store, decides
duplicates and guardians set-wise, and writes a `PersonRegistered` message per person.
"""
    print(body)
    write_section("import-persons", body)


if __name__ == "__main__":
    main()
