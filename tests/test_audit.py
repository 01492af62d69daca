"""The audit trail (issue 14): who made each change (--actor, VAXRES_ACTOR, the login name) on
every kind of change; `vaxres log` (filters, order, pages, JSON, the table); `vaxres outbox
prune` (old delivered messages only, in chunks); migration 0010 over a store with messages; db
copy and the demo keep the actors, deliveries do not carry them. Both backends where the
store answers; time moves with time-machine."""

import datetime as dt
import getpass
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import count_rows, future, query, start_day
from vaxres.db import listing, revisions
from vaxres.errors import InvalidInput
from vaxres.outbox import events
from vaxres.outbox import prune as prune_module
from vaxres.settings import login_name
from vaxres.validate import MAX_ACTOR_LENGTH, parse_actor


def day(days: int) -> str:
    return (start_day() + dt.timedelta(days=days)).isoformat()


def last_id(db) -> int:
    return query(db, "SELECT COALESCE(MAX(id), 0) FROM outbox")[0][0]


def written_since(db, after: int) -> list[tuple[str, str | None]]:
    return query(db, f"SELECT event, actor FROM outbox WHERE id > {after} ORDER BY id")


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


# --- who made each change -------------------------------------------------------------------


@pytest.fixture(params=["option", "environment", "login"])
def acting(request, cli, monkeypatch):
    """Run a command as an actor named by --actor, by VAXRES_ACTOR, or as the login name."""

    def run(actor: str, *args: str):
        if request.param == "option":
            return cli("--actor", actor, *args)
        if request.param == "environment":
            monkeypatch.setenv("VAXRES_ACTOR", actor)
        else:
            monkeypatch.setattr(getpass, "getuser", lambda: actor)
        return cli(*args)

    return run


