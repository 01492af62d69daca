"""The waitlist: a freed dose is booked, in the same transaction, for the longest-waiting person
it suits, exactly as `vaxres reserve` would have booked it."""

import json
import os
import subprocess

import pytest

from tests.helpers import VAXRES, count_rows, future, invariant_violations, query, records


def add(cli, hospital="Seoul Hospital", vaccine="Pfizer", quantity="1", days=7):
    result = cli.json(
        "slot", "add", "--date", future(days), "--hospital", hospital, "--vaccine", vaccine, "--quantity", quantity
    )
    return result["id"]


def join(cli, user, *args):
    return cli("waitlist", "join", "--user", user, *args)


def holders(db, slot_id):
    return sorted(
        row[0]
        for row in query(db, f"SELECT user_id FROM reservation WHERE slot_id = {slot_id} AND status = 'reserved'")
    )


def waiting(cli):
    return [(e["user"], e["position"]) for e in cli.json("waitlist", "list")]


def confirmed_from_waitlist(db):
    rows = records(db, "SELECT * FROM outbox WHERE event = 'ReservationConfirmed' ORDER BY id")
    payloads = [(row["recipient"], json.loads(p) if isinstance(p := row["payload"], str) else p) for row in rows]
    return [(user, payload["slot_id"]) for user, payload in payloads if payload.get("from_waitlist") is True]


@pytest.mark.usefixtures("backend")
def test_a_cancellation_books_the_longest_waiting_person(cli, db_path):
    slot = add(cli)
    cli("reserve", "--user", "kim", "--slot", str(slot))
    for user in ("lee", "park", "choi"):
        assert join(cli, user, "--vaccine", "화이자").exit_code == 0
    assert waiting(cli) == [("lee", 1), ("park", 2), ("choi", 3)]
    result = cli("cancel", "1")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == (
        f"From the waitlist: Reserved 2 for lee: Pfizer (dose 1) at Seoul Hospital on {future()}. Slot {slot} has 0 doses left."
    )
    assert holders(db_path, slot) == ["lee"]
    assert waiting(cli) == [("park", 1), ("choi", 2)]
    assert confirmed_from_waitlist(db_path) == [("lee", slot)]
    assert invariant_violations(db_path) == []
    assert cli.json("cancel", "2")["from_waitlist"][0]["user"] == "park"


@pytest.mark.usefixtures("backend")
def test_a_cascade_frees_a_dose_per_booking_and_each_goes_to_one_person(cli, db_path):
    first, second = add(cli, days=7), add(cli, days=30)
    cli("reserve", "--user", "kim", "--slot", str(first))
    cli("reserve", "--user", "kim", "--slot", str(second), "--dose", "2")
    join(cli, "lee", "--vaccine", "Pfizer")  # any day: gets the first freed dose
    join(cli, "park", "--vaccine", "Pfizer", "--from", future(20))  # only the later slot suits
    join(cli, "choi", "--vaccine", "Pfizer")
    cancelled = cli.json("cancel", "1")
    assert [b["user"] for b in cancelled["also_cancelled"]] == ["kim"]
    assert sorted((b["user"], b["slot_id"]) for b in cancelled["from_waitlist"]) == [("lee", first), ("park", second)]
    assert waiting(cli) == [("choi", 1)]
    assert invariant_violations(db_path) == []


