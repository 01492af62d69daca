"""Real `vaxres` processes against one SQLite file: no oversell, and a clear busy answer."""

import json
import sqlite3
import subprocess
import time

import pytest

from tests.helpers import VAXRES, count_rows, future, invariant_violations, query, run_vaxres

PROCESSES = 50
CAPACITY = 17


@pytest.mark.usefixtures("backend")
def test_fifty_processes_booking_one_slot_never_oversell(db_path, tmp_path):
    added = run_vaxres(
        "slot",
        "add",
        "--date",
        future(),
        "--hospital",
        "H",
        "--vaccine",
        "Janssen",
        "--quantity",
        str(CAPACITY),
        "--json",
    )
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
    added = run_vaxres("slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Janssen", "--quantity", "5")
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
        subprocess.Popen(
            [
                VAXRES,
                "slot",
                "add",
                "--date",
                future(),
                "--hospital",
                f"H{n}",
                "--vaccine",
                "Janssen",
                "--quantity",
                "1",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(6)
    ]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    assert [code for code, _, _ in results] == [0] * 6, results
    assert sorted(json.loads(out)["hospital"] for _, out, _ in results) == [f"H{n}" for n in range(6)]
    # One process made the file and says so; the others found it made.
    assert [err.startswith(f"Created the store {fresh}") for _, _, err in results].count(True) == 1
    with sqlite3.connect(fresh) as conn:
        assert conn.execute("SELECT COUNT(*) FROM alembic_version").fetchone() == (1,)


RESCHEDULERS = 50
TARGET_DOSES = 10
CANCEL_OTHERS = 14  # cancels of people who are not rescheduling
CANCEL_OVERLAPS = 6  # cancels racing the reschedule of the same booking
TAKES_A_DOSE = "('reserved', 'administered', 'no_show')"


def _dose_invariant_violations(db) -> list[tuple]:
    """Slots where capacity != remaining + reservations holding a dose (reserved, administered,
    no_show); tests.helpers.invariant_violations counts 'reserved' only."""
    return query(
        db,
        f"""
        SELECT s.id, s.capacity, s.remaining, COUNT(r.id)
        FROM slot s LEFT JOIN reservation r ON r.slot_id = s.id AND r.status IN {TAKES_A_DOSE}
        GROUP BY s.id, s.capacity, s.remaining
        HAVING s.capacity != s.remaining + COUNT(r.id)
        """,
    )


@pytest.mark.usefixtures("backend")
def test_fifty_reschedules_into_one_slot_racing_cancels_keep_the_invariant(db_path, store):
    """50 real `vaxres reschedule` processes move dose 1 into one 10-dose slot while 20 `vaxres
    cancel` processes cancel other bookings, 6 of them the very bookings being moved."""
    import os
    import random

    from vaxres.booking.reservations import reserve
    from vaxres.booking.slots import add_slot

    people = RESCHEDULERS + CANCEL_OTHERS
    sources = [
        add_slot(store, date=future(7 + n), hospital="Source", vaccine="Janssen", quantity=30).id for n in range(3)
    ]
    target = add_slot(store, date=future(14), hospital="Target", vaccine="Janssen", quantity=TARGET_DOSES).id
    booked = [reserve(store, user=f"person{n}", slot_id=sources[n % len(sources)]) for n in range(people)]
    store.dispose()
    source_of = {b.id: b.slot_id for b in booked}
    movers = [b.id for b in booked[:RESCHEDULERS]]
    overlaps = set(random.Random(10).sample(movers, CANCEL_OVERLAPS))
    cancelled_ids = [b.id for b in booked[RESCHEDULERS:]] + sorted(overlaps)

    commands = [
        ("reschedule", rid, [VAXRES, "reschedule", str(rid), "--slot", str(target), "--json"]) for rid in movers
    ]
    commands += [("cancel", rid, [VAXRES, "cancel", str(rid), "--json"]) for rid in cancelled_ids]
    random.Random(75).shuffle(commands)

    # Generous lock wait, as above: 70 interpreters start at once on 2 cores.
    env = {**os.environ, "VAXRES_BUSY_TIMEOUT": "60"}
    started = [
        (kind, rid, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
        for kind, rid, argv in commands
    ]
    outcomes = []
    for kind, rid, proc in started:
        out, err = proc.communicate(timeout=300)
        outcomes.append((kind, rid, proc.returncode, out, err))

    assert {code for _, _, code, _, _ in outcomes} <= {0, 1, 75}, outcomes
    moved, refused, busy = set(), {}, []
    for kind, rid, code, out, err in outcomes:
        if code == 75:
            assert out == "" and json.loads(err)["code"] == "busy", (kind, rid, out, err)
            busy.append((kind, rid))
        elif kind == "reschedule" and code == 0:
            assert err == "", (rid, err)
            result = json.loads(out)
            assert (result["id"], result["slot_id"], result["previous_slot_id"]) == (rid, target, source_of[rid]), (
                result
            )
            assert result["status"] == "reserved", result
            moved.add(rid)
        elif kind == "reschedule":
            assert out == "", (rid, out)
            refused[rid] = json.loads(err)["code"]  # exactly one JSON object, nothing else
        else:
            assert code == 0, (kind, rid, code, out, err)  # nobody else cancels it, and a move keeps it reserved
            result = json.loads(out)
            assert (result["id"], result["status"], result["also_cancelled"]) == (rid, "cancelled", []), result
            assert result["slot_id"] in (source_of[rid], target), result
    for rid, code in refused.items():
        assert code == "sold_out" or (
            rid in overlaps and code in ("already_cancelled", "not_reserved", "changed_meanwhile")
        ), (rid, code)

    # Every reservation still exists, in the state its processes left it.
    rows = {
        rid: (slot_id, status) for rid, slot_id, status in query(db_path, "SELECT id, slot_id, status FROM reservation")
    }
    assert len(rows) == people
    cancel_ok = {rid for kind, rid, code, _, _ in outcomes if kind == "cancel" and code == 0}
    for rid, (slot_id, status) in rows.items():
        assert status == ("cancelled" if rid in cancel_ok else "reserved"), (rid, slot_id, status)
        assert slot_id == (target if rid in moved else source_of[rid]), (rid, slot_id, status, rid in moved)

    # The target: never below zero, and exactly its capacity less the doses held in it.
    ((capacity, remaining),) = query(db_path, "SELECT capacity, remaining FROM slot WHERE id = :id", {"id": target})
    held = query(
        db_path, f"SELECT COUNT(*) FROM reservation WHERE slot_id = :id AND status IN {TAKES_A_DOSE}", {"id": target}
    )
    assert remaining >= 0
    assert remaining == capacity - held[0][0]
    # The first ten moves always fit; beyond them, only doses freed by a cancel in the target.
    freed = sum(1 for rid in moved if rid in cancel_ok)
    assert len(moved) == TARGET_DOSES - remaining + freed
    if not busy:
        assert len(moved) >= TARGET_DOSES
    assert _dose_invariant_violations(db_path) == []
    assert (
        query(
            db_path,
            "SELECT user_id, dose, COUNT(*) FROM reservation WHERE status IN ('reserved', 'administered') "
            "GROUP BY user_id, dose HAVING COUNT(*) > 1",
        )
        == []
    )

    # The outbox: one message per change that happened, in the order the changes committed.
    events = query(
        db_path,
        "SELECT id, event, correlation_id, payload FROM outbox "
        "WHERE event IN ('ReservationRescheduled', 'ReservationCancelled') ORDER BY id",
    )
    rescheduled = [
        (rid, json.loads(p) if isinstance(p, str) else p) for _, e, rid, p in events if e == "ReservationRescheduled"
    ]
    cancelled = [
        (rid, json.loads(p) if isinstance(p, str) else p) for _, e, rid, p in events if e == "ReservationCancelled"
    ]
    assert sorted(rid for rid, _ in rescheduled) == sorted(moved)
    assert sorted(rid for rid, _ in cancelled) == sorted(cancel_ok)
    assert len(cancelled) == sum(1 for _, status in rows.values() if status == "cancelled")
    for rid, payload in rescheduled:
        assert (payload["slot_id"], payload["previous_slot_id"]) == (target, source_of[rid]), payload
    written = {(event, rid): outbox_id for outbox_id, event, rid, _ in events}
    for rid, payload in cancelled:
        # A cancel that committed after the move returned the dose to the target, not the old slot.
        moved_at = written.get(("ReservationRescheduled", rid))
        moved_first = moved_at is not None and moved_at < written[("ReservationCancelled", rid)]
        assert payload["slot_id"] == (target if moved_first else source_of[rid]), (rid, payload, moved_first)
    assert count_rows(db_path, "outbox", "event = 'ReservationConfirmed'") == people
