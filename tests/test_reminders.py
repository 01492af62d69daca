"""Reminders (`vaxres remind`): only reserved bookings within N days of the store's today, each
once per day and N however often it runs (a moved booking again for its new day), the message a
person reads, and real processes running it at once. Time moves with time-machine."""

import datetime as dt
import json
import os
import subprocess

import pytest

from tests.helpers import VAXRES, count_rows, future, query, run_vaxres, start_day

pytestmark = pytest.mark.usefixtures("backend")


def day(days: int) -> str:
    """start_day() + days, whatever the clock says after a move."""
    return (start_day() + dt.timedelta(days=days)).isoformat()


def add_slot(cli, days: int, hospital: str = "Seoul", vaccine: str = "Pfizer") -> int:
    return cli.json(
        "slot", "add", "--date", future(days), "--hospital", hospital, "--vaccine", vaccine, "--quantity", "9"
    )["id"]


def book(cli, user: str, slot: int) -> int:
    return cli.json("reserve", "--user", user, "--slot", str(slot))["id"]


def reminders(cli) -> list[dict]:
    return [m["payload"] for m in cli.json("outbox", "list", "--event", "ReservationReminder")]


def reminded(cli) -> list[tuple[int, str, int]]:
    """(reservation, day, days_left) of every reminder message, in the order written."""
    return [(p["reservation_id"], p["date"], p["days_left"]) for p in reminders(cli)]


def test_only_reserved_bookings_within_the_window_are_reminded_once(cli, db_path):
    today, tomorrow, later = add_slot(cli, 0), add_slot(cli, 1), add_slot(cli, 2)
    kim = book(cli, "kim", tomorrow)
    lee = book(cli, "lee", today)
    park = book(cli, "park", tomorrow)
    cli.json("cancel", str(park))
    choi = book(cli, "choi", today)
    cli.json("administer", str(choi))
    book(cli, "jung", later)  # the day after tomorrow: outside the default window

    first = cli("remind")
    assert (first.exit_code, first.stdout, first.stderr) == (0, f"Wrote 2 reminders for bookings up to {day(1)}.\n", "")
    assert sorted(reminded(cli)) == [(kim, day(1), 1), (lee, day(0), 0)]
    by_user = {p["user"]: p for p in reminders(cli)}
    assert by_user["kim"] == {
        "reservation_id": kim,
        "user": "kim",
        "dose": 1,
        "slot_id": tomorrow,
        "date": day(1),
        "hospital": "Seoul",
        "vaccine": "Pfizer",
        "days_before": 1,
        "days_left": 1,
        "contact": {"name": None, "phone": None, "email": None, "lang": None},
        "message": f"Reminder: your reservation {kim} is in 1 day: Pfizer (dose 1) at Seoul on {day(1)}.",
        "lang": "en",
    }
    assert (
        by_user["lee"]["message"] == f"Reminder: your reservation {lee} is today: Pfizer (dose 1) at Seoul on {day(0)}."
    )
    [message] = [m for m in cli.json("outbox", "list", "--recipient", "kim") if m["event"] == "ReservationReminder"]
    assert (message["correlation_id"], message["status"]) == (kim, "pending")
    stored = query(db_path, "SELECT reservation_id, date, days_before FROM reminder ORDER BY reservation_id")
    assert [(rid, str(date), days) for rid, date, days in stored] == [(kim, day(1), 1), (lee, day(0), 1)]
    history = cli.json("show", str(kim))["history"]
    assert [entry["event"] for entry in history] == ["ReservationConfirmed", "ReservationReminder"]

    again = cli("remind")
    assert (again.exit_code, again.stdout) == (0, f"No bookings to remind up to {day(1)}; nothing written.\n")
    assert cli.json("remind") == {"written": 0, "days_before": 1, "today": day(0), "up_to": day(1)}
    assert count_rows(db_path, "outbox", "event = 'ReservationReminder'") == 2
    assert count_rows(db_path, "reminder") == 2


def test_the_next_days_run_reminds_the_next_days_bookings_and_never_past_ones(cli, db_path, time_machine):
    slots = [add_slot(cli, days) for days in range(4)]
    bookings = [book(cli, f"user{n}", slot) for n, slot in enumerate(slots)]
    assert cli.json("remind")["written"] == 2
    time_machine.move_to(start_day() + dt.timedelta(days=1))
    assert cli.json("remind") == {"written": 1, "days_before": 1, "today": day(1), "up_to": day(2)}
    time_machine.move_to(start_day() + dt.timedelta(days=3))  # day 2 passed unreminded by a run of its own; closed now
    assert cli.json("close-day")["no_shows"] == 3
    assert cli.json("remind") == {"written": 1, "days_before": 1, "today": day(3), "up_to": day(4)}
    assert reminded(cli) == [
        (bookings[0], day(0), 0),
        (bookings[1], day(1), 1),
        (bookings[2], day(2), 1),
        (bookings[3], day(3), 0),
    ]
    time_machine.move_to(start_day() + dt.timedelta(days=5))
    assert cli("remind").stdout == f"No bookings to remind up to {day(6)}; nothing written.\n"
    assert count_rows(db_path, "outbox", "event = 'ReservationReminder'") == 4


