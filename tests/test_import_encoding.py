"""Files from and for Excel (issue 12): the encoding is detected (a byte-order mark, else UTF-8,
else CP949) and --rejects is written back in it, with the rows in the file's line order whichever
pass refused them."""

import codecs
import csv
import io
import json
import os
import pty
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import VAXRES, count_rows, future, query

pytestmark = pytest.mark.usefixtures("backend")

SLOT_HEADER = ["병원명", "백신명", "접종일자", "수량"]
BOOKING_HEADER = ["예약자", "병원명", "백신명", "접종일자"]

# (how the file is written, its byte-order mark, the options, the encoding the import reports)
ENCODINGS = {
    "cp949": ("cp949", b"", [], "cp949"),
    "utf-8-bom": ("utf-8", codecs.BOM_UTF8, [], "utf-8-sig"),
    "utf-8": ("utf-8", b"", [], "utf-8"),
    "utf-16-le": ("utf-16-le", codecs.BOM_UTF16_LE, [], "utf-16"),
    "utf-16-be": ("utf-16-be", codecs.BOM_UTF16_BE, [], "utf-16"),
    "euc-kr-given": ("euc-kr", b"", ["--encoding", "euc-kr"], "euc_kr"),
}


def csv_bytes(rows: list[list[str]], codec: str, bom: bytes = b"", delimiter: str = ",") -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return bom + text.getvalue().encode(codec)


def read_rejects(path, codec: str, bom: bytes, delimiter: str = ",") -> list[list[str]]:
    """The rejects file's rows, checking it starts with exactly the input's byte-order mark."""
    data = path.read_bytes()
    assert data.startswith(bom)
    assert not data[len(bom) :].startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    return list(csv.reader(io.StringIO(data[len(bom) :].decode(codec), newline=""), delimiter=delimiter))


def slots_of(cli):
    return sorted((s["hospital"], s["vaccine"], s["capacity"], s["remaining"]) for s in cli.json("slot", "list"))


@pytest.fixture
def booked_slot(cli):
    """Slot 1 (부산의료원, Moderna) with 2 of its 3 doses booked: its quantity cannot drop to 1."""
    cli.json("slot", "add", "--date", future(), "--hospital", "부산의료원", "--vaccine", "Moderna", "--quantity", "3")
    for user in ("kim", "lee"):
        cli.json("reserve", "--user", user, "--slot", "1")


@pytest.mark.parametrize("case", list(ENCODINGS))
def test_rejects_keep_the_input_encoding_and_the_file_order(cli, tmp_path, booked_slot, case):
    codec, bom, options, reported = ENCODINGS[case]
    delimiter = "\t" if case == "utf-16-le" else ","  # Excel's "Unicode text" is tab-separated
    day = future()
    rows = [
        SLOT_HEADER,
        ["서울대학교병원", "화이자", day, "5"],  # 2: created
        ["대구병원", "얀센", day, "영"],  # 3: invalid quantity (first pass)
        ["부산의료원", "모더나", day, "1"],  # 4: refused, 2 doses booked (second pass)
        ["광주병원", "얀센", day, "2"],  # 5: created
        ["광주병원", "스푸트니크", day, "2"],  # 6: invalid, not in the catalog
        ["부산의료원", "Moderna", day, "1"],  # 7: refused again
        ["=SUM(A1)", "얀센", "2026-02-30", "2"],  # 8: invalid date
    ]
    plan = tmp_path / "plan.csv"
    plan.write_bytes(csv_bytes(rows, codec, bom, delimiter))
    rejects = tmp_path / "rejects.csv"
    result = cli("import", "slots", str(plan), *options, "--skip-invalid", "--rejects", str(rejects), "--json")
    assert result.exit_code == 1, result.stderr
    summary = json.loads(result.stdout)
    assert summary["encoding"] == reported
    assert [(e["line"], e["code"]) for e in summary["errors"]] == [
        (3, "invalid_input"),
        (4, "capacity_below_booked"),
        (6, "unknown_vaccine"),
        (7, "capacity_below_booked"),
        (8, "invalid_input"),
    ]
    below = "slot 1 has 2 doses booked, so its quantity cannot drop to 1; give at least 2, or cancel reservations first"
    assert read_rejects(rejects, codec, bom, delimiter) == [
        [*SLOT_HEADER, "line", "reason"],
        ["대구병원", "얀센", day, "영", "3", "line 3, quantity '영': must be a whole number from 1 to 1,000,000"],
        ["부산의료원", "모더나", day, "1", "4", f"line 4, quantity '1': {below}"],
        [
            "광주병원",
            "스푸트니크",
            day,
            "2",
            "6",
            "line 6, vaccine '스푸트니크': is not in the catalog (known: AstraZeneca, Janssen, Moderna, Novavax, "
            "Pfizer); add it with `vaxres vaccine add NAME --doses N`",
        ],
        ["부산의료원", "Moderna", day, "1", "7", f"line 7, quantity '1': {below}"],
        ["'=SUM(A1)", "얀센", "2026-02-30", "2", "8", "line 8, date '2026-02-30': is not a real calendar date"],
    ]
    assert slots_of(cli) == [
        ("광주병원", "Janssen", 2, 2),
        ("부산의료원", "Moderna", 3, 1),
        ("서울대학교병원", "Pfizer", 5, 5),
    ]


