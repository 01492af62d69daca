"""Hostile input and broken stores (issue 11, items 7, 11 and 12): one line and a documented exit
code, never a traceback; nothing a name or a path holds reaches the terminal or a spreadsheet raw."""

import csv
import json
import sqlite3

import pytest

from tests.helpers import count_rows, future, mounted_tmpfs, run_vaxres


def test_a_file_that_is_not_a_store_is_unusable_not_a_traceback(cli, tmp_path):
    other = tmp_path / "plan.csv"
    other.write_text("date,hospital,vaccine,quantity\n")
    result = cli("--db", str(other), "slot", "list")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {other} is not a usable SQLite store (file is not a database); check it with "
        f"`sqlite3 {other} 'PRAGMA integrity_check'`, or restore a backup\n"
    )
    assert json.loads(cli("--db", str(other), "slot", "list", "--json").stderr)["code"] == "store_unusable"


def test_a_truncated_store_is_unusable(tmp_path):
    good = tmp_path / "good.db"
    assert run_vaxres("--db", str(good), "db", "upgrade").returncode == 0
    broken = tmp_path / "broken.db"
    broken.write_bytes(good.read_bytes()[:100])
    result = run_vaxres("--db", str(broken), "reserve", "--user", "kim", "--slot", "1")
    assert result.returncode == 2
    assert "is not a usable SQLite store" in result.stderr and "PRAGMA integrity_check" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_a_read_only_store_is_unusable_not_busy(tmp_path):
    """As root the file system does not refuse writes, so the store's own answer is checked."""
    from sqlalchemy.exc import OperationalError

    from vaxres.db.opening import open_store
    from vaxres.errors import StoreUnusable

    store = open_store(str(tmp_path / "v.db"))
    error = OperationalError("INSERT", {}, sqlite3.OperationalError("attempt to write a readonly database"))
    refused = store._cannot_use(error)
    assert isinstance(refused, StoreUnusable) and refused.exit_code == 2
    assert "check the permissions of the file and of its folder" in refused.message


@pytest.mark.parametrize("name", ["Se\u202eoul", "Seo\u200bul", "\ufeffSeoul", "Seoul\u2066"])
def test_invisible_and_direction_characters_in_names_are_refused(cli, db_path, name):
    args = ["slot", "add", "--date", future(), "--hospital", name, "--vaccine", "Janssen", "--quantity", "1"]
    result = cli(*args)
    assert result.exit_code == 2
    assert "must not contain invisible or text-direction characters" in result.stderr
    assert name not in result.stderr  # shown escaped
    cli.json("slot", "add", "--date", future(), "--hospital", "Seoul", "--vaccine", "Janssen", "--quantity", "1")
    assert cli("reserve", "--user", name, "--slot", "1").exit_code == 2
    assert count_rows(db_path, "reservation") == 0


def test_escape_sequences_in_paths_are_shown_escaped(cli, tmp_path):
    path = str(tmp_path / "\x1b[31mplan.csv")
    result = cli("import", "slots", path)
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\\x1b[31mplan.csv" in result.stderr


def test_formulas_in_rejected_rows_do_not_run_in_a_spreadsheet(cli, tmp_path):
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "date,hospital,vaccine,quantity\n"
        f"{future()},=cmd|' /C calc'!A0,Janssen,many\n"
        f"{future()},@SUM(1+1),Janssen,-3\n"
        f'{future()},+HYPERLINK("http://evil.example"),Janssen,x\n'
    )
    rejects = tmp_path / "rejects.csv"
    assert cli("import", "slots", str(plan), "--rejects", str(rejects)).exit_code == 2
    rows = list(csv.reader(rejects.open()))
    assert [row[1] for row in rows[1:]] == ["'=cmd|' /C calc'!A0", "'@SUM(1+1)", '\'+HYPERLINK("http://evil.example")']
    assert [row[3] for row in rows[1:]] == ["many", "'-3", "x"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_the_rejects_file_is_private_new_and_never_a_link(cli, tmp_path):
    import os
    import stat

    plan = tmp_path / "plan.csv"
    plan.write_text(f"date,hospital,vaccine,quantity\n{future()},Seoul,Janssen,none\n")
    rejects = tmp_path / "rejects.csv"
    assert cli("import", "slots", str(plan), "--rejects", str(rejects)).exit_code == 2
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    first = rejects.read_text()

    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    again = cli("import", "slots", str(plan), "--rejects", str(precious), "--json")
    assert again.exit_code == 2
    assert json.loads(again.stderr) == {
        "error": f"--rejects {precious} already exists; name a new file, or pass --force to replace it",
        "code": "file_exists",
    }
    assert precious.read_text() == "keep me"
    assert cli("import", "slots", str(plan), "--rejects", str(precious), "--force").exit_code == 2
    assert precious.read_text() == first and stat.S_IMODE(precious.stat().st_mode) == 0o600

    target = tmp_path / "target.txt"
    target.write_text("not yours")
    link = tmp_path / "link.csv"
    os.symlink(target, link)
    for extra in ([], ["--force"]):
        result = cli("import", "slots", str(plan), "--rejects", str(link), *extra)
        assert result.exit_code == 2 and "is a symbolic link" in result.stderr
    assert target.read_text() == "not yours"


@pytest.mark.parametrize("kind", ["slots", "reservations"])
def test_a_pipe_is_never_the_rejects_file_even_with_force(tmp_path, kind):
    """Only a regular file is replaced, as export --output: --force on a FIFO used to wait for a
    reader forever (or, with one, write into it). Real processes: a hang fails on the timeout
    (a generous one: a loaded machine starts them slowly)."""
    import os
    import stat

    plan = tmp_path / "plan.csv"
    if kind == "slots":
        plan.write_text(f"date,hospital,vaccine,quantity\n{future()},Seoul,Janssen,none\n")
    else:
        plan.write_text("user,date,hospital,vaccine\nkim,someday,Seoul,Pfizer\n")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    for extra in (["--force"], ["--force", "--skip-invalid"], []):
        result = run_vaxres("import", kind, str(plan), "--rejects", str(pipe), *extra, timeout=90)
        assert (result.returncode, result.stdout) == (2, "")
        assert result.stderr == f"Error: --rejects {pipe} is not a regular file; name a file\n"
        assert stat.S_ISFIFO(pipe.lstat().st_mode)
    device = run_vaxres("import", kind, str(plan), "--rejects", "/dev/null", "--force", timeout=90)
    assert (device.returncode, device.stderr) == (2, "Error: --rejects /dev/null is not a regular file; name a file\n")


@pytest.fixture
def read_only_folder(tmp_path):
    """A tmpfs to remount read-only, when the tests run as root (root ignores permission bits)."""
    with mounted_tmpfs(tmp_path / "ro", "4m") as folder:
        yield folder


def test_a_store_in_a_read_only_folder_is_unusable_not_busy(read_only_folder):
    import subprocess

    store = read_only_folder / "v.db"
    assert run_vaxres("--db", str(store), "db", "upgrade").returncode == 0
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_folder)], check=True)
    result = run_vaxres(
        "--db",
        str(store),
        "slot",
        "add",
        "--date",
        future(),
        "--hospital",
        "H",
        "--vaccine",
        "Janssen",
        "--quantity",
        "1",
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"Error: {store} cannot be opened for writing (")
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