@pytest.mark.usefixtures("backend")
def test_a_new_slot_a_capacity_raise_and_a_reschedule_away_each_book_people_waiting(cli, db_path):
    a = add(cli, hospital="A")
    cli("reserve", "--user", "kim", "--slot", str(a))
    for user in ("u1", "u2", "u3", "u4"):
        join(cli, user, "--vaccine", "Pfizer")
    added = cli("slot", "add", "--date", future(8), "--hospital", "B", "--vaccine", "Pfizer", "--quantity", "2")
    assert (
        added.stdout == f"Registered slot 2: {future(8)}, B, Pfizer, 2 doses. 2 doses went at once to people waiting.\n"
    )
    assert holders(db_path, 2) == ["u1", "u2"]
    raised = cli("slot", "update", "2", "--quantity", "3")
    assert raised.stdout == "Slot 2: capacity 2 -> 3, 0 doses left (3 booked).\n"
    assert holders(db_path, 2) == ["u1", "u2", "u3"]
    c = add(cli, hospital="C", quantity="2", days=9)  # one dose to u4, one left
    assert holders(db_path, c) == ["u4"]
    join(cli, "u5", "--vaccine", "Pfizer", "--hospital", "A")  # waits: only A suits, and A is full
    assert cli.json("reschedule", "1", "--slot", str(c))["slot_id"] == c  # kim leaves A: u5 gets it
    assert holders(db_path, a) == ["u5"]
    assert cli.json("waitlist", "list") == []
    assert [user for user, _slot in confirmed_from_waitlist(db_path)] == ["u1", "u2", "u3", "u4", "u5"]
    assert invariant_violations(db_path) == []


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("written_at_a_time", [10_000, 2])
def test_an_import_serves_the_longest_waiting_first_each_with_the_earliest_dose_that_suits_them(
    cli, db_path, tmp_path, monkeypatch, written_at_a_time
):
    """The doses an import adds, offered at once: hospital, days and the series rules of each
    entry respected, in join order; whoever nothing suits keeps waiting."""
    from vaxres.booking import offering

    monkeypatch.setattr(offering, "WRITE_BATCH", written_at_a_time)
    first = add(cli, hospital="Seoul", days=3)
    assert cli("reserve", "--user", "dee", "--slot", str(first)).exit_code == 0
    entries = [
        ("amy", "--hospital", "busan"),
        ("bob", "--from", future(15)),
        ("cat", "--hospital", "Nowhere"),
        ("dee", "--dose", "2"),  # dose 1 on day 3: dose 2 from day 24 (Pfizer's 21 days)
        ("eve", "--to", future(8)),
        ("fay", "--vaccine", "Moderna"),
        ("gus",),
        ("hal",),
        ("ivy",),
    ]
    for user, *criteria in entries:
        vaccine = [] if "--vaccine" in criteria else ["--vaccine", "Pfizer"]
        result = join(cli, user, *vaccine, *criteria)
        assert result.exit_code == 0, result.stderr
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "date,hospital,vaccine,quantity\n"
        f"{future(30)},Seoul,Pfizer,2\n"
        f"{future(16)},Seoul,Pfizer,1\n"
        f"{future(12)},Busan Central,Pfizer,1\n"
        f"{future(10)},Seoul,Pfizer,1\n"
    )
    summary = cli.json("import", "slots", str(plan))
    assert summary["from_waitlist"] == 5
    booked = {
        user: (hospital, day)
        for user, hospital, day in query(
            db_path,
            "SELECT r.user_id, s.hospital, s.date FROM reservation r JOIN slot s ON s.id = r.slot_id "
            "WHERE r.status = 'reserved' AND r.user_id <> 'dee' OR r.dose = 2",
        )
    }
    assert {user: (hospital, str(day)) for user, (hospital, day) in booked.items()} == {
        "amy": ("Busan Central", future(12)),
        "bob": ("Seoul", future(16)),
        "dee": ("Seoul", future(30)),
        "gus": ("Seoul", future(10)),
        "hal": ("Seoul", future(30)),
    }
    assert [e["user"] for e in cli.json("waitlist", "list")] == ["cat", "eve", "fay", "ivy"]
    assert sorted(user for user, _slot in confirmed_from_waitlist(db_path)) == ["amy", "bob", "dee", "gus", "hal"]
    assert count_rows(db_path, "slot", "remaining > 0") == 0
    assert invariant_violations(db_path) == []