@pytest.mark.parametrize("chunk", [None, 2])
def test_reservation_rejects_are_in_file_order_across_chunks(cli, tmp_path, db_path, monkeypatch, chunk):
    if chunk:
        monkeypatch.setattr("vaxres.imports.run.BOOKING_CHUNK", chunk)
    cli.json(
        "slot", "add", "--date", future(), "--hospital", "서울대학교병원", "--vaccine", "Pfizer", "--quantity", "2"
    )
    day = future()
    rows = [
        BOOKING_HEADER,
        ["kim", "서울대학교병원", "화이자", day],  # 2: booked
        ["lee", "없는병원", "화이자", day],  # 3: refused, no such slot
        ["park", "서울대학교병원", "화이자", "2020-01-01"],  # 4: invalid, past
        ["choi", "서울대학교병원", "화이자", day],  # 5: booked, the last dose
        ["jung", "서울대학교병원", "화이자", day],  # 6: refused, sold out
        ["han", "서울대학교병원", "", day],  # 7: invalid, no vaccine
        ["kim", "서울대학교병원", "화이자", day],  # 8: already booked by line 2
    ]
    path = tmp_path / "bookings.csv"
    path.write_bytes(csv_bytes(rows, "cp949"))
    rejects = tmp_path / "rejects.csv"
    result = cli("import", "reservations", str(path), "--skip-invalid", "--rejects", str(rejects), "--json")
    assert result.exit_code == 1, result.stderr
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("encoding", "rows", "booked", "already", "refused", "invalid")} == {
        "encoding": "cp949",
        "rows": 7,
        "booked": 2,
        "already": 1,
        "refused": 2,
        "invalid": 2,
    }
    written = read_rejects(rejects, "cp949", b"")
    assert [(row[0], row[4]) for row in written[1:]] == [("lee", "3"), ("park", "4"), ("jung", "6"), ("han", "7")]
    assert written[1][5] == f"line 3: there is no slot for {day}, 없는병원, 화이자; see `vaxres slot list --date {day}`"
    assert written[3][5].startswith(f"line 6: slot 1 ({day}, 서울대학교병원, Pfizer) is sold out")
    assert query(db_path, "SELECT user_id, slot_id FROM reservation ORDER BY id") == [("kim", 1), ("choi", 1)]


def test_a_long_file_of_rejects_merges_in_line_order(cli, tmp_path, monkeypatch):
    """Every third row invalid, every third refused, in chunks of 3: the merged file lists them
    all, in line order."""
    monkeypatch.setattr("vaxres.imports.run.SLOT_CHUNK", 3)
    cli.json("slot", "add", "--date", future(), "--hospital", "Busan", "--vaccine", "Moderna", "--quantity", "3")
    for user in ("kim", "lee"):
        cli.json("reserve", "--user", user, "--slot", "1")
    rows = [["date", "hospital", "vaccine", "quantity"]]
    for line in range(2, 92):
        rows.append(
            [future(), f"병원 {line}", "Janssen", "잘못"]
            if line % 3 == 0  # invalid
            else [future(), "Busan", "Moderna", "1"]
            if line % 3 == 1  # refused: 2 doses booked
            else [future(), f"병원 {line}", "Janssen", "1"]  # created
        )
    path = tmp_path / "plan.csv"
    path.write_bytes(csv_bytes(rows, "utf-8", codecs.BOM_UTF8))
    rejects = tmp_path / "rejects.csv"
    assert cli("import", "slots", str(path), "--skip-invalid", "--rejects", str(rejects)).exit_code == 1
    lines = [int(row[4]) for row in read_rejects(rejects, "utf-8", codecs.BOM_UTF8)[1:]]
    assert lines == [line for line in range(2, 92) if line % 3 != 2]


