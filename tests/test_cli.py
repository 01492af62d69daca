"""The commands as a user runs them: output, exit codes, JSON shapes and exact error texts."""

import datetime as dt
import json
import sqlite3

import pytest

from tests.helpers import count_rows, future
from vaxres.db.revisions import HEAD

pytestmark = pytest.mark.usefixtures("backend")

SLOT_KEYS = {"id", "date", "hospital", "vaccine", "capacity", "remaining"}
RESERVATION_KEYS = {
    "id",
    "user",
    "dose",
    "status",
    "slot_id",
    "date",
    "hospital",
    "vaccine",
    "reserved_at",
    "cancelled_at",
    "administered_at",
    "lot",
}
OUTBOX_KEYS = {
    "id",
    "event",
    "recipient",
    "correlation_id",
    "status",
    "attempts",
    "created_at",
    "payload",
    "next_attempt_at",
    "last_error",
    "delivered_at",
    "actor",
}


def add(cli, date=None, hospital="Seoul Hospital", vaccine="Pfizer", quantity="2"):
    return cli.json(
        "slot", "add", "--date", date or future(), "--hospital", hospital, "--vaccine", vaccine, "--quantity", quantity
    )


@pytest.mark.one_backend
def test_slot_add_prints_one_line(cli):
    result = cli(
        "slot", "add", "--date", future(), "--hospital", "Seoul Hospital", "--vaccine", "Pfizer", "--quantity", "3"
    )
    assert result.exit_code == 0
    assert result.stdout == f"Registered slot 1: {future()}, Seoul Hospital, Pfizer, 3 doses.\n"
    assert result.stderr == ""


@pytest.mark.one_backend
def test_slot_add_json_shape(cli):
    slot = add(cli, hospital=" Seoul   Hospital ")
    assert slot == {
        "id": 1,
        "date": future(),
        "hospital": "Seoul Hospital",
        "vaccine": "Pfizer",
        "capacity": 2,
        "remaining": 2,
    }


def test_duplicate_slot_exits_1_and_points_to_slot_update(cli):
    add(cli)
    result = cli(
        "slot", "add", "--date", future(), "--hospital", "SEOUL HOSPITAL", "--vaccine", "pfizer", "--quantity", "5"
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: slot 1 already exists for {future()}, SEOUL HOSPITAL, Pfizer (names are compared ignoring case); "
        "change its quantity with `vaxres slot update 1 --quantity N`\n"
    )


@pytest.mark.one_backend
@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--date", "2026-02-30", "Error: date '2026-02-30' is not a real calendar date\n"),
        ("--date", "2020-01-01", "is in the past; give today"),
        ("--quantity", "0", "Error: quantity must be a whole number from 1 to 1,000,000, got 0\n"),
        ("--quantity", "1000001", "got 1,000,001"),
        ("--quantity", "ten", "Error: quantity must be a whole number from 1 to 1,000,000, got 'ten'\n"),
        ("--hospital", "   ", "Error: hospital must not be empty\n"),
        ("--vaccine", "x" * 201, "Error: vaccine must be at most 200 characters, got 201\n"),
        ("--hospital", "bad\x07bell", "hospital must not contain control characters"),
    ],
)
def test_invalid_slot_input_exits_2_and_writes_nothing(cli, db_path, option, value, message):
    args = {"--date": future(), "--hospital": "Seoul", "--vaccine": "Pfizer", "--quantity": "2", option: value}
    result = cli("slot", "add", *[part for pair in args.items() for part in pair])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""
    assert count_rows(db_path, "slot") == 0 and count_rows(db_path, "outbox") == 0