@pytest.mark.usefixtures("backend")
def test_every_kind_of_change_records_who_made_it(acting, cli, db_path, tmp_path, time_machine):
    slots_file, bookings_file = tmp_path / "slots.csv", tmp_path / "bookings.csv"
    slots_file.write_text(f"date,hospital,vaccine,quantity\n{day(1)},Busan,Pfizer,1\n{day(0)},Seoul,Pfizer,3\n")
    bookings_file.write_text(f"user,date,hospital,vaccine,dose\nchoi,{day(1)},Busan,Pfizer,1\n")
    R = events
    ids = {}

    def entry(user: str) -> str:
        return str(next(e["id"] for e in cli.json("waitlist", "list") if e["user"] == user))

    def booking(user: str) -> str:
        return str(cli.json("mypage", user)["reservations"][0]["id"])

    def slot(hospital: str) -> str:  # an import may skip numbers on PostgreSQL
        return str(next(s["id"] for s in cli.json("slot", "list") if s["hospital"] == hospital))

    steps = [
        (
            ["slot", "add", "--date", day(0), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "1"],
            [R.SLOT_REGISTERED],
        ),
        (["reserve", "--user", "kim", "--slot", "1"], [R.RESERVATION_CONFIRMED]),
        (["waitlist", "join", "--user", "lee", "--vaccine", "Pfizer"], [R.WAITLIST_JOINED]),
        (["waitlist", "join", "--user", "park", "--vaccine", "Pfizer"], [R.WAITLIST_JOINED]),
        (lambda: ["waitlist", "leave", entry("park")], [R.WAITLIST_LEFT]),
        (
            ["slot", "update", "1", "--quantity", "2"],
            [R.SLOT_UPDATED, R.RESERVATION_CONFIRMED],
        ),  # lee, from the waitlist
        (["import", "slots", str(slots_file)], [R.SLOT_REGISTERED, R.SLOT_UPDATED]),
        (["import", "reservations", str(bookings_file)], [R.RESERVATION_CONFIRMED]),
        (["waitlist", "join", "--user", "yoon", "--vaccine", "Pfizer"], [R.RESERVATION_CONFIRMED]),  # a dose is free
        (["waitlist", "join", "--user", "han", "--vaccine", "Pfizer"], [R.WAITLIST_JOINED]),
        (["waitlist", "join", "--user", "seo", "--vaccine", "Pfizer"], [R.WAITLIST_JOINED]),
        (
            ["slot", "add", "--date", day(2), "--hospital", "Daegu", "--vaccine", "Pfizer", "--quantity", "1"],
            [R.SLOT_REGISTERED, R.RESERVATION_CONFIRMED],
        ),  # han, from the waitlist
        (lambda: ["cancel", booking("choi")], [R.RESERVATION_CANCELLED, R.RESERVATION_CONFIRMED]),  # seo takes it
        (
            ["slot", "add", "--date", day(2), "--hospital", "Jeju", "--vaccine", "Pfizer", "--quantity", "5"],
            [R.SLOT_REGISTERED],
        ),
        (lambda: ["reschedule", booking("seo"), "--slot", slot("Jeju")], [R.RESERVATION_RESCHEDULED]),
        (lambda: ["administer", booking("kim"), "--lot", "FK1"], [R.VACCINATION_RECORDED]),
        (["remind", "--days-before", "2"], [R.RESERVATION_REMINDER] * 4),  # lee, yoon, han, seo
        (["vaccine", "add", "Sputnik", "--doses", "1"], [R.VACCINE_ADDED]),
        (["vaccine", "update", "Sputnik", "--doses", "2", "--min-interval", "14"], [R.VACCINE_UPDATED]),
        (["window", "add", "all", "--vaccine", "Sputnik", "--opens", "2020-01-01 00:00"], [R.WINDOW_ADDED]),
        (["window", "close", "all"], [R.WINDOW_CLOSED]),
        (
            lambda: ["reserve", "--user", "oh", "--slot", slot("Jeju"), "--override-eligibility", "desk"],
            [R.RESERVATION_CONFIRMED, R.ELIGIBILITY_OVERRIDDEN],
        ),
        (["person", "add", "nam", "--name", "Nam", "--birth-date", "1980-01-01"], [R.PERSON_REGISTERED]),
        (["person", "update", "nam", "--phone", "010-1234-5678"], [R.PERSON_UPDATED]),
        (["person", "forget", "nam"], [R.PERSON_FORGOTTEN]),
        ("tomorrow", ["close-day"], [R.RESERVATION_MISSED] * 2),  # lee and yoon, on slot 1
    ]
    seen = set()
    for number, step in enumerate(steps, start=1):
        if step[0] == "tomorrow":
            time_machine.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
            step = step[1:]
        args, expected = step
        args = args() if callable(args) else args
        actor = f"desk-{number:02d}"
        before = last_id(db_path)
        ok(acting(actor, *args))
        written = written_since(db_path, before)
        assert sorted(event for event, _ in written) == sorted(expected), args
        assert {who for _, who in written} == {actor}, args
        seen.update(expected)
        ids[number] = written
    # A login code is asked for over HTTP, made as citizen:ID: tests/test_citizens.py checks it.
    assert seen == set(events.ALL_EVENTS) - {events.CITIZEN_CODE}
    assert query(db_path, "SELECT COUNT(*) FROM outbox WHERE actor IS NULL") == [(0,)]
    listed = cli.json("outbox", "list", "--recipient", "kim")
    assert [m["actor"] for m in listed] == ["desk-02", "desk-16"]
    assert "Actor:        desk-02\n" in cli("outbox", "show", "2").stdout


