"""`vaxres export` (issue 14): the CSV of slots and reservations imports into a fresh store as the
same slots and bookings, JSONL holds the objects the list commands print, and the filters, the
formats and bad input, on both backends."""

import csv
import datetime as dt
import io
import json

import pytest

from tests.helpers import future, postgres_database, start_day

pytestmark = pytest.mark.usefixtures("backend")

HOSTILE = "=cmd|' /C calc'!A0"
QUOTED = 'Clinic "North", 2F'
MARKUP = "[bold]Busan[/bold]"


def slot(cli, date, hospital, vaccine, quantity) -> int:
    return cli.json(
        "slot", "add", "--date", date, "--hospital", hospital, "--vaccine", vaccine, "--quantity", str(quantity)
    )["id"]


def reserve(cli, user, slot_id, dose=1) -> int:
    return cli.json("reserve", "--user", user, "--slot", str(slot_id), "--dose", str(dose))["id"]


@pytest.fixture
def known(cli):
    """A store built by known commands: names a spreadsheet or a terminal would misread, a series
    of two doses, a cancellation, a reschedule, a dose given today with a lot, someone waiting."""
    seoul_today = slot(cli, start_day().isoformat(), "서울대병원", "Pfizer", 5)
    seoul = slot(cli, future(3), "서울대병원", "Pfizer", 5)
    hostile = slot(cli, future(3), HOSTILE, "모더나", 3)
    north = slot(cli, future(3), QUOTED, "Pfizer", 4)
    busan = slot(cli, future(4), MARKUP, "Janssen", 2)
    seoul_later = slot(cli, future(24), "서울대병원", "Pfizer", 5)  # Pfizer's 21 days after
    slot(cli, future(40), "+Plus Clinic", "Pfizer", 1)
    reserve(cli, "kim", seoul)
    reserve(cli, "kim", seoul_later, dose=2)
    reserve(cli, "@lee", hostile)
    reserve(cli, "park", busan)
    reserve(cli, "-yun", busan)
    cli.json("cancel", str(reserve(cli, "choi", north)))
    cli.json("reschedule", str(reserve(cli, "han", seoul)), "--slot", str(north))
    cli.json("administer", str(reserve(cli, "jung", seoul_today)), "--lot", "-LOT7")
    assert cli.json("waitlist", "join", "--user", "yoon", "--vaccine", "Janssen", "--to", future(30))["waiting"]
    return {"users": ["kim", "@lee", "park", "-yun", "choi", "han", "jung"]}


@pytest.fixture
def fresh(backend, tmp_path):
    """A second, empty store on the same backend: where an export is imported."""
    if backend == "sqlite":
        yield str(tmp_path / "fresh.db")
        return
    from vaxres.admin.database import upgrade
    from vaxres.db.opening import open_store

    with postgres_database() as url:
        upgrade(open_store(url, migrate=False))
        yield url


def exported(cli, kind, *options, db=None) -> str:
    result = cli(*(["--db", db] if db else []), "export", kind, *options)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def without(objects: list[dict], *keys: str) -> list[dict]:
    return [{k: v for k, v in o.items() if k not in keys} for o in objects]


def page(cli, user, *prefix) -> dict:
    result = cli(*prefix, "mypage", "--json", "--", user)  # "--": a user may be "-yun"
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def held(cli, users, db=None) -> list[tuple]:
    """Each person's bookings that hold a dose, as a fresh store can have them: an import books,
    so a dose given (administered) comes back as reserved."""
    prefix = ["--db", db] if db else []
    found = []
    for user in users:
        for b in page(cli, user, *prefix)["reservations"]:
            if b["status"] in ("reserved", "administered"):
                found.append((b["user"], b["dose"], b["date"], b["hospital"], b["vaccine"]))
    return sorted(found)


