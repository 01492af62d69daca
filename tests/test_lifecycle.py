"""A booking's life: rescheduling, the day itself (administer), after it (close-day, no-show),
what a passed day forbids, the owner check, and a reservation's history. Time moves with
time-machine, never by sleeping."""

import datetime as dt
import json

import pytest

from tests.helpers import count_rows, future, invariant_violations, query, snapshot, start_day

pytestmark = pytest.mark.usefixtures("backend")


def add_slot(cli, days: int, vaccine: str = "Pfizer", hospital: str = "Seoul", quantity: int = 5) -> int:
    return cli.json(
        "slot", "add", "--date", future(days), "--hospital", hospital, "--vaccine", vaccine, "--quantity", str(quantity)
    )["id"]


def refused(cli, *args: str) -> tuple[int, dict]:
    result = cli(*args, "--json")
    assert result.stdout == ""
    return result.exit_code, json.loads(result.stderr)


def remaining(cli) -> dict[int, int]:
    return {s["id"]: s["remaining"] for s in cli.json("slot", "list")}


def events(cli) -> list[str]:
    return [m["event"] for m in cli.json("outbox", "list")]


def days_later(days: int) -> dt.date:
    """start_day() + days: fixed, whatever the clock says after a move."""
    return start_day() + dt.timedelta(days=days)


# --- reschedule -----------------------------------------------------------------------------


def test_reschedule_moves_the_dose_and_keeps_the_number(cli, db_path):
    old, new = add_slot(cli, 3), add_slot(cli, 4, hospital="Busan")
    booking = cli.json("reserve", "--user", "kim", "--slot", str(old))
    moved = cli.json("reschedule", str(booking["id"]), "--slot", str(new))
    assert (moved["id"], moved["status"], moved["slot_id"], moved["previous_slot_id"]) == (
        booking["id"],
        "reserved",
        new,
        old,
    )
    assert (moved["hospital"], moved["date"]) == ("Busan", future(4))
    assert remaining(cli) == {old: 5, new: 4}
    [message] = [m for m in cli.json("outbox", "list") if m["event"] == "ReservationRescheduled"]
    assert message["payload"]["previous_slot_id"] == old and message["payload"]["slot_id"] == new
    assert message["payload"]["message"] == (
        f"Your reservation {booking['id']} has moved: Pfizer (dose 1) at Busan on {future(4)} (was Seoul on {future(3)})."
    )
    assert cli.json("mypage", "kim")["reservations"][0]["slot_id"] == new
    assert invariant_violations(db_path) == []


def test_reschedule_by_date_keeps_hospital_and_vaccine_unless_given(cli):
    old = add_slot(cli, 3)
    same_place = add_slot(cli, 5)
    elsewhere = add_slot(cli, 6, hospital="Busan", vaccine="Moderna")
    booking = cli.json("reserve", "--user", "kim", "--slot", str(old))
    assert cli.json("reschedule", str(booking["id"]), "--date", future(5))["slot_id"] == same_place
    line = cli(
        "reschedule", str(booking["id"]), "--date", future(6), "--hospital", "busan", "--vaccine", "spikevax"
    ).stdout
    assert line == (
        f"Moved {booking['id']} for kim: Moderna (dose 1) to Busan on {future(6)} (slot {elsewhere}, 4 doses left), "
        f"from slot {same_place} on {future(5)} (5 doses left).\n"
    )


@pytest.mark.parametrize(
    "target, exit_code, code",
    [
        ("full", 1, "sold_out"),
        ("too_soon", 1, "dose_interval"),
        ("missing", 3, "slot_not_found"),
        ("same", 2, "invalid_input"),
        ("unnamed", 3, "slot_not_found"),
        ("past_date", 1, "slot_in_past"),
    ],
)
def test_a_refused_reschedule_keeps_the_old_booking(cli, db_path, target, exit_code, code):
    first = add_slot(cli, 1)
    old = add_slot(cli, 30)
    full = add_slot(cli, 31, quantity=1)
    too_soon = add_slot(cli, 10, hospital="Busan")
    cli.json("reserve", "--user", "kim", "--slot", str(first))
    dose_2 = cli.json("reserve", "--user", "kim", "--slot", str(old), "--dose", "2")
    cli.json("reserve", "--user", "lee", "--slot", str(full))
    args = {
        "full": ["--slot", str(full)],
        "too_soon": ["--slot", str(too_soon)],
        "missing": ["--slot", "99"],
        "same": ["--slot", str(old)],
        "unnamed": ["--date", future(32)],
        "past_date": ["--date", "2020-01-01"],
    }[target]
    before = snapshot(db_path)
    got, error = refused(cli, "reschedule", str(dose_2["id"]), *args)
    assert (got, error["code"]) == (exit_code, code)
    assert snapshot(db_path) == before