def test_the_option_wins_over_the_environment_and_the_login_name_is_the_default(cli, db_path, monkeypatch):
    add = ["slot", "add", "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "1", "--date"]
    login = login_name()
    monkeypatch.setenv("VAXRES_ACTOR", "bad\x07")
    ok(cli("--actor", "nurse 김", *add, day(1)))  # the option wins: the variable is not even read
    monkeypatch.setenv("VAXRES_ACTOR", "  ops   team ")
    ok(cli(*add, day(2)))
    monkeypatch.setenv("VAXRES_ACTOR", "")  # empty is unset
    ok(cli(*add, day(3)))
    monkeypatch.delenv("VAXRES_ACTOR")
    monkeypatch.setattr(getpass, "getuser", _no_login)
    ok(cli(*add, day(4)))
    monkeypatch.setattr(getpass, "getuser", lambda: "bad\x1bname")
    ok(cli(*add, day(5)))
    actors = [actor for (actor,) in query(db_path, "SELECT actor FROM outbox ORDER BY id")]
    uid = str(os.getuid())
    # Trimmed and collapsed as names are; empty is unset; no login name, or one that is not a valid
    # name: the uid.
    assert actors == ["nurse 김", "ops team", login, uid, uid]


def test_the_login_name_is_read_when_nothing_names_the_actor(cli, db_path):
    ok(cli("slot", "add", "--date", day(1), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "1"))
    assert query(db_path, "SELECT actor FROM outbox") == [(login_name(),)]
    assert login_name() == getpass.getuser()


def _no_login():
    raise OSError("No username set in the environment")


@pytest.mark.no_store
@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--actor", ""], None, "Error: --actor must not be empty\n"),
        (["--actor", "a\nb"], None, "Error: --actor must not contain control characters or line breaks, got 'a\\nb'\n"),
        (
            ["--actor", "x" * (MAX_ACTOR_LENGTH + 1)],
            None,
            f"Error: --actor must be at most {MAX_ACTOR_LENGTH} characters, got 65\n",
        ),
        (
            [],
            "a\u202eb",
            "Error: VAXRES_ACTOR must not contain invisible or text-direction characters (such as U+200B or "
            "U+202E), got 'a\\u202eb'\n",
        ),
        (
            ["--actor", "citizen:kim"],
            None,
            "Error: --actor may not be citizen:...: that is the actor of a citizen's own changes; choose another name\n",
        ),
        (
            [],
            "CITIZEN:kim",
            "Error: VAXRES_ACTOR may not be citizen:...: that is the actor of a citizen's own changes; "
            "choose another name\n",
        ),
    ],
)
def test_an_invalid_actor_is_refused_before_the_store_is_touched(cli, db_path, monkeypatch, args, env, message):
    if env is not None:
        monkeypatch.setenv("VAXRES_ACTOR", env)
    result = cli(
        *args, "slot", "add", "--date", day(1), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "1"
    )
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)
    assert not db_path.exists()
    as_json = cli(*args, "slot", "list", "--json")
    assert as_json.exit_code == 2 and json.loads(as_json.stderr)["code"] == "invalid_input"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_an_actor_or_refused_with_a_reason(text):
    try:
        actor = parse_actor(text)
    except InvalidInput as refused:
        assert refused.message.startswith("--actor ")
        return
    assert actor == " ".join(actor.split()) and 0 < len(actor) <= MAX_ACTOR_LENGTH and actor.isprintable()


# --- vaxres log -----------------------------------------------------------------------------


def history(cli, time_machine, tmp_path) -> dict:
    """Two days of changes by three actors. Day 1: slots 1 (added) and 2 (imported), kim booked
    in slot 1 and moved to slot 2, lee booked in slot 1 and waiting list changes. Day 2: kim
    cancelled, slot 1 raised."""
    plan = tmp_path / "plan.csv"
    plan.write_text(f"date,hospital,vaccine,quantity\n{day(8)},Busan,Pfizer,4\n")
    ok(
        cli(
            "--actor",
            "admin",
            "slot",
            "add",
            "--date",
            day(7),
            "--hospital",
            "Seoul",
            "--vaccine",
            "Pfizer",
            "--quantity",
            "2",
        )
    )
    ok(cli("--actor", "importer", "import", "slots", str(plan)))
    kim = cli.json("--actor", "desk1", "reserve", "--user", "kim", "--slot", "1")["id"]
    lee = cli.json("--actor", "desk2", "reserve", "--user", "lee", "--slot", "1")["id"]
    ok(cli("--actor", "desk1", "reschedule", str(kim), "--slot", "2"))
    ok(cli("--actor", "desk2", "waitlist", "join", "--user", "park", "--vaccine", "Moderna"))
    time_machine.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    ok(cli("--actor", "desk2", "cancel", str(kim)))
    ok(cli("--actor", "admin", "slot", "update", "1", "--quantity", "3"))
    return {"kim": kim, "lee": lee, "first": start_day().isoformat(), "second": day(1)}


