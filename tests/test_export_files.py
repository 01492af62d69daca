"""The files `vaxres export` writes (issue 14): bytes for Excel, mode 0600, whole or not at all,
--force, standard output and a reader that leaves early, the progress bar, hostile names through
export and import again, and bad input."""

import csv
import io
import json
import os
import pty
import shutil
import stat
import subprocess
import uuid

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.helpers import VAXRES, future, mounted_tmpfs

HOSTILE = "=cmd|' /C calc'!A0"


def slot(cli, hospital, quantity=3, days=5, vaccine="Pfizer") -> int:
    return cli.json(
        "slot", "add", "--date", future(days), "--hospital", hospital, "--vaccine", vaccine, "--quantity", str(quantity)
    )["id"]


@pytest.fixture
def spreadsheet_names(cli):
    first = slot(cli, HOSTILE)
    slot(cli, "+Plus Clinic", days=6)
    slot(cli, "서울대병원", days=7)
    cli.json("reserve", "--user", "@lee", "--slot", str(first))
    cli.json("reserve", "--user", "kim", "--slot", str(first))


@pytest.mark.usefixtures("spreadsheet_names")
def test_excel_gets_a_bom_crlf_and_no_formula(cli):
    data = cli("export", "reservations", "--excel").stdout_bytes
    assert data.startswith(b"\xef\xbb\xbfuser,date,")
    assert data.count(b"\r\n") == data.count(b"\n") == 3 and data.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [row[0] for row in rows] == ["user", "'@lee", "kim"]
    assert {row[2] for row in rows[1:]} == {"'" + HOSTILE}
    slots = cli("export", "slots", "--excel").stdout_bytes.decode("utf-8-sig")
    assert [row[1] for row in csv.reader(io.StringIO(slots, newline=""))][1:] == [
        "'" + HOSTILE,
        "'+Plus Clinic",
        "서울대병원",
    ]


@pytest.mark.usefixtures("spreadsheet_names")
def test_without_excel_utf8_without_bom_lf_and_values_as_stored(cli):
    data = cli("export", "reservations").stdout_bytes
    assert data.startswith(b"user,date,") and b"\r" not in data and data.count(b"\n") == 3
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert [row[0] for row in rows[1:]] == ["@lee", "kim"] and rows[1][2] == HOSTILE
    assert "서울대병원".encode() in cli("export", "slots").stdout_bytes  # UTF-8, not CP949