@pytest.mark.one_backend
def test_json_errors_are_a_json_object_on_stderr(cli):
    result = cli(
        "slot", "add", "--date", "nope", "--hospital", "H", "--vaccine", "Janssen", "--quantity", "1", "--json"
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert json.loads(result.stderr) == {
        "error": "date must be a date as YYYY-MM-DD (or year first as spreadsheets write it: 2026/12/01, 2026.12.01, 2026. 12. 1., 20261201), got 'nope'",
        "code": "invalid_input",
    }


def test_reserve_cancel_and_mypage(cli):
    slot = add(cli, quantity="2")
    result = cli("reserve", "--user", "alice", "--slot", str(slot["id"]))
    assert result.exit_code == 0
    assert result.stdout == (
        f"Reserved 1 for alice: Pfizer (dose 1) at Seoul Hospital on {future()}. Slot 1 has 1 dose left.\n"
    )
    booked = cli.json(
        "reserve", "--user", "bob", "--date", future(), "--hospital", "seoul hospital", "--vaccine", "PFIZER"
    )
    assert set(booked) == RESERVATION_KEYS
    assert (booked["user"], booked["status"], booked["slot_id"], booked["cancelled_at"]) == ("bob", "reserved", 1, None)

    result = cli("cancel", "1")
    assert result.exit_code == 0
    assert result.stdout == (
        f"Cancelled 1 for alice: Pfizer (dose 1) at Seoul Hospital on {future()}. Slot 1 has 1 dose left.\n"
    )
    page = cli.json("mypage", "alice")
    assert [(r["id"], r["status"]) for r in page["reservations"]] == [(1, "cancelled")]
    assert page["reservations"][0]["cancelled_at"].endswith("Z")
    assert (page["user"], page["next_dose"]) == ("alice", None)

    table = cli("mypage", "alice")
    assert table.exit_code == 0
    for text in (
        "Reservations of alice",
        "No.",
        "Status",
        "Date",
        "Hospital",
        "Vaccine",
        "cancelled",
        future(),
        "Seoul Hospital",
        "Pfizer",
    ):
        assert text in table.stdout


def test_mypage_is_newest_first_and_names_the_next_dose(cli):
    first = add(cli, hospital="A")
    second = add(cli, hospital="B", date=future(30))
    cli.json("reserve", "--user", "kim", "--slot", str(first["id"]))
    page = cli.json("mypage", "kim")
    earliest = (dt.date.fromisoformat(future()) + dt.timedelta(days=21)).isoformat()
    assert page["next_dose"] == {"dose": 2, "vaccine": "Pfizer", "earliest": earliest}
    assert f"Next: dose 2 of Pfizer from {earliest}.\n" in cli("mypage", "kim").stdout
    cli.json("reserve", "--user", "kim", "--slot", str(second["id"]), "--dose", "2")
    page = cli.json("mypage", "kim")
    assert [r["hospital"] for r in page["reservations"]] == ["B", "A"]
    assert page["next_dose"] is None
    assert "Next:" not in cli("mypage", "kim").stdout


@pytest.mark.one_backend
def test_mypage_fits_an_80_column_terminal_and_shows_the_time_of_booking_from_100(cli, monkeypatch):
    slot = add(cli, hospital="Seoul Hospital")
    booked = cli.json("reserve", "--user", "kim", "--slot", str(slot["id"]))
    monkeypatch.setenv("COLUMNS", "80")
    lines = cli("mypage", "kim").stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "No." in line)
    assert all(name in header for name in ("Status", "Date", "Hospital", "Vaccine", "Dose"))
    assert "Reserved at" not in header
    monkeypatch.setenv("COLUMNS", "100")
    lines = cli("mypage", "kim").stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    row = next(line for line in lines if line.startswith("│   1 │"))
    assert f"{booked['reserved_at'][:10]} {booked['reserved_at'][11:16]} UTC" in row


@pytest.mark.one_backend
def test_mypage_of_someone_without_reservations(cli):
    result = cli("mypage", "nobody")
    assert (result.exit_code, result.stdout) == (0, "nobody has no reservations.\n")
    assert cli.json("mypage", "nobody") == {
        "user": "nobody",
        "person": None,
        "reservations": [],
        "next_dose": None,
        "waiting": [],
    }


def test_sold_out_exits_1_with_code_sold_out(cli, db_path):
    slot = add(cli, quantity="1")
    cli.json("reserve", "--user", "a", "--slot", str(slot["id"]))
    result = cli("reserve", "--user", "b", "--slot", str(slot["id"]), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stderr)["code"] == "sold_out"
    plain = cli("reserve", "--user", "b", "--slot", str(slot["id"]))
    assert plain.stderr == (
        f"Error: slot 1 ({future()}, Seoul Hospital, Pfizer) is sold out; "
        "see `vaxres slot list --available` for slots with doses left; or wait for a freed dose: "
        f"`vaxres waitlist join --user b --vaccine Pfizer --hospital 'Seoul Hospital' --from {future()} --to {future()}`\n"
    )
    assert count_rows(db_path, "reservation") == 1