def logged(cli, *args) -> list[tuple[str, str, int]]:
    return [(e["event"], e["actor"], e["about"]["id"]) for e in cli.json("log", *args)]


@pytest.fixture(params=["index", "order"])
def plan(request, monkeypatch):
    if request.param == "order":
        monkeypatch.setattr(listing, "MANY", 0)  # as with many matches: the list's order walked
    return request.param


@pytest.mark.usefixtures("backend", "plan")
def test_log_filters_and_order(cli, time_machine, tmp_path):
    h = history(cli, time_machine, tmp_path)
    kim, lee = h["kim"], h["lee"]
    everything = [
        ("SlotRegistered", "admin", 1),
        ("SlotRegistered", "importer", 2),
        ("ReservationConfirmed", "desk1", kim),
        ("ReservationConfirmed", "desk2", lee),
        ("ReservationRescheduled", "desk1", kim),
        ("WaitlistJoined", "desk2", 1),
        ("ReservationCancelled", "desk2", kim),
        ("SlotUpdated", "admin", 1),
    ]
    assert logged(cli) == everything
    listed = cli.json("log")
    assert [e["id"] for e in listed] == sorted(e["id"] for e in listed)  # oldest first
    assert logged(cli, "--reservation", str(kim)) == [everything[i] for i in (2, 4, 6)]
    assert logged(cli, "--reservation", str(lee)) == [everything[3]]
    # A slot's history: its own events and its bookings' while they were in it (kim moved out of 1).
    assert logged(cli, "--slot", "1") == [everything[i] for i in (0, 2, 3, 4, 7)]
    assert logged(cli, "--slot", "2") == [everything[i] for i in (1, 4, 6)]
    assert logged(cli, "--user", "kim") == [everything[i] for i in (2, 4, 6)]
    assert logged(cli, "--user", "park") == [everything[5]]
    assert logged(cli, "--actor", "desk2") == [everything[i] for i in (3, 5, 6)]
    assert logged(cli, "--actor", "admin", "--slot", "1") == [everything[0], everything[7]]
    assert logged(cli, "--from", h["second"]) == everything[6:]
    assert logged(cli, "--to", h["first"]) == everything[:6]
    assert logged(cli, "--from", h["second"], "--user", "kim") == [everything[6]]
    assert logged(cli, "--actor", "nobody") == []
    assert cli("log", "--actor", "nobody").stdout == "No changes match.\n"

    page = cli("log", "--limit", "3")
    assert (
        page.stdout.splitlines()[-1] == f"Showing 3 of 8; use --limit, --after {listed[2]['id']} or filters for more."
    )
    assert [e["id"] for e in cli.json("log", "--after", str(listed[2]["id"]), "--limit", "2")] == [
        listed[3]["id"],
        listed[4]["id"],
    ]
    jsonl = cli("log", "--jsonl", "--slot", "2")
    assert [json.loads(line) for line in jsonl.stdout.splitlines()] == cli.json("log", "--slot", "2")


@pytest.mark.one_backend
@pytest.mark.usefixtures("backend")
def test_a_log_entry_says_when_who_and_what(cli, time_machine, tmp_path):
    h = history(cli, time_machine, tmp_path)
    [cancelled] = cli.json("log", "--reservation", str(h["kim"]), "--from", h["second"])
    message = f"Your reservation {h['kim']} is cancelled: Pfizer (dose 1) at Busan on {day(8)}."
    assert cancelled == {
        "id": cancelled["id"],
        "created_at": cancelled["created_at"],
        "actor": "desk2",
        "event": "ReservationCancelled",
        "about": {"kind": "reservation", "id": h["kim"]},
        "recipient": "kim",
        "message": message,
        "status": "pending",
        "payload": {
            "reservation_id": h["kim"],
            "user": "kim",
            "dose": 1,
            "slot_id": 2,
            "date": day(8),
            "hospital": "Busan",
            "vaccine": "Pfizer",
            "contact": {"name": None, "phone": None, "email": None, "lang": None},
            "message": message,
            "lang": "en",
        },
    }
    assert cancelled["created_at"].startswith(h["second"]) and cancelled["created_at"].endswith("Z")
    assert [entry["actor"] for entry in cli.json("show", str(h["kim"]))["history"]] == ["desk1", "desk1", "desk2"]
    assert "│ desk2 " in cli("show", str(h["kim"])).stdout
    korean = cli.json("log", "--reservation", str(h["kim"]), "--from", h["second"], "--lang", "ko")[0]["message"]
    assert korean.startswith(f"예약 {h['kim']}번이 취소되었습니다")


