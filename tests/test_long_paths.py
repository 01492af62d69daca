"""Paths too long for the file system (a name over NAME_MAX, a whole path over PATH_MAX), given to
any option that takes a path: one line on stderr naming the option, exit 2, nothing written
(vaxres/paths.py). Every path option is listed here; a new one belongs in PATH_OPTIONS."""

import os

import pytest

from tests.helpers import future, run_vaxres, snapshot

LONG = "a" * 300  # one name: over NAME_MAX (255 on every file system the tests run on)


def _plan(tmp_path):
    """A CSV with one valid and one invalid row, so that --skip-invalid writes --rejects."""
    plan = tmp_path / "plan.csv"
    plan.write_text(f"date,hospital,vaccine,quantity\n{future()},Seoul,Pfizer,3\n{future()},Seoul,Pfizer,none\n")
    return plan


def _bookings(tmp_path):
    plan = tmp_path / "bookings.csv"
    plan.write_text(f"user,date,hospital,vaccine\nkim,{future()},Seoul,Pfizer\nlee,someday,Seoul,Pfizer\n")
    return plan


# (the option the error names, the command line with {long} where the long path goes, environment)
PATH_OPTIONS = [
    ("--db", ["--db", "{long}/x.db", "slot", "list"], {}),
    (
        "--db",
        [
            "--db",
            "{long}.db",
            "slot",
            "add",
            "--date",
            future(),
            "--hospital",
            "H",
            "--vaccine",
            "Pfizer",
            "--quantity",
            "1",
        ],
        {},
    ),
    (
        "VAXRES_DB",
        ["slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Pfizer", "--quantity", "1"],
        {"VAXRES_DB": "{long}.db"},
    ),
    ("the default store path (XDG_DATA_HOME)", ["slot", "list"], {"VAXRES_DB": None, "XDG_DATA_HOME": "{long}"}),
    ("FILE", ["import", "slots", "{long}.csv"], {}),
    ("FILE", ["import", "reservations", "{long}.csv"], {}),
    ("--rejects", ["import", "slots", "{plan}", "--skip-invalid", "--rejects", "{long}.csv"], {}),
    ("--rejects", ["import", "reservations", "{bookings}", "--skip-invalid", "--rejects", "{long}.csv", "--force"], {}),
    ("--output", ["export", "slots", "--output", "{long}.csv"], {}),
    ("--output", ["export", "outbox", "--output", "{long}.csv", "--force"], {}),
    ("--html", ["report", "--html", "{long}.html"], {}),
    ("--to", ["outbox", "deliver", "--to", "{long}.jsonl"], {}),
    ("--to", ["outbox", "deliver", "--to", "file:{long}"], {}),
    ("TARGET", ["db", "copy", "{long}.db"], {}),
    ("--db", ["--db", "{long}.db", "demo"], {}),
]


def _files(folder) -> dict[str, bytes]:
    """Every file under `folder` and its bytes, but SQLite's -wal and -shm: any command that reads
    the store makes them (the store's rows are compared by _run)."""
    found = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            if name.endswith(("-wal", "-shm")):
                continue
            path = os.path.join(root, name)
            with open(path, "rb") as file:
                found[os.path.relpath(path, folder)] = file.read()
    return found


def _run(cli, tmp_path, monkeypatch, argv, env, long):
    values = {"long": str(long), "plan": str(_plan(tmp_path)), "bookings": str(_bookings(tmp_path))}
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value.format(**values))
    before, rows = _files(tmp_path), snapshot(tmp_path / "vaxres.db")
    result = cli(*(arg.format(**values) for arg in argv))
    assert _files(tmp_path) == before, "no file is made or changed"
    assert snapshot(tmp_path / "vaxres.db") == rows, "the store is unchanged"
    return result


@pytest.mark.parametrize(("option", "argv", "env"), PATH_OPTIONS, ids=[" ".join(a[:3]) for _, a, _ in PATH_OPTIONS])
def test_a_name_too_long_is_one_line_naming_the_option(cli, tmp_path, monkeypatch, option, argv, env):
    result = _run(cli, tmp_path, monkeypatch, argv, env, tmp_path / LONG)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"Error: {option}: the path is too long (a name has ")
    assert result.stderr.endswith("here); choose a shorter path\n") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("option", "argv", "env"), PATH_OPTIONS, ids=[" ".join(a[:3]) for _, a, _ in PATH_OPTIONS])