def test_second_active_booking_for_the_same_dose_exits_1(cli):
    slot = add(cli)
    cli.json("reserve", "--user", "a", "--slot", str(slot["id"]))
    result = cli("reserve", "--user", "a", "--slot", str(slot["id"]))
    assert result.exit_code == 1
    assert (
        result.stderr
        == "Error: a already holds reservation 1 for dose 1; cancel it first with `vaxres cancel 1` to book another\n"
    )


@pytest.mark.one_backend
@pytest.mark.parametrize(
    "args, code, message",
    [
        (
            ["reserve", "--user", "a", "--slot", "42"],
            3,
            "Error: there is no slot 42; see `vaxres slot list --available` for open slots\n",
        ),
        (
            ["cancel", "42"],
            3,
            "Error: there is no reservation 42; see `vaxres mypage USER` for a person's reservations\n",
        ),
        (
            ["slot", "update", "42", "--quantity", "3"],
            3,
            "Error: there is no slot 42; see `vaxres slot list` for the slots that exist\n",
        ),
        (
            ["cancel", "abc"],
            2,
            "Error: reservation id must be a whole number from 1 to 9,223,372,036,854,775,807, got 'abc'\n",
        ),
        (["reserve", "--user", "a"], 2, "Error: give a slot id, or all three of date, hospital and vaccine\n"),
        (
            ["reserve", "--user", "a", "--slot", "1", "--dose", "0"],
            2,
            "Error: dose must be a whole number from 1 to 10, got 0\n",
        ),
        (["reserve", "--user", " ", "--slot", "1"], 2, "Error: user must not be empty\n"),
        (
            ["outbox", "list", "--status", "lost"],
            2,
            "Error: status must be one of pending, in_flight, delivered, failed, got 'lost'\n",
        ),
    ],
)
def test_not_found_and_invalid(cli, args, code, message):
    result = cli(*args)
    assert (result.exit_code, result.stderr) == (code, message)
    assert result.stdout == ""


def test_cancel_twice_exits_1(cli):
    slot = add(cli)
    cli.json("reserve", "--user", "a", "--slot", str(slot["id"]))
    cli.json("cancel", "1")
    result = cli("cancel", "1", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stderr)["code"] == "already_cancelled"


def test_slot_update(cli):
    slot = add(cli, quantity="3")
    cli.json("reserve", "--user", "a", "--slot", str(slot["id"]))
    result = cli("slot", "update", "1", "--quantity", "5")
    assert (result.exit_code, result.stdout) == (0, "Slot 1: capacity 3 -> 5, 4 doses left (1 booked).\n")
    assert cli.json("slot", "update", "1", "--quantity", "1") == {**slot, "capacity": 1, "remaining": 0}
    refused = cli("slot", "update", "1", "--quantity", "0")
    assert refused.exit_code == 2
    cli.json("cancel", "1")
    cli.json("slot", "update", "1", "--quantity", "2")
    cli.json("reserve", "--user", "b", "--slot", "1")
    cli.json("reserve", "--user", "c", "--slot", "1")
    below = cli("slot", "update", "1", "--quantity", "1", "--json")
    assert below.exit_code == 1
    assert json.loads(below.stderr) == {
        "error": "slot 1 has 2 doses booked, so its quantity cannot drop to 1; give at least 2, or cancel reservations first",
        "code": "capacity_below_booked",
    }


def test_slot_list_table_and_json(cli):
    add(cli, hospital="Seoul", quantity="1")
    add(cli, hospital="Busan", vaccine="Moderna", quantity="4", date=future(9))
    cli.json("reserve", "--user", "a", "--slot", "1")
    listed = cli.json("slot", "list")
    assert all(set(s) == SLOT_KEYS for s in listed)
    assert [(s["hospital"], s["remaining"]) for s in listed] == [("Seoul", 0), ("Busan", 4)]
    assert [s["hospital"] for s in cli.json("slot", "list", "--available")] == ["Busan"]
    assert [s["hospital"] for s in cli.json("slot", "list", "--vaccine", "MODERNA")] == ["Busan"]
    table = cli("slot", "list")
    assert "Remaining" in table.stdout and "Seoul" in table.stdout and "Moderna" in table.stdout
    assert cli("slot", "list", "--hospital", "Daegu").stdout == "No slots match.\n"