@pytest.mark.usefixtures("backend")
def test_an_import_finds_the_hospitals_people_wait_at_among_its_slots(cli, db_path, tmp_path, monkeypatch):
    """When everyone waiting names a hospital, an import reads only its slots at hospitals whose
    names contain one of those texts (from the hospital table), chunk after chunk."""
    from vaxres.imports import run

    monkeypatch.setattr(run, "SLOT_CHUNK", 2)
    for user, hospital in (("amy", "busan"), ("cat", "Nowhere"), ("bo", "SEOUL")):
        assert join(cli, user, "--vaccine", "Pfizer", "--hospital", hospital).exit_code == 0
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "date,hospital,vaccine,quantity\n"
        f"{future(10)},Daegu,Pfizer,3\n{future(11)},Busan Central,Pfizer,1\n"
        f"{future(12)},Jeju,Pfizer,3\n{future(13)},Seoul Hospital,Pfizer,1\n"
    )
    assert cli.json("import", "slots", str(plan))["from_waitlist"] == 2
    assert query(
        db_path, "SELECT r.user_id, s.hospital FROM reservation r JOIN slot s ON s.id = r.slot_id ORDER BY r.user_id"
    ) == [
        ("amy", "Busan Central"),
        ("bo", "Seoul Hospital"),
    ]
    assert [e["user"] for e in cli.json("waitlist", "list")] == ["cat"]


@pytest.mark.usefixtures("backend")
def test_an_import_of_slots_books_people_waiting_in_its_chunks_transaction(cli, db_path, tmp_path):
    full = add(cli, hospital="Seoul")
    cli("reserve", "--user", "kim", "--slot", str(full))
    for user in ("u1", "u2", "u3", "u4"):
        join(cli, user, "--vaccine", "Pfizer")
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "date,hospital,vaccine,quantity\n"
        f"{future(20)},Busan,Pfizer,1\n"
        f"{future(10)},Daegu,화이자,2\n"
        f"{future(10)},Jeju,Moderna,5\n"
    )
    result = cli("import", "slots", str(plan))
    assert result.exit_code == 0, result.stderr
    assert "3 of the new doses went at once to people waiting.\n" in result.stdout
    slots = {s["hospital"]: s["id"] for s in cli.json("slot", "list")}
    assert holders(db_path, slots["Daegu"]) == ["u1", "u2"]  # the earliest day first, in join order
    assert holders(db_path, slots["Busan"]) == ["u3"]
    assert holders(db_path, slots["Jeju"]) == []
    plan.write_text(f"date,hospital,vaccine,quantity\n{future(20)},Busan,Pfizer,2\n")  # a capacity raise
    assert cli.json("import", "slots", str(plan))["from_waitlist"] == 1
    assert holders(db_path, slots["Busan"]) == ["u3", "u4"]
    assert cli.json("waitlist", "list") == []
    assert len(confirmed_from_waitlist(db_path)) == 4
    assert invariant_violations(db_path) == []


@pytest.mark.usefixtures("backend")
def test_the_series_rules_decide_who_may_take_a_freed_dose(cli, db_path, time_machine):
    """Nobody is booked a dose `reserve` would refuse them: the one who cannot take it keeps
    waiting, and the next in line gets it."""
    soon = add(cli, hospital="Soon", vaccine="Moderna", days=3)
    later = add(cli, hospital="Later", days=40)
    cli("reserve", "--user", "kim", "--slot", str(later))  # kim: dose 1 of Pfizer on day 40
    cli("reserve", "--user", "lee", "--slot", str(soon))
    join(cli, "kim", "--vaccine", "Moderna", "--dose", "2")  # refused at once: another vaccine
    assert (
        json.loads(join(cli, "kim", "--vaccine", "Moderna", "--dose", "2", "--json").stderr)["code"]
        == "vaccine_mismatch"
    )
    for user, dose in (("park", "2"), ("choi", "1")):
        result = join(cli, user, "--vaccine", "Moderna", "--dose", dose)
        if user == "park":
            assert (
                json.loads(join(cli, user, "--vaccine", "Moderna", "--dose", dose, "--json").stderr)["code"]
                == "dose_order"
            )
        else:
            assert result.exit_code == 0
    cli("cancel", "2")  # lee's Moderna dose
    assert holders(db_path, soon) == ["choi"]
    assert invariant_violations(db_path) == []