@pytest.mark.one_backend
@pytest.mark.usefixtures("backend")
def test_the_log_table_shows_store_times_and_unknown_actors(cli, db_path, monkeypatch):
    ok(cli("db", "set-timezone", "Asia/Seoul"))
    ok(
        cli(
            "--actor",
            "[bold]desk[/]",
            "slot",
            "add",
            "--date",
            day(3),
            "--hospital",
            "Seoul",
            "--vaccine",
            "Pfizer",
            "--quantity",
            "2",
        )
    )
    ok(cli("reserve", "--user", "kim", "--slot", "1"))
    query(db_path, "UPDATE outbox SET actor = NULL WHERE id = 2")  # as a message from before the audit trail
    [first, second] = cli.json("log")
    stamp = dt.datetime.fromisoformat(first["created_at"].replace("Z", "+00:00")).astimezone(
        dt.timezone(dt.timedelta(hours=9))
    )
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("log").stdout.splitlines()
    assert out[0].rstrip() == "Log" and out[1].split() == ["ID", "When", "Who", "What"]
    assert all(len(line) <= 80 for line in out)
    assert out[3].startswith(f" 1  {stamp:%Y-%m-%d %H:%M} KST  [bold]desk[/]  New vaccination slot: Pfizer at Seoul")
    assert f"{stamp:%Y-%m-%d %H:%M} KST  unknown" in "\n".join(out)
    assert second["actor"] is None
    monkeypatch.setenv("COLUMNS", "160")
    wide = cli("log").stdout.splitlines()
    assert wide[1].split() == ["ID", "When", "Who", "Event", "What"] and "ReservationConfirmed" in wide[-1]


@pytest.mark.one_backend
@pytest.mark.usefixtures("backend")
def test_log_refusals(cli):
    assert cli("log").stdout == "No changes recorded yet.\n"
    ok(cli("slot", "add", "--date", day(3), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "2"))
    for args, code, message in [
        (["--reservation", "7"], 3, "there is no reservation 7; see `vaxres mypage USER` for a person's reservations"),
        (["--slot", "9"], 3, "there is no slot 9; see `vaxres slot list` for the slots that exist"),
        (["--after", "99"], 3, "there is no outbox message 99; see `vaxres outbox list`"),
        (["--reservation", "x"], 2, "reservation must be a whole number from 1 to 9,223,372,036,854,775,807, got 'x'"),
        (["--user", "*"], 2, "user '*' is reserved for broadcast notifications; give a person's id"),
        (["--limit", "0"], 2, "limit must be a whole number from 1 to 10,000, got 0"),
        (["--from", "2026-12-02", "--to", "2026-12-01"], 2, "--from 2026-12-02 is after --to 2026-12-01"),
    ]:
        result = cli("log", *args)
        assert (result.exit_code, result.stderr) == (code, f"Error: {message}\n"), args
    both = cli("log", "--json", "--jsonl")
    assert (both.exit_code, json.loads(both.stderr)) == (
        2,
        {"error": "give --json or --jsonl, not both", "code": "invalid_input"},
    )


# --- vaxres outbox prune --------------------------------------------------------------------