def test_outbox_list_shows_every_change_pending(cli):
    add(cli)
    cli.json("reserve", "--user", "a", "--slot", "1")
    cli.json("cancel", "1")
    messages = cli.json("outbox", "list")
    assert all(set(m) == OUTBOX_KEYS for m in messages)
    assert [(m["event"], m["recipient"], m["correlation_id"], m["status"], m["attempts"]) for m in messages] == [
        ("SlotRegistered", "*", 1, "pending", 0),
        ("ReservationConfirmed", "a", 1, "pending", 0),
        ("ReservationCancelled", "a", 1, "pending", 0),
    ]
    assert messages[1]["payload"]["reservation_id"] == 1
    assert "confirmed" in messages[1]["payload"]["message"]
    assert cli.json("outbox", "list", "--status", "delivered") == []
    assert cli("outbox", "list", "--status", "failed").stdout == "No failed messages.\n"
    assert "ReservationCancelled" in cli("outbox", "list").stdout


@pytest.mark.usefixtures("sqlite_only")
def test_db_path_prefers_option_then_environment_then_default(cli, tmp_path, monkeypatch):
    assert cli("--db", str(tmp_path / "other.db"), "db", "path").stdout == f"{tmp_path / 'other.db'}\n"
    assert cli("db", "path").stdout == f"{tmp_path / 'vaxres.db'}\n"
    monkeypatch.delenv("VAXRES_DB")
    assert cli("db", "path").stdout == f"{tmp_path / 'xdg' / 'vaxres' / 'vaxres.db'}\n"


@pytest.mark.no_store
@pytest.mark.usefixtures("sqlite_only")
def test_db_current_and_upgrade(cli, db_path):
    missing = cli("db", "current")
    assert missing.exit_code == 3
    assert "there is no store at" in missing.stderr
    result = cli("db", "upgrade")
    assert (result.exit_code, result.stdout) == (0, f"Upgraded {db_path} from empty to {HEAD}.\n")
    assert cli("db", "current").stdout == f"{HEAD} (head)\n"
    assert cli.json("db", "current") == {"store": str(db_path), "current": HEAD, "head": HEAD, "up_to_date": True}
    assert cli("db", "upgrade").stdout == f"{db_path} is already at {HEAD} (head); nothing to do.\n"


@pytest.mark.usefixtures("sqlite_only")
def test_a_database_that_is_not_a_vaxres_store_is_refused(cli, tmp_path):
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (x)")
    result = cli("--db", str(foreign), "slot", "list")
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"Error: {foreign} holds tables but is not a vaxres store; name another file with --db or VAXRES_DB\n"
    )


@pytest.mark.usefixtures("sqlite_only")
def test_db_in_a_missing_folder_is_not_found_to_read_and_invalid_to_write(cli, tmp_path):
    missing = tmp_path / "no" / "such" / "x.db"
    read = cli("--db", str(missing), "slot", "list")
    assert (read.exit_code, read.stderr) == (
        3,
        f"Error: there is no store at {missing}; check --db or VAXRES_DB (`vaxres db path` shows the store "
        f"in use), or register a slot to create one\n",
    )
    result = cli(
        "--db",
        str(missing),
        "slot",
        "add",
        "--date",
        future(),
        "--hospital",
        "A",
        "--vaccine",
        "Janssen",
        "--quantity",
        "1",
    )
    assert result.exit_code == 2
    assert result.stderr == f"Error: the folder {missing.parent} does not exist; create it or name another --db path\n"
    assert not (tmp_path / "no").exists()


@pytest.mark.usefixtures("sqlite_only")
@pytest.mark.parametrize(
    "target, message",
    [
        (
            "foo://x/y",
            "Error: --db foo://x/y is not a database vaxres can use: Can't load plugin: sqlalchemy.dialects:foo\n",
        ),
        ("not a url://x", "Error: --db 'not a url://x' is neither a file path nor a database URL\n"),
    ],
)
def test_unusable_db_urls_exit_2(cli, target, message):
    result = cli("--db", target, "slot", "list")
    assert (result.exit_code, result.stderr) == (2, message)


@pytest.mark.usefixtures("sqlite_only")
def test_a_missing_database_driver_is_named(cli):
    result = cli("--db", "postgresql+psycopg2://u@127.0.0.1:1/x", "slot", "list")
    assert result.exit_code == 2
    assert "needs the database driver 'psycopg2', which is not installed" in result.stderr


