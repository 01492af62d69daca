"""`vaxres import`: what it reads has bounds (issue 11, item 1).

A line is read at most 1 MiB at a time, a value is at most 10,000 characters, a row (whose quoted
values may span lines) at most 1 MiB of characters: a file beyond a bound stops with exit 2 naming
the line, quickly and in little memory, and writes nothing. The memory tests run a real vaxres
under a 1 GiB address-space limit (RLIMIT_AS), fed by files or by endless generators on stdin.
"""

import json
import os
import resource
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import VAXRES, count_rows, future

pytestmark = pytest.mark.usefixtures("backend")

HEADER = "date,hospital,vaccine,quantity\n"
ADDRESS_SPACE = 1 << 30  # 1 GiB: the old reader went past it on /dev/zero (12 GB)
MIB = 1 << 20
LONG_LINE = "is longer than 1,048,576 {unit}, the most vaxres reads as one line (a value holds at most 10,000 characters); is this a CSV file?"


def too_long(line: int, unit: str = "bytes") -> str:
    return f"Error: line {line} " + LONG_LINE.format(unit=unit) + "\n"


@pytest.fixture(autouse=True)
def store_ready(cli):
    """Create the store first, so that "nothing written" is counted in a store that exists."""
    assert cli("slot", "list").exit_code == 0


def nothing_written(db_path) -> bool:
    return count_rows(db_path, "slot") == 0 and count_rows(db_path, "outbox") == 0


def limited_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_limited(args: list[str], tmp_path: Path, chunks: Iterator[bytes] | None = None, timeout: float = 60):
    """Run vaxres under RLIMIT_AS, stdin fed from `chunks` (until vaxres stops reading):
    (exit code, stderr, bytes vaxres was handed)."""
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [VAXRES, *args],
            stdin=subprocess.PIPE if chunks is not None else subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            preexec_fn=limited_address_space,
        )
        written = 0

        def feed():
            nonlocal written
            try:
                for chunk in chunks:
                    process.stdin.write(chunk)
                    written += len(chunk)
                process.stdin.close()
            except (BrokenPipeError, ValueError, OSError):
                pass  # vaxres stopped reading and exited

        feeder = threading.Thread(target=feed, daemon=True)
        if chunks is not None:
            feeder.start()
        try:
            code = process.wait(timeout=timeout)
        finally:
            process.kill()
            process.wait()
        if chunks is not None:
            feeder.join(timeout=10)
    return code, err.read_text(errors="replace"), written


@pytest.mark.one_backend
def test_a_long_line_without_a_newline_stops_at_once_naming_it(cli, tmp_path, db_path):
    path = tmp_path / "plan.csv"
    path.write_bytes(HEADER.encode() + b"x" * (5 * MIB))
    started = time.monotonic()
    result = cli("import", "slots", str(path))
    assert time.monotonic() - started < 5
    assert result.exit_code == 2
    assert result.stderr == too_long(2)
    assert nothing_written(db_path)


def test_valid_rows_before_the_long_line_are_not_written(cli, tmp_path, db_path):
    path = tmp_path / "plan.csv"
    path.write_bytes(f"{HEADER}{future()},Seoul,Pfizer,3\n\n".encode() + b"x" * (2 * MIB) + b"\n")
    result = cli("import", "slots", str(path), "--json")
    assert result.exit_code == 2
    assert json.loads(result.stderr) == {"error": too_long(4)[len("Error: ") : -1], "code": "invalid_input"}
    assert nothing_written(db_path)


@pytest.mark.one_backend
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize(
    ("encoding", "unit"), [(None, "bytes"), ("utf-16-le", "characters"), ("utf-32-le", "characters")]
)
def test_dev_zero_stops_at_the_first_line_in_bounded_memory(tmp_path, db_path, encoding, unit):
    args = ["import", "slots", "/dev/zero"] + (["--encoding", encoding] if encoding else [])
    code, stderr, _ = run_limited(args, tmp_path)
    assert (code, stderr) == (2, too_long(1, unit))
    assert nothing_written(db_path)


@pytest.mark.one_backend
@pytest.mark.parametrize(("encoding", "unit"), [("utf-8", "bytes"), ("utf-16", "characters")])
def test_standard_input_with_an_endless_line_stops_in_bounded_memory(tmp_path, db_path, encoding, unit):
    def endless_line():
        yield HEADER.encode(encoding)  # utf-16: with its byte-order mark
        chunk = "x".encode("utf-16-le" if encoding == "utf-16" else encoding) * MIB
        for _ in range(4096):  # 4 GiB or more, if it were all read
            yield chunk

    code, stderr, written = run_limited(["import", "slots", "-", "--encoding", encoding], tmp_path, endless_line())
    assert (code, stderr) == (2, too_long(2, unit))
    assert written < 16 * MIB  # it stopped reading soon after the bound
    assert nothing_written(db_path)