@pytest.mark.usefixtures("backend")
def test_prune_removes_old_delivered_messages_only(cli, db_path, tmp_path, time_machine, monkeypatch):
    monkeypatch.setattr(prune_module, "CHUNK", 2)  # several chunks
    for n in range(6):
        ok(cli("slot", "add", "--date", day(9 + n), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "1"))
    ok(cli("outbox", "deliver", "--to", str(tmp_path / "sent.jsonl"), "--limit", "5"))  # 1-5 delivered, 6 pending
    assert count_rows(db_path, "outbox") == 6  # delivering deletes nothing
    query(db_path, "UPDATE outbox SET status = 'failed', delivered_at = NULL WHERE id = 4")
    query(db_path, "UPDATE outbox SET status = 'in_flight', delivered_at = NULL, lease_owner = 'x' WHERE id = 5")
    time_machine.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    ok(cli("slot", "add", "--date", day(20), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "1"))
    ok(cli("outbox", "deliver", "--to", str(tmp_path / "sent.jsonl")))  # 6 and 7 delivered today
    statuses = dict(query(db_path, "SELECT id, status FROM outbox"))
    assert statuses == {
        1: "delivered",
        2: "delivered",
        3: "delivered",
        4: "failed",
        5: "in_flight",
        6: "delivered",
        7: "delivered",
    }

    today = day(2)
    dry = cli("outbox", "prune", "--before", today, "--dry-run")
    kept = "pending, in-flight and failed ones are kept.\n"
    assert (dry.exit_code, dry.stdout) == (0, f"Would prune 4 delivered messages created before {today}; {kept}")
    assert cli.json("outbox", "prune", "--before", today, "--dry-run") == {
        "would_prune": 4,
        "before": today,
        "dry_run": True,
    }
    assert count_rows(db_path, "outbox") == 7
    assert cli("outbox", "prune", "--before", start_day().isoformat()).stdout == (
        f"Pruned 0 delivered messages created before {start_day().isoformat()}; {kept}"
    )
    assert cli.json("outbox", "prune", "--before", today) == {"pruned": 4, "before": today, "dry_run": False}
    assert dict(query(db_path, "SELECT id, status FROM outbox")) == {4: "failed", 5: "in_flight", 7: "delivered"}
    assert [e["id"] for e in cli.json("log")] == [4, 5, 7]
    assert (
        cli("outbox", "prune", "--before", today).stdout
        == f"Pruned 0 delivered messages created before {today}; {kept}"
    )
    query(db_path, "UPDATE outbox SET status = 'pending' WHERE id = 4")
    assert cli.json("outbox", "prune", "--before", today)["pruned"] == 0  # pending is kept too

    future_day = day(3)
    refused = cli("outbox", "prune", "--before", future_day)
    assert (refused.exit_code, refused.stderr) == (
        2,
        f"Error: --before {future_day} is after today ({today}); give today or an earlier day (today's messages "
        f"are always kept)\n",
    )
    assert cli("outbox", "prune").exit_code == 2  # --before is required
    assert cli("outbox", "prune", "--before", "soon").exit_code == 2


def test_a_prune_the_store_stops_midway_says_how_many_went(cli, db_path, tmp_path, time_machine, monkeypatch):
    from contextlib import contextmanager

    from vaxres.db.store import Store
    from vaxres.errors import StoreBusy

    for n in range(3):
        ok(cli("slot", "add", "--date", day(9 + n), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "1"))
    ok(cli("outbox", "deliver", "--to", str(tmp_path / "sent.jsonl")))
    time_machine.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    monkeypatch.setattr(prune_module, "CHUNK", 1)
    real_write, writes = Store.write, []

    @contextmanager
    def busy_after_one(self):
        writes.append(1)
        if len(writes) > 1:
            raise StoreBusy("store busy, try again shortly")
        with real_write(self) as conn:
            yield conn

    monkeypatch.setattr(Store, "write", busy_after_one)
    result = cli("outbox", "prune", "--before", day(1))
    assert (result.exit_code, result.stderr) == (
        75,
        f"Error: store busy after pruning 1 delivered message created before {day(1)}; run the same command again "
        f"for the rest\n",
    )
    monkeypatch.setattr(Store, "write", real_write)
    assert cli.json("outbox", "prune", "--before", day(1))["pruned"] == 2
    assert count_rows(db_path, "outbox") == 0


# --- the store around it ----------------------------------------------------------------------