@pytest.mark.usefixtures("sqlite_only")
def test_busy_timeout_must_be_a_number(cli, monkeypatch):
    monkeypatch.setenv("VAXRES_BUSY_TIMEOUT", "soon")
    result = cli("slot", "list")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: VAXRES_BUSY_TIMEOUT must be a number of seconds from 0 to 3600, got 'soon'\n",
    )


@pytest.mark.usefixtures("sqlite_only")
def test_usage_errors_exit_2(cli):
    result = cli("reserve", "--slot", "1")
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        "Error: missing option '--user'; see `vaxres reserve --help`\n",
    )
    extra = cli("cancel", "1", "2")
    assert (extra.exit_code, extra.stderr) == (
        2,
        "Error: got unexpected extra argument(s) (2); see `vaxres cancel --help`\n",
    )


@pytest.mark.usefixtures("sqlite_only")
def test_usage_errors_with_json_are_a_json_object_on_stderr():
    from tests.helpers import run_vaxres

    result = run_vaxres("reserve", "--slot", "1", "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert json.loads(result.stderr) == {
        "error": "missing option '--user'; see `vaxres reserve --help`",
        "code": "usage",
    }
    unknown = run_vaxres("slot", "list", "--json", "--bogus")
    assert unknown.returncode == 2
    assert json.loads(unknown.stderr)["error"] == "no such option: --bogus; see `vaxres slot list --help`"
    fine = run_vaxres("slot", "list", "--json")
    assert (fine.returncode, fine.stdout) == (0, "[]\n")
    refused = run_vaxres("cancel", "7", "--json")
    assert refused.returncode == 3
    assert json.loads(refused.stderr)["code"] == "reservation_not_found"


def test_demo_runs_on_a_fresh_store_and_refuses_one_with_data(cli, db_path):
    result = cli("demo")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"Demo store: {db_path}" in out
    for text in (
        "Registered slot 3: ",
        ", Busan Medical Center, Pfizer, 2 doses.",  # added as 화이자
        "is sold out",
        "already holds reservation",
        "refused (exit 1, dose_interval)",
        "Reserved 3 for alice: Pfizer (dose 2)",
        "Moved 3 for alice",
        "Recorded dose 1 of Pfizer for alice",
        "refused (exit 1, not_owner)",
        "Cancelled 2 for bob",
        "carol waits for dose 1 of Moderna",
        "From the waitlist: Reserved 4 for carol: Moderna (dose 1)",
        "No bookings left open",
        "Reservations of alice",
        "administered",
        "FK1234",
        "Slots",
        "Outbox",
        "ReservationRescheduled",
        "VaccinationRecorded",
        f"export VAXRES_DB={db_path}",
    ):
        assert text in out
    again = cli("demo")
    assert again.exit_code == 1
    assert again.stderr.startswith(f"Error: {db_path} already holds data and the demo only runs on a fresh store")


@pytest.mark.usefixtures("sqlite_only")
def test_demo_without_a_named_store_uses_a_temporary_folder(cli, monkeypatch):
    monkeypatch.delenv("VAXRES_DB")
    report = cli.json("demo")
    store = report["store"]
    assert "vaxres-demo-" in store
    events = [m["event"] for m in report["outbox"]]
    assert [
        events.count(e)
        for e in ("ReservationConfirmed", "ReservationRescheduled", "VaccinationRecorded", "ReservationCancelled")
    ] == [4, 1, 1, 1]
    assert [m["payload"].get("from_waitlist") for m in report["outbox"] if m["event"] == "ReservationConfirmed"] == [
        None,
        None,
        None,
        True,
    ]
    assert cli.json("--db", store, "mypage", "alice") == report["mypage"]
    assert [r["status"] for r in report["mypage"]["reservations"]] == ["reserved", "administered"]
    assert {s["id"]: s["remaining"] for s in cli.json("--db", store, "slot", "list")} == {1: 2, 2: 0, 3: 2, 4: 2, 5: 1}


@pytest.mark.usefixtures("sqlite_only")
def test_version(cli):
    result = cli("--version")
    assert (result.exit_code, result.stdout) == (0, "vaxres 0.1.0\n")