def test_an_excel_file_of_plain_names_imports_back(cli, tmp_path):
    for n, hospital in enumerate(["서울대병원", "Busan, Haeundae", 'Clinic "A"']):
        cli.json("reserve", "--user", f"user{n}", "--slot", str(slot(cli, hospital, days=5 + n)))
    for kind in ("slots", "reservations"):
        assert cli("export", kind, "--excel", "--output", str(tmp_path / f"{kind}.csv")).exit_code == 0
        assert (tmp_path / f"{kind}.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    fresh = str(tmp_path / "fresh.db")
    assert cli("--db", fresh, "import", "slots", str(tmp_path / "slots.csv")).exit_code == 0
    assert cli("--db", fresh, "import", "reservations", str(tmp_path / "reservations.csv")).exit_code == 0
    drop_id = lambda slots: [{k: v for k, v in s.items() if k != "id"} for s in slots]  # noqa: E731
    assert drop_id(cli.json("--db", fresh, "slot", "list")) == drop_id(cli.json("slot", "list"))


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_the_file_is_readable_by_its_owner_only(cli, tmp_path, mask):
    slot(cli, "Seoul")
    previous = os.umask(mask)
    try:
        assert cli("export", "slots", "--output", str(tmp_path / "out.csv")).exit_code == 0
    finally:
        os.umask(previous)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o600


def test_an_existing_file_is_replaced_only_with_force(cli, tmp_path):
    slot(cli, "Seoul")
    out = tmp_path / "out.csv"
    out.write_text("keep me\n")
    out.chmod(0o644)
    refused = cli("export", "slots", "--output", str(out))
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert refused.stderr == f"Error: --output {out} already exists; name a new file, or pass --force to replace it\n"
    assert out.read_text() == "keep me\n"
    assert cli("export", "slots", "--output", str(out), "--force").exit_code == 0
    assert out.read_text().startswith("date,hospital,vaccine,quantity") and out.stat().st_mode & 0o777 == 0o600
    assert _leftovers(tmp_path) == ["out.csv"]


def test_links_folders_pipes_and_missing_folders_are_refused(cli, tmp_path):
    """Only a regular file is replaced: a device or a pipe would be renamed over, not written to
    (a FIFO stands for /dev/null here, which a bug must never get to replace)."""
    target = tmp_path / "target.csv"
    target.write_text("theirs\n")
    (tmp_path / "link.csv").symlink_to(target)
    os.mkfifo(tmp_path / "pipe")
    for options, message in [
        (
            ["--output", str(tmp_path / "vaxres.db"), "--force"],
            f"--output {tmp_path / 'vaxres.db'} is the store itself; name another file",
        ),
        (
            ["--output", str(tmp_path / "pipe"), "--force"],
            f"--output {tmp_path / 'pipe'} is not a regular file; name a file, or give --output - and redirect standard output",
        ),
        (
            ["--output", str(tmp_path / "link.csv"), "--force"],
            f"--output {tmp_path / 'link.csv'} is a symbolic link; name the file itself",
        ),
        (["--output", str(tmp_path)], f"cannot write --output {tmp_path}: it is a folder; name a file"),
        (
            ["--output", str(tmp_path / "no" / "x.csv")],
            f"cannot write --output {tmp_path / 'no' / 'x.csv'}: No such file or directory",
        ),
    ]:
        result = cli("export", "slots", *options)
        assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")
    assert target.read_text() == "theirs\n" and stat.S_ISFIFO((tmp_path / "pipe").lstat().st_mode)
    assert _leftovers(tmp_path) == []


def _leftovers(folder) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".part") or name == "out.csv"]


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
def test_an_interrupted_or_failed_export_leaves_no_file(cli, tmp_path, monkeypatch, failure):
    from vaxres.exports import query

    for n in range(5):
        slot(cli, f"Hospital {n}")
    batches = query._batches

    def failing_after_one(*args, **kwargs):
        rows = batches(*args, **kwargs)
        yield next(rows)
        raise failure("the disk is full")

    monkeypatch.setattr(query, "_batches", failing_after_one)
    result = cli("export", "slots", "--output", str(tmp_path / "out.csv"))
    assert result.exit_code == (130 if failure is KeyboardInterrupt else 75)
    assert _leftovers(tmp_path) == []


def test_a_full_disk_is_one_line_and_leaves_nothing(cli, tmp_path):
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "date,hospital,vaccine,quantity\n" + "".join(f"{future(3)},Hospital {n:05d},Pfizer,1\n" for n in range(5_000))
    )
    assert cli("import", "slots", str(plan)).exit_code == 0
    with mounted_tmpfs(
        tmp_path / "small", "64k", otherwise="; the failure injected above covers the clean-up"
    ) as folder:
        result = cli("export", "slots", "--output", str(folder / "out.csv"))
        assert (result.exit_code, result.stdout) == (75, "")
        assert (
            result.stderr
            == f"Error: cannot write --output {folder / 'out.csv'}: No space left on device; nothing was written\n"
        )
        assert os.listdir(folder) == []


def test_a_file_made_meanwhile_is_not_replaced(cli, tmp_path, monkeypatch):
    from vaxres.exports import run

    slot(cli, "Seoul")
    out = tmp_path / "out.csv"
    write = run._write

    def racing(*args, **kwargs):
        out.write_text("someone else's\n")
        return write(*args, **kwargs)

    monkeypatch.setattr(run, "_write", racing)
    result = cli("export", "slots", "--output", str(out))
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: --output {out} already exists; name a new file, or pass --force to replace it\n",
    )
    assert out.read_text() == "someone else's\n" and _leftovers(tmp_path) == ["out.csv"]