@pytest.mark.usefixtures("backend")
def test_hospital_and_days_narrow_what_suits(cli, db_path):
    slot = add(cli, hospital="서울대학교병원 강남센터")
    cli("reserve", "--user", "kim", "--slot", str(slot))
    join(cli, "busan", "--vaccine", "Pfizer", "--hospital", "부산")
    join(cli, "late", "--vaccine", "Pfizer", "--from", future(8))
    join(cli, "early", "--vaccine", "Pfizer", "--to", future(6))
    join(cli, "moderna", "--vaccine", "Moderna")
    join(cli, "gangnam", "--vaccine", "Pfizer", "--hospital", "강남", "--to", future(7))
    cli("cancel", "1")
    assert holders(db_path, slot) == ["gangnam"]
    assert [e["user"] for e in cli.json("waitlist", "list", "--hospital", "부산")] == ["busan"]
    assert [e["user"] for e in cli.json("waitlist", "list", "--vaccine", "모더나")] == ["moderna"]


def test_join_books_at_once_when_a_matching_dose_is_free(cli, db_path):
    slot = add(cli, quantity="2")
    result = join(cli, "kim", "--vaccine", "Pfizer")
    assert result.stdout == (
        f"A matching dose was free: Reserved 1 for kim: Pfizer (dose 1) at Seoul Hospital on {future()}. "
        f"Slot {slot} has 1 dose left.\n"
    )
    assert cli.json("waitlist", "list") == []
    joined = cli.json("waitlist", "join", "--user", "lee", "--vaccine", "Pfizer")
    assert joined["waiting"] is None and joined["reserved"]["user"] == "lee"


@pytest.mark.parametrize(
    "args, code, exit_code",
    [
        (["--user", "kim", "--vaccine", "Pfizer"], "already_reserved", 1),
        (["--user", "lee", "--vaccine", "Pfizer"], "already_waiting", 1),
        (["--user", "new", "--vaccine", "Pfizer", "--dose", "2"], "dose_order", 1),
        (["--user", "new", "--vaccine", "Janssen", "--dose", "2"], "series_complete", 1),
        (["--user", "kim", "--vaccine", "Pfizer", "--dose", "2", "--to", future(10)], "dose_interval", 1),
        (["--user", "kim", "--vaccine", "Moderna", "--dose", "2"], "vaccine_mismatch", 1),
        (["--user", "new", "--vaccine", "Sputnik"], "unknown_vaccine", 2),
        (["--user", "new", "--vaccine", "Pfizer", "--from", "2020-01-01"], "invalid_input", 2),
        (["--user", "new", "--vaccine", "Pfizer", "--from", future(9), "--to", future(8)], "invalid_input", 2),
        (["--user", "new", "--vaccine", "Pfizer", "--dose", "0"], "invalid_input", 2),
        (["--user", "*", "--vaccine", "Pfizer"], "invalid_input", 2),
    ],
)
def test_join_refusals_change_nothing(cli, db_path, args, code, exit_code):
    slot = add(cli)
    cli("reserve", "--user", "kim", "--slot", str(slot))
    join(cli, "lee", "--vaccine", "Pfizer")
    before = (count_rows(db_path, "waitlist"), count_rows(db_path, "reservation"), count_rows(db_path, "outbox"))
    result = cli("waitlist", "join", *args, "--json")
    assert (result.exit_code, json.loads(result.stderr)["code"]) == (exit_code, code)
    assert (
        count_rows(db_path, "waitlist"),
        count_rows(db_path, "reservation"),
        count_rows(db_path, "outbox"),
    ) == before


