"""Killing an import at any moment leaves a consistent store; running it again completes it."""

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import time

from tests.helpers import VAXRES, count_rows, future, invariant_violations, run_vaxres

SLOT_ROWS = 120_000
BOOKING_ROWS = 60_000
VACCINES = ("Pfizer", "모더나", "Janssen")  # catalog names and aliases, as a plan names them


def write_slots(path, rows: int) -> None:
    start = dt.date.today() + dt.timedelta(days=1)
    with open(path, "w") as out:
        out.write("date,hospital,vaccine,quantity\n")
        for n in range(rows):
            day = start + dt.timedelta(days=n % 300)
            out.write(f"{day.isoformat()},Hospital {n // 300},{VACCINES[n % 3]},{1 + n % 50}\n")


def kill_when(db_path, table: str, at_least: int, proc: subprocess.Popen, deadline: float = 120) -> int:
    """SIGKILL the import as soon as it has committed some rows, but before it is done."""
    stop = time.monotonic() + deadline
    while time.monotonic() < stop and proc.poll() is None:
        try:
            with sqlite3.connect(db_path, timeout=5) as conn:
                seen = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        except sqlite3.OperationalError:
            seen = 0
        if seen >= at_least:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return seen
        time.sleep(0.05)
    raise AssertionError(f"the import finished or stalled before it could be killed (exit {proc.poll()})")


def test_killed_slot_import_is_consistent_and_a_rerun_completes_it(tmp_path, db_path):
    plan = tmp_path / "plan.csv"
    write_slots(plan, SLOT_ROWS)
    proc = subprocess.Popen(
        [VAXRES, "import", "slots", str(plan)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    kill_when(db_path, "slot", 5_000, proc)

    slots = count_rows(db_path, "slot")
    assert 0 < slots < SLOT_ROWS
    assert count_rows(db_path, "outbox", "event = 'SlotRegistered'") == slots
    assert invariant_violations(db_path) == []

    rerun = run_vaxres("import", "slots", str(plan), "--json", timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert count_rows(db_path, "slot") == SLOT_ROWS
    assert count_rows(db_path, "outbox", "event = 'SlotRegistered'") == SLOT_ROWS
    assert invariant_violations(db_path) == []


def test_killed_reservation_import_is_consistent_and_a_rerun_completes_it(tmp_path, db_path):
    """Half the rows are dose 2, each after its person's dose 1 row (blocks of 1,000 people:
    their dose 1 rows, then their dose 2 rows 21 days later), so a kill can fall between them."""
    for day in (future(), future(28)):
        for hospital in ("A", "B", "C"):
            added = run_vaxres(
                "slot", "add", "--date", day, "--hospital", hospital, "--vaccine", "Pfizer", "--quantity", "30000"
            )
            assert added.returncode == 0
    people = BOOKING_ROWS // 2
    bookings = tmp_path / "bookings.csv"
    with open(bookings, "w") as out:
        out.write("user,date,hospital,vaccine,dose\n")
        for block in range(0, people, 1_000):
            for dose, day in ((1, future()), (2, future(28))):
                for n in range(block, min(block + 1_000, people)):
                    out.write(f"user{n},{day},{'ABC'[n % 3]},Pfizer,{dose}\n")
    proc = subprocess.Popen(
        [VAXRES, "import", "reservations", str(bookings)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    kill_when(db_path, "reservation", 2_000, proc)

    booked = count_rows(db_path, "reservation")
    assert 0 < booked < BOOKING_ROWS
    assert count_rows(db_path, "outbox", "event = 'ReservationConfirmed'") == booked
    assert invariant_violations(db_path) == []

    rerun = run_vaxres("import", "reservations", str(bookings), "--json", timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert count_rows(db_path, "reservation") == BOOKING_ROWS
    assert count_rows(db_path, "reservation", "status = 'reserved'") == BOOKING_ROWS
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(DISTINCT user_id) FROM reservation").fetchone()[0] == people
        assert conn.execute("SELECT COUNT(*) FROM reservation WHERE dose = 2").fetchone()[0] == people
    assert count_rows(db_path, "outbox", "event = 'ReservationConfirmed'") == BOOKING_ROWS
    assert invariant_violations(db_path) == []