def test_reschedule_needs_a_reserved_booking_and_its_owner(cli, db_path):
    old, new = add_slot(cli, 3), add_slot(cli, 4)
    booking = cli.json("reserve", "--user", "kim", "--slot", str(old))
    before = snapshot(db_path)
    code, error = refused(cli, "reschedule", str(booking["id"]), "--slot", str(new), "--user", "lee")
    assert (code, error["code"]) == (1, "not_owner")
    assert (
        error["error"]
        == f"reservation {booking['id']} is not lee's; nothing changed (check the number with `vaxres mypage lee`)"
    )
    assert snapshot(db_path) == before
    assert cli.json("reschedule", str(booking["id"]), "--slot", str(new), "--user", "kim")["slot_id"] == new
    cli.json("cancel", str(booking["id"]))
    code, error = refused(cli, "reschedule", str(booking["id"]), "--slot", str(old))
    assert (code, error["code"]) == (1, "already_cancelled")
    code, error = refused(cli, "reschedule", "42", "--slot", str(old))
    assert (code, error["code"]) == (3, "reservation_not_found")
    code, error = refused(cli, "reschedule", str(booking["id"]))
    assert (code, error["code"]) == (2, "invalid_input")


# --- the day and after --------------------------------------------------------------------


def test_administer_on_the_day_records_the_lot_and_a_message(cli, db_path, time_machine):
    slot = add_slot(cli, 2)
    booking = cli.json("reserve", "--user", "kim", "--slot", str(slot))
    code, error = refused(cli, "administer", str(booking["id"]))
    assert (code, error["code"]) == (1, "too_early")
    assert error["error"] == f"reservation {booking['id']} is for {future(2)}; a dose is recorded on its day or after"
    time_machine.move_to(days_later(2))
    given = cli.json("administer", str(booking["id"]), "--lot", " FK 1234 ")
    assert (given["status"], given["lot"]) == ("administered", "FK 1234")
    assert given["administered_at"].endswith("Z")
    assert events(cli)[-1] == "VaccinationRecorded"
    code, error = refused(cli, "administer", str(booking["id"]))
    assert (code, error["code"]) == (1, "not_reserved")
    page = cli("mypage", "kim").stdout
    cells = [line.split("│")[2].strip() for line in page.splitlines() if line.startswith("│")]
    assert cells[:3] == ["administered", "lot", "FK 1234"]
    code, error = refused(cli, "cancel", str(booking["id"]))
    assert (code, error["code"]) == (1, "not_reserved")
    assert invariant_violations(db_path) == []


def test_an_administered_dose_1_lets_dose_2_be_booked_and_not_dose_1_again(cli, time_machine):
    first, second, other = add_slot(cli, 1), add_slot(cli, 30), add_slot(cli, 2, hospital="Busan")
    dose_1 = cli.json("reserve", "--user", "kim", "--slot", str(first))
    time_machine.move_to(days_later(1))
    cli.json("administer", str(dose_1["id"]))
    code, error = refused(cli, "reserve", "--user", "kim", "--slot", str(other))
    assert (code, error["code"]) == (1, "already_reserved")
    assert error["error"] == f"kim already received dose 1 (reservation {dose_1['id']}); see `vaxres mypage kim`"
    assert cli.json("mypage", "kim")["next_dose"] == {
        "dose": 2,
        "vaccine": "Pfizer",
        "earliest": days_later(22).isoformat(),
    }
    assert cli.json("reserve", "--user", "kim", "--slot", str(second), "--dose", "2")["dose"] == 2