def short_lines() -> Iterator[bytes]:
    row = f"{future()},Seoul,Pfizer,3\n".encode()
    while True:
        yield row * 1000


@pytest.mark.one_backend
def test_a_quote_left_open_stops_at_the_value_limit(tmp_path, db_path):
    """The csv module joins the lines of a quoted value; its field limit is checked character by
    character, so an open quote before endless short lines stops after 10,000 characters."""

    def open_quote():
        yield f'{HEADER}{future()},"Seoul,Pfizer,3\n'.encode()  # the quote opens on line 2
        yield from short_lines()

    code, stderr, written = run_limited(["import", "slots", "-"], tmp_path, open_quote())
    # The value holds 'Seoul,Pfizer,3\n' (15 characters) and then 26 per line: line 387 passes 10,000.
    assert (code, stderr) == (
        2,
        "Error: line 2: a value in the row starting here is longer than 10,000 characters "
        "(read up to line 387); is a quote left open?\n",
    )
    assert written < 16 * MIB
    assert nothing_written(db_path)


@pytest.mark.one_backend
def test_a_row_of_endless_quoted_values_stops_at_the_row_limit(tmp_path, db_path):
    """Each value is short, but the quotes never leave the row: '"a' then '","b' on every line makes
    one row of ever more values, which the csv module would hold all at once."""

    def endless_row():
        yield f'{HEADER}{future()},Seoul,Pfizer,3\n"a\n'.encode()  # line 3 opens the row
        while True:
            yield b'","b\n' * 10_000

    code, stderr, written = run_limited(["import", "slots", "-"], tmp_path, endless_row())
    # 3 characters on line 3, then 5 a line: line 209718 passes 1,048,576.
    assert (code, stderr) == (
        2,
        "Error: line 3: the row starting here is longer than 1,048,576 characters "
        "(read up to line 209718); is a quote left open?\n",
    )
    assert written < 16 * MIB
    assert nothing_written(db_path)


@pytest.mark.one_backend
def test_a_quote_left_open_in_the_header(cli, tmp_path, db_path):
    path = tmp_path / "plan.csv"
    path.write_text('\n"date,hospital,vaccine,quantity\n' + f"{future()},Seoul,Pfizer,3\n" * 1000)
    result = cli("import", "slots", str(path))
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: line 2: a value in the row starting here is longer than 10,000 characters "
        "(read up to line 386); is a quote left open?\n"
    )
    assert nothing_written(db_path)


@pytest.mark.one_backend
def test_a_value_over_10000_characters_on_one_line(cli, tmp_path, db_path):
    path = tmp_path / "plan.csv"
    path.write_text(f"{HEADER.strip()},note\n{future()},Seoul,Pfizer,3,{'n' * 10_001}\n")
    result = cli("import", "slots", str(path))
    assert result.exit_code == 2
    assert result.stderr == "Error: line 2: a value is longer than 10,000 characters\n"
    assert nothing_written(db_path)


def test_a_row_with_three_values_of_9000_characters_imports(cli, tmp_path, db_path):
    """Long values in extra columns (a hospital name is at most 200 characters), one of them
    quoted across lines: well within the bounds."""
    long = "n" * 9_000
    spanning = "\n".join(["m" * 899] * 9) + "\n" + "m" * 899  # 9,000 characters on 10 lines
    path = tmp_path / "plan.csv"
    path.write_text(
        f"{HEADER.strip()},note1,note2,note3\n"
        f'{future()},Seoul,Pfizer,3,{long},"{spanning}",{long}\n'
        f"{future(2)},Busan,Moderna,2,,,\n"
    )
    result = cli("import", "slots", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["created"] == 2
    assert count_rows(db_path, "slot") == 2


@pytest.mark.one_backend
def test_utf16_without_a_byte_order_mark_is_refused(cli, tmp_path, db_path):
    path = tmp_path / "plan.csv"
    path.write_bytes(HEADER.encode("utf-16-le"))
    result = cli("import", "slots", str(path), "--encoding", "utf-16")
    assert result.exit_code == 2
    assert result.stderr == "Error: the file is not valid utf-16: UTF-16 stream does not start with BOM\n"
    assert nothing_written(db_path)