def test_csv_round_trip_gives_the_same_slots_and_bookings(cli, known, fresh, tmp_path):
    slots_file, bookings_file = tmp_path / "slots.csv", tmp_path / "bookings.csv"
    assert cli("export", "slots", "--output", str(slots_file)).stdout == f"Exported 7 slots to {slots_file}.\n"
    assert (
        cli("export", "reservations", "--output", str(bookings_file)).stdout
        == f"Exported 7 reservations to {bookings_file}.\n"
    )
    imported = cli("--db", fresh, "import", "slots", str(slots_file))
    assert imported.exit_code == 0, imported.stderr
    booked = cli.json("--db", fresh, "import", "reservations", str(bookings_file))
    assert (booked["booked"], booked["refused"], booked["invalid"]) == (7, 0, 0)
    assert without(cli.json("--db", fresh, "slot", "list"), "id") == without(cli.json("slot", "list"), "id")
    assert held(cli, known["users"], db=fresh) == held(cli, known["users"])
    # Exported again, the fresh store gives the same file but for ids, times, and the dose given.
    again = csv_rows(exported(cli, "reservations", db=fresh))
    first = csv_rows(bookings_file.read_text())
    moving = ("id", "slot_id", "reserved_at", "administered_at", "status", "lot")
    assert without(again, *moving) == without(first, *moving)
    assert [r["status"] for r in first].count("administered") == 1 and {r["status"] for r in again} == {"reserved"}
    assert without(csv_rows(exported(cli, "slots", db=fresh)), "id") == without(csv_rows(slots_file.read_text()), "id")


def test_the_csv_headers_are_the_imports_and_values_are_exact(cli, known):
    slots = exported(cli, "slots")
    assert slots.splitlines()[0] == "date,hospital,vaccine,quantity,remaining,id"
    assert slots.splitlines()[1] == f"{start_day().isoformat()},서울대병원,Pfizer,5,4,1"
    assert {r["hospital"] for r in csv_rows(slots)} == {"서울대병원", HOSTILE, QUOTED, MARKUP, "+Plus Clinic"}
    assert f'"{QUOTED.replace(chr(34), 2 * chr(34))}"' in slots  # quoted as CSV, read back whole
    bookings = csv_rows(exported(cli, "reservations"))
    assert list(bookings[0]) == [
        "user", "date", "hospital", "vaccine", "dose", "status", "id", "slot_id",
        "reserved_at", "cancelled_at", "administered_at", "lot",
    ]  # fmt: skip
    assert [r["id"] for r in bookings] == sorted((r["id"] for r in bookings), key=int)
    given = next(r for r in bookings if r["user"] == "jung")
    assert (given["status"], given["lot"], given["administered_at"].endswith("Z")) == ("administered", "-LOT7", True)
    assert "\r" not in slots and not slots.startswith("\ufeff")


def test_reservations_default_to_the_held_ones_and_status_chooses(cli, known):
    def statuses(*options):
        return sorted(r["status"] for r in csv_rows(exported(cli, "reservations", *options)))

    assert statuses() == ["administered"] + ["reserved"] * 6
    assert statuses("--status", "all") == ["administered", "cancelled"] + ["reserved"] * 6
    assert statuses("--status", "cancelled") == ["cancelled"]
    assert statuses("--status", "Cancelled,administered") == ["administered", "cancelled"]
    assert statuses("--status", "cancelled", "--status", "reserved") == ["cancelled"] + ["reserved"] * 6
    bad = cli("export", "reservations", "--status", "gone")
    assert (bad.exit_code, bad.stderr) == (
        2,
        "Error: status must be reserved, cancelled, administered, no_show or all, got 'gone'\n",
    )


def test_jsonl_objects_are_those_the_list_commands_print(cli, known, fresh, tmp_path):
    assert jsonl(exported(cli, "slots", "--format", "jsonl")) == cli.json("slot", "list")
    everyone = jsonl(exported(cli, "reservations", "--format", "JSONL", "--status", "all"))
    pages = [b for user in known["users"] for b in page(cli, user)["reservations"]]
    assert everyone == sorted(pages, key=lambda b: b["id"])
    assert jsonl(exported(cli, "waitlist", "--format", "jsonl")) == cli.json("waitlist", "list")
    assert jsonl(exported(cli, "outbox", "--format", "jsonl")) == cli.json("outbox", "list")
    assert jsonl(exported(cli, "outbox", "--format", "jsonl", "--lang", "ko")) == cli.json(
        "outbox", "list", "--lang", "ko"
    )
    # And through the CSV round trip the objects stay the same but for ids and times.
    for kind in ("slots", "reservations"):
        (tmp_path / f"{kind}.csv").write_text(exported(cli, kind))
        assert cli("--db", fresh, "import", kind, str(tmp_path / f"{kind}.csv")).exit_code == 0
    keep = ("user", "dose", "date", "hospital", "vaccine", "capacity", "remaining")
    for kind in ("slots", "reservations"):
        ours = [{k: v for k, v in o.items() if k in keep} for o in jsonl(exported(cli, kind, "--format", "jsonl"))]
        theirs = [
            {k: v for k, v in o.items() if k in keep} for o in jsonl(exported(cli, kind, "--format", "jsonl", db=fresh))
        ]
        assert theirs == ours