def test_a_whole_path_too_long_is_one_line_naming_the_option(cli, tmp_path, monkeypatch, option, argv, env):
    deep = tmp_path.joinpath(*["b" * 200] * 25)  # every name fits, the whole does not (over PATH_MAX, 4096)
    result = _run(cli, tmp_path, monkeypatch, argv, env, deep)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"Error: {option}: the path is too long (")
    assert result.stderr.endswith(" bytes, at most 4,095 here); choose a shorter path\n")


@pytest.mark.parametrize(("option", "argv", "env"), PATH_OPTIONS, ids=[" ".join(a[:3]) for _, a, _ in PATH_OPTIONS])
def test_a_limit_the_file_system_hides_is_caught_where_the_path_is_used(cli, tmp_path, monkeypatch, option, argv, env):
    """The safety net: a file system that says it holds longer names than it does (os.pathconf
    made to answer a million) still gets one line, from the ENAMETOOLONG of the call that uses it."""
    from vaxres import paths

    monkeypatch.setattr(paths, "_limit", lambda _folder, _name, _fallback: 1_000_000)
    result = _run(cli, tmp_path, monkeypatch, argv, env, tmp_path / LONG)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"Error: {option}: the path is too long for this file system; choose a shorter path\n"


def test_the_texts(cli, tmp_path):
    """Pinned: the name's length in characters, or in bytes when they differ; a store's name
    leaves room for SQLite's -journal beside it."""
    add = ["slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Pfizer", "--quantity", "1"]
    assert cli("--db", str(tmp_path / LONG / "x.db"), *add).stderr == (
        "Error: --db: the path is too long (a name has 300 characters, at most 255 here); choose a shorter path\n"
    )
    assert cli("--db", str(tmp_path / ("s" * 250)), *add).stderr == (
        "Error: --db: the path is too long (a name has 250 characters, at most 247 here); choose a shorter path\n"
    )
    assert cli("export", "slots", "--output", str(tmp_path / ("가" * 100))).stderr == (
        "Error: --output: the path is too long (a name has 300 bytes, at most 255 here); choose a shorter path\n"
    )
    assert cli("report", "--html", str(tmp_path / LONG), "--json").stderr == (
        '{"error": "--html: the path is too long (a name has 300 characters, at most 255 here); choose a shorter '
        'path", "code": "path_too_long"}\n'
    )


def test_names_up_to_the_limit_still_work(cli, tmp_path):
    """255 characters is a name the system holds: the export's temporary file beside it keeps a
    shorter one, and a store of 247 still has room for its journal."""
    name = "e" * 255
    assert cli("export", "slots", "--output", str(tmp_path / name)).exit_code == 0
    assert (tmp_path / name).read_text().startswith("date,hospital,vaccine,quantity")
    store = tmp_path / ("s" * 247)
    result = cli(
        "--db",
        str(store),
        "slot",
        "add",
        "--date",
        future(),
        "--hospital",
        "H",
        "--vaccine",
        "Pfizer",
        "--quantity",
        "1",
    )
    assert result.exit_code == 0, result.stderr
    assert store.exists()


def test_real_processes_print_no_traceback(tmp_path):
    long = str(tmp_path / LONG)
    for argv, option, size in [
        (["--db", f"{long}/x.db", "slot", "list"], "--db", 300),
        (["report", "--html", f"{long}.html"], "--html", 305),
        (["outbox", "deliver", "--to", f"{long}.jsonl"], "--to", 306),
        (["export", "reservations", "--output", f"{long}.csv"], "--output", 304),
    ]:
        result = run_vaxres(*argv)
        assert (result.returncode, result.stdout) == (2, "")
        assert result.stderr == (
            f"Error: {option}: the path is too long (a name has {size} characters, at most 255 here); choose a shorter path\n"
        )
    assert sorted(os.listdir(tmp_path)) == ["vaxres.db"]
