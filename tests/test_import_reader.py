"""A large `import persons` reads and validates its file in a worker process (vaxres/imports/reader.py)
while the import's process stages the rows: real processes here, a file large enough to get the
worker, and the worker killed or the import interrupted halfway."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import VAXRES, count_rows, run_vaxres
from vaxres.imports import reader

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("sqlite_only")]

KEY = "a key for the tests that is long enough"


def number(n: int) -> str:
    return f"8{n % 10}{(n % 12) + 1:02d}{(n % 28) + 1:02d}-1{n:06d}"


@pytest.fixture(scope="module")
def large_file(tmp_path_factory) -> Path:
    """Just over the size that gets a worker: people with numbers, phones, e-mail addresses."""
    path = tmp_path_factory.mktemp("large") / "people.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("id,name,rrn,phone,email,lang\n")
        n = 0
        while out.tell() < reader.WORKER_MIN_BYTES + (1 << 20):
            out.write(
                f"p{n:07d},김민수,{number(n)},010-{'2346789'[n % 7]}{n % 1000:03d}-{n % 10000:04d},user{n}@example.com,ko\n"
            )
            n += 1
    return path


@pytest.fixture
def env(tmp_path) -> dict:
    environment = {"VAXRES_DB": str(tmp_path / "p.db"), "VAXRES_ID_KEY": KEY}
    assert run_vaxres("db", "upgrade", env=environment).returncode == 0
    return environment


def rows_of(path: Path) -> int:
    return path.read_text(encoding="utf-8").count("\n") - 1


def start_import(path: Path, env: dict) -> tuple[subprocess.Popen, int]:
    """`vaxres import persons` started, and the pid of its reader once it runs."""
    importing = subprocess.Popen(
        [VAXRES, "import", "persons", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
        start_new_session=True,  # its own process group: a Ctrl-C reaches it and its worker only
        # Ctrl-C as from a terminal: a suite started in the background (`cmd &` without job control)
        # ignores SIGINT, and Python then never turns it into KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for worker in children_of(importing.pid):
            if b"vaxres.imports.reader" in command_of(worker):  # past the fork, the worker itself
                return importing, worker
        assert importing.poll() is None, importing.communicate()
        time.sleep(0.01)
    importing.kill()
    raise AssertionError("no reader process started")


def command_of(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_a_large_file_is_read_by_a_worker_and_every_row_registered(large_file, env, tmp_path):
    importing, _worker = start_import(large_file, env)
    out, err = importing.communicate(timeout=300)
    assert importing.returncode == 0, err
    assert count_rows(tmp_path / "p.db", "person") == rows_of(large_file)
    assert children_of(importing.pid) == []
    blobs = [(tmp_path / "p.db").read_bytes(), out.encode(), err.encode()]
    for n in (0, 1, rows_of(large_file) - 1):
        assert not any(number(n).replace("-", "").encode() in blob or number(n).encode() in blob for blob in blobs)


def test_a_killed_worker_stops_the_import_saying_so_with_nothing_written(large_file, env, tmp_path):
    importing, worker = start_import(large_file, env)
    os.kill(worker, signal.SIGKILL)
    out, err = importing.communicate(timeout=120)
    assert importing.returncode == 75
    assert err == (
        "Error: the import's reader process was stopped by signal 9; nothing was written: run the same import again\n"
    )
    assert out == ""
    assert count_rows(tmp_path / "p.db", "person") == 0
    assert count_rows(tmp_path / "p.db", "outbox") == 0


def test_ctrl_c_stops_the_import_and_its_worker_with_nothing_written(large_file, env, tmp_path):
    importing, worker = start_import(large_file, env)
    time.sleep(0.3)  # into the reading
    os.killpg(importing.pid, signal.SIGINT)
    out, err = importing.communicate(timeout=120)
    assert importing.returncode == 130, err
    assert "Traceback" not in err
    assert not Path(f"/proc/{worker}").exists()  # stopped and waited for: not even a zombie
    assert count_rows(tmp_path / "p.db", "person") == 0