def test_close_day_marks_no_shows_once_and_keeps_their_doses(cli, db_path, time_machine):
    day_1, day_2, day_5 = add_slot(cli, 1), add_slot(cli, 2, hospital="Busan"), add_slot(cli, 5)
    missed = cli.json("reserve", "--user", "kim", "--slot", str(day_1))
    given = cli.json("reserve", "--user", "lee", "--slot", str(day_1))
    later = cli.json("reserve", "--user", "park", "--slot", str(day_2))
    future_one = cli.json("reserve", "--user", "choi", "--slot", str(day_5))
    time_machine.move_to(days_later(1))
    cli.json("administer", str(given["id"]))
    time_machine.move_to(days_later(3))  # yesterday was day 2
    before = remaining(cli)
    closed = cli.json("close-day")
    assert (closed["date"], closed["no_shows"]) == (days_later(2).isoformat(), 2)
    assert [b["id"] for b in closed["missed"]] == [missed["id"], later["id"]]
    statuses = dict(query(db_path, "SELECT id, status FROM reservation"))
    assert statuses == {
        missed["id"]: "no_show",
        given["id"]: "administered",
        later["id"]: "no_show",
        future_one["id"]: "reserved",
    }
    assert remaining(cli) == before
    assert events(cli).count("ReservationMissed") == 2
    again = cli("close-day")
    assert (again.exit_code, again.stdout) == (
        0,
        f"No bookings left open up to {days_later(2).isoformat()}; nothing changed.\n",
    )
    assert events(cli).count("ReservationMissed") == 2
    assert invariant_violations(db_path) == []
    assert cli.json("reserve", "--user", "kim", "--slot", str(day_5))["dose"] == 1  # a no-show may book again


@pytest.mark.parametrize("day", ["today", "tomorrow", "2026-02-30"])
def test_close_day_refuses_a_day_that_is_not_over(cli, day):
    value = {"today": future(0), "tomorrow": future(1)}.get(day, day)
    code, error = refused(cli, "close-day", value)
    assert (code, error["code"]) == (2, "invalid_input")


def test_a_passed_day_forbids_booking_changing_and_is_not_available(cli, db_path, time_machine):
    slot, later = add_slot(cli, 1), add_slot(cli, 10)
    booking = cli.json("reserve", "--user", "kim", "--slot", str(slot))
    time_machine.move_to(days_later(2))
    assert [s["id"] for s in cli.json("slot", "list", "--available")] == [later]
    before = snapshot(db_path)
    for args in (
        ["reserve", "--user", "lee", "--slot", str(slot)],
        ["reserve", "--user", "lee", "--date", days_later(1).isoformat(), "--hospital", "Seoul", "--vaccine", "Pfizer"],
        ["slot", "update", str(slot), "--quantity", "9"],
        ["cancel", str(booking["id"])],
        ["reschedule", str(booking["id"]), "--slot", str(later)],
    ):
        code, error = refused(cli, *args)
        assert (args[0], code, error["code"]) == (args[0], 1, "slot_in_past")
    assert snapshot(db_path) == before
    code, error = refused(cli, "cancel", str(booking["id"]))
    assert error["error"] == (
        f"reservation {booking['id']} was for {days_later(1).isoformat()}, which has passed, so it cannot be cancelled; "
        f"record the dose with `vaxres administer {booking['id']}`, or mark it missed with `vaxres close-day`"
    )


def test_cancel_by_someone_else_is_refused(cli, db_path):
    slot = add_slot(cli, 3)
    booking = cli.json("reserve", "--user", "kim", "--slot", str(slot))
    before = snapshot(db_path)
    code, error = refused(cli, "cancel", str(booking["id"]), "--user", "lee")
    assert (code, error["code"]) == (1, "not_owner")
    assert snapshot(db_path) == before
    assert cli.json("cancel", str(booking["id"]), "--user", "kim")["status"] == "cancelled"


