"""Real `vaxres` processes against one SQLite file: no oversell, and a clear busy answer."""

import json
import sqlite3

import pytest
import subprocess
import time

from tests.helpers import VAXRES, count_rows, future, invariant_violations, run_vaxres

PROCESSES = 50
CAPACITY = 17


@pytest.mark.usefixtures("backend")
def test_fifty_processes_booking_one_slot_never_oversell(db_path, tmp_path):
    added = run_vaxres("slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "V", "--quantity", str(CAPACITY), "--json")
    assert added.returncode == 0, added.stderr
    slot_id = json.loads(added.stdout)["id"]

    # Generous lock wait: 50 interpreters start at once on 2 cores; the point here is correctness.
    env = {"VAXRES_BUSY_TIMEOUT": "60"}
    import os

    procs = [
        subprocess.Popen(
            [VAXRES, "reserve", "--user", f"user{n}", "--slot", str(slot_id), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        for n in range(PROCESSES)
    ]
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        outcomes.append((proc.returncode, out, err))

    codes = [code for code, _, _ in outcomes]
    assert codes.count(0) == CAPACITY, outcomes
    assert codes.count(1) == PROCESSES - CAPACITY, outcomes
    for code, out, err in outcomes:
        if code == 1:
            assert json.loads(err)["code"] == "sold_out"
            assert out == ""
    assert count_rows(db_path, "reservation", "status = 'reserved'") == CAPACITY
    assert count_rows(db_path, "slot", "remaining = 0") == 1
    assert count_rows(db_path, "outbox", "event = 'ReservationConfirmed'") == CAPACITY
    assert invariant_violations(db_path) == []


def test_reserve_exits_75_when_the_write_lock_is_held(db_path):
    added = run_vaxres("slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "V", "--quantity", "5")
    assert added.returncode == 0, added.stderr

    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        result = run_vaxres("reserve", "--user", "alice", "--slot", "1", env={"VAXRES_BUSY_TIMEOUT": "1"})
        waited = time.monotonic() - started
        as_json = run_vaxres("reserve", "--user", "alice", "--slot", "1", "--json", env={"VAXRES_BUSY_TIMEOUT": "0.2"})
    finally:
        holder.rollback()
        holder.close()

    assert result.returncode == 75, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        "Error: store busy, try again shortly: another vaxres held the write lock for more than 1 s, "
        "and nothing was written (VAXRES_BUSY_TIMEOUT sets the wait)\n"
    )
    assert waited >= 1
    assert as_json.returncode == 75
    assert json.loads(as_json.stderr)["code"] == "busy"
    assert count_rows(db_path, "reservation") == 0
    assert count_rows(db_path, "outbox", "event = 'ReservationConfirmed'") == 0
    assert count_rows(db_path, "slot", "remaining = 5") == 1

    after = run_vaxres("reserve", "--user", "alice", "--slot", "1")
    assert after.returncode == 0, after.stderr


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    import os

    fresh = tmp_path / "fresh.db"
    env = {**os.environ, "VAXRES_DB": str(fresh)}
    procs = [
        subprocess.Popen([VAXRES, "slot", "list", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(6)
    ]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    assert [code for code, _, _ in results] == [0] * 6, results
    assert all(json.loads(out) == [] for _, out, _ in results)
    with sqlite3.connect(fresh) as conn:
        assert conn.execute("SELECT COUNT(*) FROM alembic_version").fetchone() == (1,)