def test_outbox_and_waitlist_csv_have_their_own_columns(cli, known):
    messages = csv_rows(exported(cli, "outbox"))
    listed = cli.json("outbox", "list")
    assert [int(m["id"]) for m in messages] == [m["id"] for m in listed]
    assert [m["message"] for m in messages] == [m["payload"]["message"] for m in listed]
    assert [json.loads(m["payload"]) for m in messages] == [m["payload"] for m in listed]
    waiting = csv_rows(exported(cli, "waitlist"))
    assert waiting == [
        {"id": "1", "user": "yoon", "dose": "1", "vaccine": "Janssen", "hospital": "", "from": start_day().isoformat(),
         "to": future(30), "joined_at": waiting[0]["joined_at"], "position": "1"}
    ]  # fmt: skip


def test_from_and_to_select_by_the_slots_day(cli, known):
    days = sorted({r["date"] for r in csv_rows(exported(cli, "slots", "--from", future(3), "--to", future(4)))})
    assert days == [future(3), future(4)]
    assert [r["date"] for r in csv_rows(exported(cli, "slots", "--to", start_day().isoformat()))] == [
        start_day().isoformat()
    ]
    bookings = csv_rows(exported(cli, "reservations", "--from", future(4)))
    assert sorted(r["user"] for r in bookings) == ["-yun", "kim", "park"]  # kim: dose 2, 21 days later
    assert exported(cli, "reservations", "--from", future(100)).splitlines() == [
        "user,date,hospital,vaccine,dose,status,id,slot_id,reserved_at,cancelled_at,administered_at,lot"
    ]


def test_the_waitlist_by_overlap_and_the_outbox_by_the_stores_day(cli, db_path, time_machine):
    cli.json("db", "set-timezone", "Asia/Seoul")
    time_machine.move_to(dt.datetime(2031, 3, 1, 14, 30, tzinfo=dt.UTC), tick=False)  # 23:30 in Seoul, March 1
    slot(cli, "2031-03-10", "Seoul", "Janssen", 1)
    time_machine.move_to(dt.datetime(2031, 3, 1, 15, 30, tzinfo=dt.UTC), tick=False)  # 00:30 in Seoul, March 2
    reserve(cli, "kim", 1)
    cli.json("waitlist", "join", "--user", "lee", "--vaccine", "Janssen", "--from", "2031-03-05", "--to", "2031-03-09")
    cli.json("waitlist", "join", "--user", "park", "--vaccine", "Janssen", "--from", "2031-03-12")

    def events(*days):
        return [m["event"] for m in csv_rows(exported(cli, "outbox", *days))]

    assert events("--to", "2031-03-01") == ["SlotRegistered"]
    assert events("--from", "2031-03-02") == ["ReservationConfirmed", "WaitlistJoined", "WaitlistJoined"]

    def waiting(*days):
        return [e["user"] for e in csv_rows(exported(cli, "waitlist", *days))]

    assert waiting() == ["lee", "park"]
    assert waiting("--from", "2031-03-09", "--to", "2031-03-09") == ["lee"]
    assert waiting("--from", "2031-03-10", "--to", "2031-03-11") == []
    assert waiting("--from", "2040-01-01") == ["park"]  # open-ended
    assert waiting("--to", "2031-03-05") == ["lee"]
    assert [e["position"] for e in csv_rows(exported(cli, "waitlist", "--from", "2031-03-12"))] == ["2"]


def test_a_no_show_is_exported_when_asked_for(cli, time_machine):
    start = dt.date.today()
    reserve(cli, "kim", slot(cli, future(1), "Seoul", "Pfizer", 2))
    time_machine.move_to(start + dt.timedelta(days=3))
    cli.json("close-day")
    assert csv_rows(exported(cli, "reservations")) == []
    assert [r["status"] for r in csv_rows(exported(cli, "reservations", "--status", "no_show"))] == ["no_show"]