def test_show_tells_a_reservations_history(cli, time_machine):
    first, second = add_slot(cli, 1), add_slot(cli, 2, hospital="Busan")
    booking = cli.json("reserve", "--user", "kim", "--slot", str(first))
    cli.json("reschedule", str(booking["id"]), "--slot", str(second))
    time_machine.move_to(days_later(2))
    cli.json("administer", str(booking["id"]), "--lot", "AB12")
    shown = cli.json("show", str(booking["id"]))
    assert (shown["id"], shown["status"], shown["lot"]) == (booking["id"], "administered", "AB12")
    assert [h["event"] for h in shown["history"]] == [
        "ReservationConfirmed",
        "ReservationRescheduled",
        "VaccinationRecorded",
    ]
    assert (
        shown["history"][-1]["message"]
        == f"Vaccination recorded: Pfizer (dose 1) at Busan on {days_later(2).isoformat()}, lot AB12."
    )
    table = cli("show", str(booking["id"])).stdout
    assert f"Reservation {booking['id']}: kim, Pfizer (dose 1) at Busan" in table and "ReservationRescheduled" in table
    code, error = refused(cli, "show", "99")
    assert (code, error["code"]) == (3, "reservation_not_found")


def test_the_slot_count_holds_through_a_whole_life(cli, db_path, time_machine):
    a, b, c = add_slot(cli, 1, quantity=3), add_slot(cli, 2, quantity=3), add_slot(cli, 30, quantity=3)
    ids = [cli.json("reserve", "--user", f"p{n}", "--slot", str(a))["id"] for n in range(3)]
    cli.json("reschedule", str(ids[0]), "--slot", str(b))
    cli.json("reserve", "--user", "p1", "--slot", str(c), "--dose", "2")
    time_machine.move_to(days_later(1))
    cli.json("administer", str(ids[1]))
    time_machine.move_to(days_later(3))
    cli.json("close-day")
    assert invariant_violations(db_path) == []
    assert count_rows(db_path, "reservation", "status = 'no_show'") == 2


def test_a_reschedule_that_lost_a_race_changes_nothing(cli, store, db_path, monkeypatch):
    """What PostgreSQL's READ COMMITTED allows: the booking moved after this reschedule read it."""
    from vaxres.booking import reschedule, rules

    a, b, c = add_slot(cli, 3), add_slot(cli, 4), add_slot(cli, 5)
    booking = cli.json("reserve", "--user", "kim", "--slot", str(a))
    with store.read() as conn:  # this operator reads the booking ...
        stale_booking = reschedule.load_reservation(conn, booking["id"], None)
    cli.json("reschedule", str(booking["id"]), "--slot", str(b))  # ... another one moves it ...
    monkeypatch.setattr(reschedule, "load_reservation", lambda conn, rid, user: stale_booking)
    before = snapshot(db_path)
    with pytest.raises(rules.ChangedMeanwhile, match=f"reservation {booking['id']} was changed by another operator"):
        reschedule.reschedule(store, booking["id"], slot_id=c)
    assert snapshot(db_path) == before


def test_dose_2_is_not_recorded_while_dose_1_was_missed(cli, db_path, time_machine):
    """close-day leaves a later dose booked (the person may book dose 1 again in time), but the
    later dose is not given before the earlier one."""
    first, second = add_slot(cli, 1), add_slot(cli, 25)
    dose_1 = cli.json("reserve", "--user", "kim", "--slot", str(first))
    dose_2 = cli.json("reserve", "--user", "kim", "--slot", str(second), "--dose", "2")
    time_machine.move_to(days_later(2))
    cli.json("close-day")
    assert cli.json("show", str(dose_2["id"]))["status"] == "reserved"
    time_machine.move_to(days_later(25))
    before = snapshot(db_path)
    code, error = refused(cli, "administer", str(dose_2["id"]))
    assert (code, error["code"]) == (1, "dose_order")
    assert error["error"] == (
        f"kim's dose 1 has not been recorded as given, so dose 2 (reservation {dose_2['id']}) cannot be; "
        "record dose 1 first, or book it again"
    )
    assert snapshot(db_path) == before
    code, error = refused(cli, "administer", str(dose_1["id"]))
    assert (code, error["code"]) == (1, "not_reserved")
    assert (
        error["error"]
        == f"reservation {dose_1['id']} is no_show: only a reserved booking can be cancelled, moved or recorded"
    )