def test_a_reader_that_leaves_early_gets_no_traceback(cli, tmp_path):
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "date,hospital,vaccine,quantity\n" + "".join(f"{future(3)},Hospital {n:05d},Pfizer,1\n" for n in range(40_000))
    )
    assert cli("import", "slots", str(plan)).exit_code == 0
    proc = subprocess.Popen([VAXRES, "export", "slots"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"date,hospital,vaccine,quantity,remaining,id\n"
    proc.stdout.close()
    assert proc.wait(timeout=60) == 1
    assert proc.stderr.read() == b""


def test_the_use_case_reports_progress_against_the_count(store, cli, tmp_path):
    from vaxres.exports import run

    for n in range(7):
        slot(cli, f"Hospital {n}")
    seen = []
    options = run.ExportOptions.parse(
        output=str(tmp_path / "out.csv"), progress=lambda rows, total: seen.append((rows, total))
    )
    summary = run.export(store, "slots", options)
    assert summary.rows == 7 and seen[0] == (0, 7) and seen[-1] == (7, 7)


def _in_a_terminal(args: list[str], *, stdout_too: bool) -> bytes:
    """Run vaxres with stderr (and stdout when asked) on a pseudo-terminal; what it showed there."""
    main, side = pty.openpty()
    proc = subprocess.Popen(
        [VAXRES, *args], stdin=subprocess.DEVNULL, stdout=side if stdout_too else subprocess.DEVNULL, stderr=side,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )  # fmt: skip
    os.close(side)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    assert proc.wait(timeout=60) == 0
    os.close(main)
    return shown


def test_a_progress_bar_on_a_terminal_but_not_over_the_data(cli, tmp_path):
    for n in range(3):
        slot(cli, f"Hospital {n}")
    assert b"Exporting" in _in_a_terminal(["export", "slots", "--output", str(tmp_path / "out.csv")], stdout_too=False)
    shown = _in_a_terminal(["export", "slots"], stdout_too=True)
    assert b"Exporting" not in shown and b"Hospital 2" in shown


def test_a_note_when_excel_cannot_show_every_row(cli, tmp_path, monkeypatch):
    from vaxres.exports import run

    monkeypatch.setattr(run, "EXCEL_ROWS", 3)
    for n in range(3):
        slot(cli, f"Hospital {n}")
    result = cli("export", "slots", "--excel", "--output", str(tmp_path / "out.csv"))
    assert result.exit_code == 0 and result.stderr.startswith(
        "Note: Excel shows the first 1,048,575 rows of a sheet; this file has 3"
    )
    assert cli("export", "slots", "--output", str(tmp_path / "plain.csv")).stderr == ""


NAME = st.text(
    alphabet=st.sampled_from(list("Aa가나 ,\"';=+-@[]/\\|!:%_*") + ["\u00e9", "\u0301", "\U0001f600", "ß"]),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hospitals=st.lists(NAME, min_size=1, max_size=3), users=st.lists(NAME, min_size=1, max_size=3))
def test_hostile_names_survive_export_and_import(cli, tmp_path, empty_store_file, hospitals, users):
    from vaxres.errors import InvalidValue
    from vaxres.validate import name_key, normalize_name, parse_user

    try:
        hospitals = [normalize_name(h, field="hospital") for h in hospitals]
        users = [parse_user(u) for u in users]
    except InvalidValue:
        assume(False)
    assume(len({name_key(h) for h in hospitals}) == len(hospitals) and len(set(users)) == len(users))
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    source, fresh = str(folder / "source.db"), str(folder / "fresh.db")
    shutil.copyfile(empty_store_file, source)
    ids = [
        cli.json(
            "--db",
            source,
            "slot",
            "add",
            "--date",
            future(3),
            "--hospital",
            h,
            "--vaccine",
            "Pfizer",
            "--quantity",
            "5",
        )["id"]
        for h in hospitals
    ]
    for n, user in enumerate(users):
        booked = cli("--db", source, "reserve", "--slot", str(ids[n % len(ids)]), "--json", "--user", user)
        assert booked.exit_code == 0, booked.stderr
    for kind in ("slots", "reservations"):
        assert cli("--db", source, "export", kind, "--output", str(folder / f"{kind}.csv")).exit_code == 0
        imported = cli("--db", fresh, "import", kind, str(folder / f"{kind}.csv"), "--json")
        assert imported.exit_code == 0, imported.stdout
    for kind in ("slots", "reservations"):
        ours = cli("--db", source, "export", kind, "--format", "jsonl").stdout
        theirs = cli("--db", fresh, "export", kind, "--format", "jsonl").stdout
        keep = ("date", "hospital", "vaccine", "capacity", "remaining", "user", "dose")
        assert _picked(theirs, keep) == _picked(ours, keep)


def _picked(text: str, keep: tuple[str, ...]) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k in keep} for line in text.splitlines()]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "tables"], "no such command 'tables'; see `vaxres export --help`"),
        (["export", "slots", "--format", "xlsx"], "--format must be csv, jsonl or fhir, got 'xlsx'"),
        (["export", "slots", "--from", "2026-02-30"], "from '2026-02-30' is not a real calendar date"),
        (
            ["export", "slots", "--to", "soon"],
            "to must be a date as YYYY-MM-DD (or year first as spreadsheets write it: "
            "2026/12/01, 2026.12.01, 2026. 12. 1., 20261201), got 'soon'",
        ),
        (
            ["export", "slots", "--from", "2031-01-02", "--to", "2031-01-01"],
            "--from 2031-01-02 is after --to 2031-01-01",
        ),
        (
            ["export", "slots", "--format", "jsonl", "--excel"],
            "--excel is for --format csv (a spreadsheet does not read JSONL)",
        ),
        (["export", "slots", "--output", " "], "--output needs a file name, or - for standard output"),
        (["export", "outbox", "--lang", "fr"], "--lang must be en or ko, got 'fr'"),
        (["export", "waitlist", "--status", "all"], "no such option: --status; see `vaxres export waitlist --help`"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    result = cli(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {message}\n")


@pytest.mark.no_store
def test_a_missing_store_is_not_found_and_not_created(cli, tmp_path):
    result = cli("export", "slots")
    assert result.exit_code == 3 and "there is no store" in result.stderr
    assert not (tmp_path / "vaxres.db").exists()


def test_a_killed_export_leaves_no_file(tmp_path, db_path):
    """SIGTERM (`kill`) ends the export through the same clean-up as Ctrl-C: no file, no .part."""
    import sqlite3
    import time

    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO slot (date, hospital, vaccine, hospital_key, vaccine_key, capacity, remaining, created_at, updated_at) "
            "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 399999) "
            f"SELECT '{future(3)}', 'Hospital ' || i, 'Pfizer', 'hospital ' || i, 'pfizer', 5, 5, '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM c"
        )
    folder = tmp_path / "out"
    folder.mkdir()
    proc = subprocess.Popen(
        [VAXRES, "export", "slots", "--format", "jsonl", "--output", str(folder / "out.jsonl")], stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while not any(name.endswith(".part") for name in os.listdir(folder)):
        assert proc.poll() is None and time.monotonic() < deadline, "the export ended before it could be killed"
        time.sleep(0.01)
    proc.terminate()
    assert proc.wait(timeout=30) == 143
    assert os.listdir(folder) == [] and proc.stderr.read() == b""


VALUE = st.text(alphabet=st.sampled_from(list("Aa가 ,\";'=\\n\r") + ["\u00e9", "\U0001f600"]), max_size=8)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(VALUE, min_size=4, max_size=4), min_size=1, max_size=6), as_bytes=st.booleans())
def test_rows_joined_by_the_database_are_written_as_csv_writer_writes_them(rows, as_bytes):
    """The fast path (rows joined by the database, made CSV by a look at the whole batch) writes
    csv.writer's very bytes, whatever the values hold; on SQLite the rows come as bytes."""
    from vaxres.exports import run
    from vaxres.exports.query import SEPARATOR

    joined = [(SEPARATOR.join(row).encode() if as_bytes else SEPARATOR.join(row),) for row in rows]
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\n").writerows(rows)
    assert run._csv_formatter(False, 4)(joined) == expected.getvalue().encode()


def test_a_separator_in_a_stored_name_is_one_line_and_excel_still_works(cli, db_path, tmp_path):
    import sqlite3

    slot(cli, "Seoul")
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE slot SET hospital = 'Se\x1foul'")
    plain = cli("export", "slots", "--output", str(tmp_path / "out.csv"))
    assert (plain.exit_code, plain.stdout, _leftovers(tmp_path)) == (2, "", [])
    assert plain.stderr == (
        "Error: a name in the store holds the control character U+001F, which vaxres refuses in names "
        "and uses to read rows fast; export with --excel or --format jsonl, or fix the name\n"
    )
    assert "Se\x1foul" in cli("export", "slots", "--excel").stdout_bytes.decode("utf-8-sig")
    assert json.loads(cli("export", "slots", "--format", "jsonl").stdout)["hospital"] == "Se\x1foul"