@pytest.mark.usefixtures("backend")
def test_migration_0010_keeps_older_messages_and_names_nobody_for_them(cli, db_path):
    from sqlalchemy import text

    from vaxres.db import migrate
    from vaxres.db.opening import open_store

    store = open_store(str(db_path), migrate=False)
    migrate.downgrade(store, "0009")
    assert store.schema_state().current == "0009"
    at = "2026-11-01 00:00:00+00:00"
    with store.write() as conn:
        conn.execute(
            text(
                "INSERT INTO slot (id, date, hospital, vaccine, hospital_key, vaccine_key, capacity, remaining, created_at, "
                "updated_at) VALUES (1, :d, 'Seoul', 'Pfizer', 'seoul', 'pfizer', 2, 1, :at, :at)"
            ),
            {"d": future(), "at": at},
        )
        conn.execute(
            text(
                "INSERT INTO reservation (id, slot_id, user_id, dose, status, reserved_at) VALUES (1, 1, 'kim', 1, 'reserved', :at)"
            ),
            {"at": at},
        )
        for number, (event, recipient) in enumerate(
            [("SlotRegistered", "*"), ("ReservationConfirmed", "kim")], start=1
        ):
            facts = {"slot_id": 1, "date": future(), "hospital": "Seoul", "vaccine": "Pfizer", "doses": 2}
            if recipient == "kim":
                facts = {**facts, "reservation_id": 1, "user": "kim", "dose": 1}
            conn.execute(
                text(
                    "INSERT INTO outbox (id, event, recipient, payload, correlation_id, created_at, status, attempts) "
                    "VALUES (:id, :event, :recipient, :payload, 1, :at, 'delivered', 1)"
                ),
                {"id": number, "event": event, "recipient": recipient, "payload": json.dumps(facts), "at": at},
            )
        if conn.dialect.name == "postgresql":
            for table in ("slot", "reservation", "outbox"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 2)"))
    store.dispose()
    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0 and f"from 0009 to {revisions.HEAD}" in upgraded.stdout, (
        upgraded.stdout + upgraded.stderr
    )
    assert [(e["event"], e["actor"]) for e in cli.json("log")] == [
        ("SlotRegistered", None),
        ("ReservationConfirmed", None),
    ]
    assert [e["event"] for e in cli.json("log", "--reservation", "1")] == ["ReservationConfirmed"]
    assert [e["event"] for e in cli.json("log", "--slot", "1")] == ["SlotRegistered", "ReservationConfirmed"]
    ok(cli("--actor", "desk", "cancel", "1"))
    assert [e["actor"] for e in cli.json("log", "--reservation", "1")] == [None, "desk"]
    assert "unknown" in cli("log", "--reservation", "1").stdout

    store = open_store(str(db_path), migrate=False)
    migrate.downgrade(store, "0008")
    assert count_rows(db_path, "outbox") == 3
    migrate.upgrade(store)
    assert query(db_path, "SELECT actor FROM outbox ORDER BY id") == [(None,), (None,), (None,)]  # 0008 kept no actor


@pytest.mark.usefixtures("sqlite_only")
def test_db_copy_keeps_the_actors_and_the_demo_records_its_own(cli, tmp_path):
    demo = cli.json("--actor", "trainer", "demo")
    assert {m["actor"] for m in demo["outbox"]} == {"trainer"}
    assert {e["event"] for e in cli.json("log")} >= {"WaitlistJoined", "ReservationRescheduled", "VaccinationRecorded"}
    copy = tmp_path / "copy.db"
    ok(cli("--actor", "mover", "db", "copy", str(copy)))
    assert cli.json("--db", str(copy), "log") == cli.json("log")


def test_a_delivered_message_does_not_carry_its_actor(cli, tmp_path):
    ok(
        cli(
            "--actor",
            "desk",
            "slot",
            "add",
            "--date",
            day(3),
            "--hospital",
            "Seoul",
            "--vaccine",
            "Pfizer",
            "--quantity",
            "2",
        )
    )
    sent = tmp_path / "sent.jsonl"
    ok(cli("outbox", "deliver", "--to", str(sent)))
    [body] = [json.loads(line) for line in sent.read_text().splitlines()]
    assert "actor" not in body and body["event"] == "SlotRegistered"
    assert cli.json("log")[0]["status"] == "delivered"