@pytest.mark.one_backend
def test_cp949_found_past_the_header_reads_the_file_again(cli, tmp_path):
    """English headers and rows, Korean CP949 names further down: the first reading stops at the
    first Korean line, the second stages every row once."""
    head = ["date,hospital,vaccine,quantity"] + [f"{future()},Clinic {n},Janssen,1" for n in range(30)]
    body = ("\n".join(head) + f"\n{future()},Clinic x,Janssen,zero\n{future()},서울대학교병원,화이자,4\n").encode(
        "cp949"
    )
    path = tmp_path / "plan.csv"
    path.write_bytes(body)
    rejects = tmp_path / "rejects.csv"
    result = cli("import", "slots", str(path), "--skip-invalid", "--rejects", str(rejects), "--json")
    assert result.exit_code == 1, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["encoding"], summary["rows"], summary["created"], summary["invalid"]) == ("cp949", 32, 31, 1)
    assert [row[4] for row in read_rejects(rejects, "cp949", b"")[1:]] == ["32"]
    assert ("서울대학교병원", "Pfizer", 4, 4) in slots_of(cli)


@pytest.mark.one_backend
def test_a_character_cp949_cannot_hold_is_escaped_in_the_reason(cli, tmp_path):
    cli.json("vaccine", "add", "Vax😀", "--doses", "1")
    path = tmp_path / "plan.csv"
    path.write_bytes(csv_bytes([SLOT_HEADER, ["서울", "없는백신", future(), "3"]], "cp949"))
    rejects = tmp_path / "rejects.csv"
    assert cli("import", "slots", str(path), "--rejects", str(rejects)).exit_code == 2
    reason = read_rejects(rejects, "cp949", b"")[1][5]
    assert "Pfizer, Vax\\U0001f600); add it" in reason


@pytest.mark.one_backend
def test_neither_utf8_nor_cp949_exits_2_in_one_line(cli, tmp_path, db_path):
    path = tmp_path / "plan.csv"
    path.write_bytes(f"date,hospital,vaccine,quantity\n{future()},A,Janssen,1\n".encode() + b"\x80\xff,B,Janssen,1\n")
    result = cli("import", "slots", str(path))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: line 3 is neither utf-8 nor cp949 (byte b'\\x80' at column 1); "
        "give the file's encoding with --encoding NAME\n"
    )
    assert count_rows(db_path, "slot") == 0


@pytest.mark.one_backend
def test_on_a_terminal_the_error_line_comes_after_the_progress_bar_is_gone(tmp_path, db_path):
    """A first pass that fails while its progress bar is on the terminal: the bar is cleared
    first, so the error is the last thing on the screen (it used to print above the bar's
    last frame, which stayed under it)."""
    rows = "".join(f"u{n},{future()},A,Janssen,1\n" for n in range(50_000))
    path = tmp_path / "bookings.csv"
    path.write_bytes(b"user,date,hospital,vaccine,dose\n" + rows.encode() + b"\xff,A,Janssen,1\n")
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [VAXRES, "import", "reservations", str(path)],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "COLUMNS": "80"},
    )
    os.close(follower)
    screen = b""
    while chunk := _read(leader):
        screen += chunk
    assert process.wait(timeout=120) == 2
    error = b"Error: line 50002 is neither utf-8 nor cp949"
    assert b"Checking" in screen  # the bar was shown
    assert screen.rindex(error) > screen.rindex(b"rows/s")  # and nothing of it after the error
    assert screen.rstrip().endswith(b"--encoding NAME")


def _read(leader: int) -> bytes:
    try:
        return os.read(leader, 65536)
    except OSError:  # the terminal's other end closed: the process ended
        return b""


@pytest.mark.one_backend
def test_a_file_mixing_cp949_and_utf8_exits_2_naming_both_lines(cli, tmp_path, db_path):
    path = tmp_path / "plan.csv"
    path.write_bytes(
        "병원명,백신명,접종일자,수량\n".encode("cp949")
        + f"서울,화이자,{future()},1\n".encode("cp949")
        + f"부산 😀,화이자,{future()},1\n".encode("utf-8")
    )
    result = cli("import", "slots", str(path))
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: line 3 is not valid cp949 (byte b'\\x80' at column 3), and line 1 is not valid utf-8: "
        "the file mixes encodings or is in another one; give it with --encoding NAME\n"
    )
    assert count_rows(db_path, "slot") == 0


def pipe(args: list[str], data: bytes) -> subprocess.CompletedProcess:
    """vaxres reading standard input from a pipe, which cannot seek."""
    return subprocess.run([VAXRES, *args], input=data, capture_output=True, timeout=120, env=dict(os.environ))