def test_leave_list_and_mypage(cli, db_path):
    slot = add(cli)
    cli("reserve", "--user", "kim", "--slot", str(slot))
    join(cli, "lee", "--vaccine", "Pfizer", "--hospital", "Seoul", "--to", future(30))
    page = cli("mypage", "lee").stdout
    assert page == (
        "lee has no reservations.\n"
        f"Waiting: dose 1 of Pfizer at a hospital matching 'Seoul', from {future(0)} to {future(30)} "
        "(entry 1, number 1 in line).\n"
    )
    assert cli.json("mypage", "lee")["waiting"][0]["position"] == 1
    refused = cli("waitlist", "leave", "1", "--user", "kim")
    assert (refused.exit_code, refused.stderr) == (1, "Error: waitlist entry 1 is not kim's; nothing changed\n")
    missing = cli("waitlist", "leave", "7")
    assert (missing.exit_code, missing.stderr) == (
        3,
        "Error: there is no waitlist entry 7; see `vaxres waitlist list`\n",
    )
    left = cli("waitlist", "leave", "1", "--user", "lee")
    assert (
        left.stdout
        == f"lee no longer waits for dose 1 of Pfizer at a hospital matching 'Seoul', from {future(0)} to {future(30)} (entry 1).\n"
    )
    assert cli("waitlist", "list").stdout == "Nobody is waiting.\n"
    cli("cancel", "1")
    assert holders(db_path, slot) == []


def test_a_sold_out_reply_says_how_to_wait_with_the_persons_own_arguments(cli):
    slot = add(cli, hospital="Seoul National University Hospital")
    cli("reserve", "--user", "kim", "--slot", str(slot))
    result = cli("reserve", "--user", "lee", "--slot", str(slot), "--dose", "1")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        f"; or wait for a freed dose: `vaxres waitlist join --user lee --vaccine Pfizer --hospital "
        f"'Seoul National University Hospital' --from {future()} --to {future()}`\n"
    )


def test_booking_a_dose_yourself_ends_the_wait_for_it(cli, db_path):
    full = add(cli)
    cli("reserve", "--user", "kim", "--slot", str(full))
    join(cli, "lee", "--vaccine", "Pfizer", "--hospital", "Seoul")
    other = add(cli, hospital="Busan", days=9)
    cli("reserve", "--user", "lee", "--slot", str(other))
    assert cli.json("waitlist", "list") == []
    cli("cancel", "1")
    assert holders(db_path, full) == []


@pytest.mark.slow
def test_cancellations_and_joins_racing_give_each_freed_dose_to_one_person(cli, db_path, backend):
    """40 processes cancel and 40 join at once: every freed dose goes to exactly one person who
    waited, nobody is booked twice, and no dose is left free while someone waits."""
    slot = add(cli, quantity="40")
    for n in range(40):
        assert cli("reserve", "--user", f"holder{n}", "--slot", str(slot)).exit_code == 0
    env = {**os.environ, "VAXRES_DB": str(db_path), "VAXRES_BUSY_TIMEOUT": "120"}
    commands = [[VAXRES, "cancel", str(n + 1), "--json"] for n in range(40)]
    commands += [
        [VAXRES, "waitlist", "join", "--user", f"waiter{n}", "--vaccine", "Pfizer", "--json"] for n in range(40)
    ]
    commands = [c for pair in zip(commands[:40], commands[40:]) for c in pair]
    processes = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for c in commands
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in processes]
    assert [code for code, _ in results] == [0] * 80, [r for r in results if r[0]]
    assert holders(db_path, slot) == sorted(f"waiter{n}" for n in range(40))
    assert count_rows(db_path, "waitlist") == 0
    assert query(db_path, f"SELECT remaining FROM slot WHERE id = {slot}") == [(0,)]
    assert len(confirmed_from_waitlist(db_path)) == 40
    assert invariant_violations(db_path) == []
