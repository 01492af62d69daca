"""The copy written before a SQLite store's schema changes (issue 26, defect 3): a full copy of
personal data, so private from its first byte, never left half-written under its final name,
and an upgrade that cannot write it changes nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import time

import pytest

from tests.helpers import VAXRES, count_rows, future, mounted_tmpfs
from vaxres.db import migrate, revisions
from vaxres.db.opening import open_store

OLD = "0010"


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


def store_at_old_revision(cli, path, junk_mb: int = 0) -> None:
    """A store with a booking, written by the vaxres of revision 0010; `junk_mb` of padding makes its copy slow."""
    slot = cli.json(
        "--db",
        str(path),
        "slot",
        "add",
        "--date",
        future(),
        "--hospital",
        "Seoul",
        "--vaccine",
        "Pfizer",
        "--quantity",
        "2",
    )
    ok(cli("--db", str(path), "reserve", "--user", "kim", "--slot", str(slot["id"])))
    store = open_store(str(path))
    migrate.downgrade(store, OLD)
    store.dispose()
    if junk_mb:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            with conn:
                conn.execute("CREATE TABLE padding (b BLOB)")
                conn.executemany("INSERT INTO padding VALUES (randomblob(1048576))", [()] * junk_mb)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # into the file itself, which the tests copy


def copies(folder, path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith(path.name + ".") and ".bak" in name)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_backup_is_private_from_its_first_byte(cli, tmp_path, monkeypatch):
    """sqlite3 creates a file it opens with the process's umask (0644 here): the copy must exist as
    0600 before SQLite opens it to write."""
    path = tmp_path / "vaxres.db"
    store_at_old_revision(cli, path)
    os.umask(0o022)
    seen: list[int] = []
    real_connect = sqlite3.connect

    def watching(target, *args, **kwargs):
        connection = real_connect(target, *args, **kwargs)
        if ".bak" in os.fspath(target):
            seen.append(mode(target))
        return connection

    monkeypatch.setattr(sqlite3, "connect", watching)
    upgraded = ok(cli("db", "upgrade"))
    [backup] = copies(tmp_path, path)
    assert seen == [0o600]
    assert mode(tmp_path / backup) == 0o600
    assert backup.startswith(f"vaxres.db.{OLD}.") and backup.endswith(".bak")
    assert f"Backup: {tmp_path / backup}" in upgraded.stdout
    with sqlite3.connect(tmp_path / backup) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (OLD,)
        assert conn.execute("SELECT COUNT(*) FROM reservation").fetchone() == (1,)


@pytest.mark.slow
def test_a_copy_killed_midway_is_private_never_final_and_cleared_by_the_next_upgrade(cli, tmp_path):
    path = tmp_path / "vaxres.db"
    store_at_old_revision(cli, path, junk_mb=300)
    proc = subprocess.Popen(
        [VAXRES, "--db", str(path), "db", "upgrade"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    partial = None
    deadline = time.monotonic() + 60
    while partial is None and proc.poll() is None and time.monotonic() < deadline:
        partial = next((name for name in copies(tmp_path, path) if name.endswith(".part")), None)
    if partial is None:
        proc.kill()
        pytest.fail(f"the upgrade ended before its copy could be seen (exit {proc.wait()}); make the padding bigger")
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = copies(tmp_path, path)
    assert all(name.endswith(".bak.part") for name in left), left  # nothing partial under a final name
    assert [mode(tmp_path / name) for name in left] == [0o600] * len(left)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (OLD,)

    again = subprocess.run([VAXRES, "--db", str(path), "db", "upgrade"], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    [backup] = copies(tmp_path, path)
    assert backup.endswith(".bak") and mode(tmp_path / backup) == 0o600
    with sqlite3.connect(tmp_path / backup) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*) FROM padding").fetchone() == (300,)
    assert count_rows(path, "reservation") == 1


def test_an_upgrade_that_cannot_write_its_backup_changes_nothing(cli, tmp_path):
    """A full disk: the command that opened the store (here `slot list`, upgrading on open) stops with
    one line and exit 75, leaves no partial copy, and the store stays as it was."""
    with mounted_tmpfs(tmp_path / "small", "3m", otherwise="; the killed copy test covers the clean-up") as folder:
        store_at_old_revision(cli, tmp_path / "old.db", junk_mb=2)
        path = folder / "vaxres.db"
        shutil.copyfile(tmp_path / "old.db", path)
        result = subprocess.run([VAXRES, "--db", str(path), "slot", "list"], capture_output=True, text=True)
        assert (result.returncode, result.stdout) == (75, "")
        assert result.stderr.startswith(f"Error: could not write the backup {folder}/vaxres.db.{OLD}.")
        assert result.stderr.endswith(
            ".bak before upgrading (no space left on device); nothing was changed: "
            "free some space or fix the folder's permissions, then try again\n"
        )
        assert result.stderr.count("\n") == 1
        assert copies(folder, path) == []
        with contextlib.closing(sqlite3.connect(path)) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (OLD,)
        assert revisions.HEAD != OLD