def test_a_rescheduled_booking_is_reminded_again_for_its_new_day(cli, time_machine):
    first, nearer, further = add_slot(cli, 1), add_slot(cli, 0, hospital="Busan"), add_slot(cli, 5, hospital="Jeju")
    kim = book(cli, "kim", first)
    assert cli.json("remind")["written"] == 1
    cli.json("reschedule", str(kim), "--slot", str(nearer))
    assert cli.json("remind")["written"] == 1
    cli.json("reschedule", str(kim), "--slot", str(first))
    assert cli.json("remind")["written"] == 0  # back on a day it was already reminded for
    cli.json("reschedule", str(kim), "--slot", str(further))
    assert cli.json("remind")["written"] == 0
    time_machine.move_to(start_day() + dt.timedelta(days=4))
    assert cli.json("remind")["written"] == 1
    assert [p["message"] for p in reminders(cli)] == [
        f"Reminder: your reservation {kim} is in 1 day: Pfizer (dose 1) at Seoul on {day(1)}.",
        f"Reminder: your reservation {kim} is today: Pfizer (dose 1) at Busan on {day(0)}.",
        f"Reminder: your reservation {kim} is in 1 day: Pfizer (dose 1) at Jeju on {day(5)}.",
    ]


def test_days_before_0_is_today_only_and_3_reaches_three_days_ahead(cli):
    bookings = {days: book(cli, f"user{days}", add_slot(cli, days)) for days in (0, 1, 3, 4)}
    zero = cli("remind", "--days-before", "0")
    assert zero.stdout == f"Wrote 1 reminder for bookings up to {day(0)}.\n"
    assert cli.json("remind", "--days-before", "0")["written"] == 0
    three = cli.json("remind", "--days-before", "3")
    assert three == {"written": 3, "days_before": 3, "today": day(0), "up_to": day(3)}
    # Each window is its own reminder: "3 days before" and "on the day" from two cron lines.
    assert [(p["reservation_id"], p["days_before"], p["days_left"]) for p in reminders(cli)] == [
        (bookings[0], 0, 0),
        (bookings[0], 3, 0),
        (bookings[1], 3, 1),
        (bookings[3], 3, 3),
    ]
    assert reminders(cli)[-1]["message"].startswith(f"Reminder: your reservation {bookings[3]} is in 3 days: ")
    assert cli.json("remind", "--days-before", "30")["written"] == 4


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("31", "31"),
        ("-1", "'-1'"),
        ("x", "'x'"),
        ("1.5", "'1.5'"),
        ("", "''"),
        ("99999999999999999999999", "'99999999999999999999999'"),
    ],
)
def test_bad_days_before_exits_2_and_writes_nothing(cli, db_path, value, shown):
    book(cli, "kim", add_slot(cli, 0))
    result = cli("remind", "--days-before", value)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"Error: --days-before must be a whole number from 0 to 30, got {shown}\n"
    assert json.loads(cli("remind", "--days-before", value, "--json").stderr)["code"] == "invalid_input"
    assert count_rows(db_path, "reminder") == 0


def test_eight_processes_at_once_write_each_reminder_once(db_path, tmp_path):
    slots = tmp_path / "slots.csv"
    slots.write_text(
        "date,hospital,vaccine,quantity\n"
        + "".join(f"{future(d)},H{h},Pfizer,40\n" for d in range(3) for h in range(5))
    )
    bookings = tmp_path / "bookings.csv"
    bookings.write_text(
        "date,hospital,vaccine,user\n" + "".join(f"{future(n % 3)},H{n % 5},Pfizer,user{n}\n" for n in range(300))
    )
    for kind, path in (("slots", slots), ("reservations", bookings)):
        loaded = run_vaxres("import", kind, str(path))
        assert loaded.returncode == 0, loaded.stderr
    due = count_rows(db_path, "reservation r JOIN slot s ON s.id = r.slot_id", f"s.date <= '{future(1)}'")
    assert due == 200

    env = {**os.environ, "VAXRES_BUSY_TIMEOUT": "60"}  # 8 interpreters start at once on 2 cores
    procs = [
        subprocess.Popen(
            [VAXRES, "remind", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(8)
    ]
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        outcomes.append((proc.returncode, out, err))
    assert [code for code, _out, _err in outcomes] == [0] * 8, outcomes
    assert sum(json.loads(out)["written"] for _code, out, _err in outcomes) == due
    assert count_rows(db_path, "reminder") == due
    assert count_rows(db_path, "outbox", "event = 'ReservationReminder'") == due
    per_booking = query(
        db_path,
        "SELECT correlation_id, COUNT(*) FROM outbox WHERE event = 'ReservationReminder' GROUP BY correlation_id",
    )
    assert len(per_booking) == due and {count for _id, count in per_booking} == {1}


def test_a_held_store_gives_exit_75_and_writes_nothing(cli, db_path, backend):
    book(cli, "kim", add_slot(cli, 1))
    if backend == "sqlite":
        import sqlite3

        holder = sqlite3.connect(db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        release = holder.close
    else:
        from sqlalchemy import create_engine, text

        engine = create_engine(db_path)
        held = engine.connect()
        held.execute(text("LOCK TABLE reminder IN ACCESS EXCLUSIVE MODE"))

        def release():
            held.rollback()
            held.close()
            engine.dispose()

    try:
        result = run_vaxres("remind", env={"VAXRES_BUSY_TIMEOUT": "1"})
    finally:
        release()
    assert (result.returncode, result.stdout) == (75, ""), result.stderr
    assert result.stderr.startswith("Error: store busy, try again shortly")
    assert count_rows(db_path, "reminder") == 0 and count_rows(db_path, "outbox", "event = 'ReservationReminder'") == 0
    assert run_vaxres("remind").stdout == f"Wrote 1 reminder for bookings up to {day(1)}.\n"