@pytest.mark.one_backend
def test_standard_input_is_read_again_as_cp949_from_what_was_kept(tmp_path):
    data = csv_bytes(
        [SLOT_HEADER, ["서울대학교병원", "화이자", future(), "5"], ["대구", "얀센", future(), "영"]], "cp949"
    )
    rejects = tmp_path / "rejects.csv"
    result = pipe(["import", "slots", "-", "--skip-invalid", "--rejects", str(rejects), "--json"], data)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["encoding"] == "cp949"
    assert [row[4] for row in read_rejects(rejects, "cp949", b"")[1:]] == ["3"]
    utf16 = pipe(
        ["import", "slots", "-", "--json"],
        csv_bytes([SLOT_HEADER, ["부산", "얀센", future(), "1"]], "utf-16-le", codecs.BOM_UTF16_LE),
    )
    assert utf16.returncode == 0, utf16.stderr
    assert json.loads(utf16.stdout)["encoding"] == "utf-16"


@pytest.mark.one_backend
def test_standard_input_past_what_is_kept_asks_for_the_encoding(db_path):
    """4 MiB of UTF-8 rows, then a CP949 line: standard input cannot be read again; exit 2."""
    note = "x" * 9_000
    rows = [f"{future()},Clinic {n},Janssen,1,{note}" for n in range(480)]
    data = (
        "date,hospital,vaccine,quantity,note\n" + "\n".join(rows) + "\n"
    ).encode() + f"{future()},서울,얀센,1,\n".encode("cp949")
    assert len(data) > 4 << 20
    result = pipe(["import", "slots", "-"], data)
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode() == (
        "Error: line 482 is not valid utf-8 and looks like Korean CP949 (EUC-KR), but standard input cannot be "
        "read again from the start past its first 4 MiB: pass --encoding cp949\n"
    )
    assert count_rows(db_path, "slot") == 0
    given_cp949 = pipe(["import", "slots", "-", "--encoding", "cp949", "--json"], data)
    assert given_cp949.returncode == 0, given_cp949.stderr
    assert json.loads(given_cp949.stdout)["created"] == 481


PREFIXES = [
    b"",
    b"date,hospital,vaccine,quantity\n",
    "접종일자,병원명,백신명,수량\n".encode("cp949"),
    codecs.BOM_UTF8 + b"user,date,hospital,vaccine\n",
    "date\thospital\tvaccine\tquantity\n".encode("utf-16"),
    codecs.BOM_UTF32_LE,
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefix=st.sampled_from(PREFIXES),
    body=st.binary(max_size=400),
    kind=st.sampled_from(["slots", "reservations"]),
    from_stdin=st.booleans(),
)
def test_any_bytes_give_an_exit_code_and_never_a_traceback(cli, tmp_path, sqlite_only, prefix, body, kind, from_stdin):
    data = prefix + body
    rejects = tmp_path / "fuzz-rejects.csv"
    options = ["--skip-invalid", "--rejects", str(rejects), "--force"]
    if from_stdin:
        result = cli("import", kind, "-", *options, input=data)
    else:
        path = tmp_path / "fuzz.csv"
        path.write_bytes(data)
        result = cli("import", kind, str(path), *options)
    assert result.exit_code in (0, 1, 2), result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if result.exit_code == 2:
        assert result.stderr.startswith("Error: ")


@pytest.mark.one_backend
def test_odd_encodings_given_are_refused_or_read_without_a_traceback(cli, tmp_path):
    path = tmp_path / "plan.csv"
    path.write_bytes(f"date,hospital,vaccine,quantity\n{future()},A,Janssen,1\n{future()},+2AA-,Janssen,1\n".encode())
    rot13 = cli("import", "slots", str(path), "--encoding", "rot13")
    assert (rot13.exit_code, rot13.stderr) == (2, "Error: unknown encoding 'rot13'; try utf-8 or cp949\n")
    # UTF-7 '+2AA-' is a lone surrogate, which no store holds: an invalid name like a control character.
    rejects = tmp_path / "rejects.csv"
    utf7 = cli(
        "import", "slots", str(path), "--encoding", "utf-7", "--skip-invalid", "--rejects", str(rejects), "--json"
    )
    assert utf7.exit_code == 1, utf7.stderr
    assert [(e["line"], e["column"]) for e in json.loads(utf7.stdout)["errors"]] == [(3, "hospital")]
    assert read_rejects(rejects, "utf-7", b"")[1][:2] == [future(), "\ud800"]
