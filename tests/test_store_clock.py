"""The operator's store and clock: a mistyped --db never becomes a new empty store for a command
that reads; the store keeps its own time zone, and every "today" and every time in a table is
the store's."""

import datetime as dt
import json

import pytest
from rich.cells import cell_len

from tests.helpers import count_rows, query, run_vaxres

MISSING = (
    "Error: there is no store at {path}; check --db or VAXRES_DB (`vaxres db path` shows the store in use), "
    "or register a slot to create one\n"
)

READERS = [
    ["slot", "list"],
    ["slot", "list", "--available"],
    ["mypage", "kim"],
    ["show", "1"],
    ["vaccine", "list"],
    ["outbox", "list"],
    ["db", "current"],
    ["db", "info"],
    ["cancel", "1"],
    ["reserve", "--user", "kim", "--slot", "1"],
    ["reschedule", "1", "--slot", "2"],
    ["administer", "1"],
    ["close-day"],
    ["remind"],
    ["slot", "update", "1", "--quantity", "3"],
    ["outbox", "retry", "--failed"],
    ["outbox", "deliver", "--to", "-"],
    ["db", "set-timezone", "Asia/Seoul"],
    ["db", "set-language", "ko"],
    ["import", "slots", "FILE", "--dry-run"],
    ["import", "reservations", "FILE"],
]


@pytest.mark.no_store
@pytest.mark.parametrize("args", READERS, ids=lambda args: " ".join(args))
def test_a_command_that_cannot_work_on_an_empty_store_never_creates_one(cli, tmp_path, args):
    csv = tmp_path / "in.csv"
    csv.write_text("date,hospital,vaccine,quantity,user\n2099-01-01,A,Janssen,1,kim\n")
    path = tmp_path / "typo.db"
    result = cli("--db", str(path), *[str(csv) if a == "FILE" else a for a in args])
    assert (result.exit_code, result.stderr) == (3, MISSING.format(path=path))
    assert not path.exists()
    as_json = cli("--db", str(path), *[str(csv) if a == "FILE" else a for a in args], "--json")
    assert json.loads(as_json.stderr)["code"] == "store_not_found"
    assert not path.exists()


@pytest.mark.no_store
def test_the_default_store_is_not_made_by_a_command_that_reads(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("VAXRES_DB")
    result = cli("mypage", "kim")
    default = tmp_path / "xdg" / "vaxres" / "vaxres.db"
    assert (result.exit_code, result.stderr) == (3, MISSING.format(path=default))
    assert not (tmp_path / "xdg").exists()


@pytest.mark.no_store
@pytest.mark.parametrize(
    "args",
    [
        ["slot", "add", "--date", "2099-01-01", "--hospital", "A", "--vaccine", "Janssen", "--quantity", "3"],
        ["vaccine", "add", "Sputnik", "--doses", "2", "--min-interval", "21"],
        ["vaccine", "update", "Pfizer", "--doses", "3"],
        ["import", "slots", "FILE"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_a_command_that_writes_creates_the_store_and_says_so_once(cli, tmp_path, args):
    csv = tmp_path / "in.csv"
    csv.write_text("date,hospital,vaccine,quantity\n2099-01-01,A,Janssen,1\n")
    path = tmp_path / "new.db"
    args = [str(csv) if a == "FILE" else a for a in args]
    first = cli("--db", str(path), *args)
    assert first.exit_code == 0, first.stderr
    assert first.stderr == (f"Created the store {path} (time zone Etc/UTC; `vaxres db set-timezone` changes it).\n")
    assert query(path, "SELECT value FROM store_setting WHERE key = 'timezone'") == [("Etc/UTC",)]
    assert cli("--db", str(path), "slot", "list").stderr == ""


@pytest.mark.no_store
@pytest.mark.parametrize(
    "args, message",
    [
        (["--date", "2026-02-30"], "Error: date '2026-02-30' is not a real calendar date\n"),
        (["--quantity", "0"], "Error: quantity must be a whole number from 1 to 1,000,000, got 0\n"),
        (["--hospital", " "], "Error: hospital must not be empty\n"),
    ],
)
def test_a_refused_first_command_leaves_no_store_behind(cli, tmp_path, args, message):
    path = tmp_path / "new.db"
    values = {"--date": "2099-01-01", "--hospital": "A", "--vaccine": "Janssen", "--quantity": "3"}
    values.update(dict(zip(args[::2], args[1::2])))
    result = cli("--db", str(path), "slot", "add", *[x for pair in values.items() for x in pair])
    assert (result.exit_code, result.stderr) == (2, message)
    assert not path.exists()


@pytest.mark.no_store
def test_the_zone_comes_from_the_machine_when_the_store_is_made(cli, tmp_path, monkeypatch):
    import os

    path = tmp_path / "seoul.db"
    made = run_vaxres(
        "--db",
        str(path),
        "slot",
        "add",
        "--date",
        "2099-01-01",
        "--hospital",
        "A",
        "--vaccine",
        "Janssen",
        "--quantity",
        "1",
        env={**os.environ, "TZ": "Asia/Seoul"},
    )
    assert made.returncode == 0
    assert made.stderr == f"Created the store {path} (time zone Asia/Seoul; `vaxres db set-timezone` changes it).\n"
    assert cli.json("--db", str(path), "db", "info")["timezone"] == "Asia/Seoul"


def test_set_timezone_and_info(cli, db_path, backend, time_machine):
    time_machine.move_to(dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC), tick=False)
    changed = cli("db", "set-timezone", "Asia/Seoul")
    assert (changed.exit_code, changed.stdout) == (
        0,
        "The store's time zone is now Asia/Seoul (was Etc/UTC); today there is 2026-12-02.\n",
    )
    again = cli("db", "set-timezone", " Asia/Seoul ")
    assert again.stdout == "The store's time zone is already Asia/Seoul; nothing changed.\n"
    info = cli.json("db", "info")
    assert info["timezone"] == "Asia/Seoul" and info["today"] == "2026-12-02"
    assert info["backend"] == backend and info["revision"] == info["head"] and info["up_to_date"] is True
    assert info["counts"] == {"vaccines": 5, "slots": 0, "reservations": 0, "outbox": 0}
    text = cli("db", "info").stdout.splitlines()
    assert "Time zone:    Asia/Seoul (today is 2026-12-02 there)" in text
    assert "Slots:        0" in text


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "", "/etc/localtime", "Asia/Seoul\x00"])
def test_an_unknown_zone_is_invalid_and_changes_nothing(cli, db_path, zone):
    result = cli("db", "set-timezone", zone)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: time zone ")
    assert result.stderr.endswith(
        "is not a known time zone; give an IANA name such as Asia/Seoul, Europe/Berlin or UTC\n"
    )
    assert cli.json("db", "info")["timezone"] == "Etc/UTC"


def _slot(cli, date, hospital="A", vaccine="Janssen"):
    return cli("slot", "add", "--date", date, "--hospital", hospital, "--vaccine", vaccine, "--quantity", "3")


def test_today_is_the_stores_not_the_machines(cli, db_path, backend, time_machine):
    """20:00 UTC on 1 December is already 2 December in Seoul: the 1st is past there."""
    time_machine.move_to(dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC), tick=False)
    assert _slot(cli, "2026-12-01", hospital="UTC clinic").exit_code == 0
    assert _slot(cli, "2026-12-02", hospital="Seoul clinic").exit_code == 0
    assert cli("reserve", "--user", "kim", "--slot", "1").exit_code == 0

    cli("db", "set-timezone", "Asia/Seoul")
    past = _slot(cli, "2026-12-01", hospital="B")
    assert (past.exit_code, past.stderr) == (
        2,
        "Error: date 2026-12-01 is in the past; give today (2026-12-02) or later\n",
    )
    booked = cli("reserve", "--user", "lee", "--slot", "1")
    assert (booked.exit_code, json.loads(cli("reserve", "--user", "lee", "--slot", "1", "--json").stderr)["code"]) == (
        1,
        "slot_in_past",
    )
    assert [s["id"] for s in cli.json("slot", "list", "--available")] == [2]
    assert cli("cancel", "1").exit_code == 1  # its day is over in Seoul
    closed = cli("close-day")  # the day before the store's today: 1 December
    assert closed.stdout == "Closed up to 2026-12-01: 1 booking marked no-show.\n"
    assert count_rows(db_path, "reservation", "status = 'no_show'") == 1

    cli("db", "set-timezone", "America/New_York")  # 15:00 on 1 December there
    assert cli("close-day").stdout == "No bookings left open up to 2026-11-30; nothing changed.\n"
    assert _slot(cli, "2026-12-01", hospital="C").exit_code == 0


def test_tables_show_times_in_the_stores_zone_and_json_in_utc(cli, db_path, backend, time_machine, monkeypatch):
    time_machine.move_to(dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.UTC), tick=False)
    cli("db", "set-timezone", "Asia/Seoul")
    _slot(cli, "2026-12-03")
    cli("reserve", "--user", "kim", "--slot", "1")
    monkeypatch.setenv("COLUMNS", "120")
    assert "2026-12-01 10:30 KST" in cli("mypage", "kim").stdout
    assert "2026-12-01 10:30 KST" in cli("show", "1").stdout
    assert cli.json("mypage", "kim")["reservations"][0]["reserved_at"] == "2026-12-01T01:30:00Z"
    cli("db", "set-timezone", "UTC")
    assert "2026-12-01 01:30 UTC" in cli("mypage", "kim").stdout


def test_mypage_at_80_columns_gives_the_hospital_the_room(cli, monkeypatch):
    _slot(cli, "2099-01-05", hospital="Seoul National University Hospital", vaccine="Pfizer")
    _slot(cli, "2099-01-06", hospital="서울특별시 강남구 보건소 예방접종센터", vaccine="Janssen")
    cli("reserve", "--user", "kim", "--slot", "1")
    monkeypatch.setenv("COLUMNS", "80")
    page = cli("mypage", "kim").stdout
    cells = [line.split("│")[4].strip() for line in page.splitlines() if line.startswith("│")]
    assert cells == ["Seoul National University", "Hospital"]
    assert "Reserved at" not in page
    assert max(cell_len(line) for line in page.splitlines()) <= 80
    cli("reserve", "--user", "lee", "--slot", "2")
    lines = cli("mypage", "lee").stdout.splitlines()
    cells = [line.split("│")[4].strip() for line in lines if line.startswith("│")]
    assert " ".join(cells) == "서울특별시 강남구 보건소 예방접종센터"  # wrapped between words only
    slots = cli("slot", "list").stdout
    assert max(cell_len(line) for line in slots.splitlines()) <= 80
    assert "예방접종센터" in slots and "Remaining" in slots


def test_outbox_days_are_the_stores_days(cli, db_path, backend, time_machine):
    """A message written at 20:00 UTC on 1 December was written on 2 December in Seoul."""
    time_machine.move_to(dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC), tick=False)
    cli("db", "set-timezone", "Asia/Seoul")
    _slot(cli, "2026-12-05")
    assert len(cli.json("outbox", "list", "--from", "2026-12-02", "--to", "2026-12-02")) == 1
    assert cli.json("outbox", "list", "--to", "2026-12-01") == []
    cli("db", "set-timezone", "UTC")
    assert len(cli.json("outbox", "list", "--from", "2026-12-01", "--to", "2026-12-01")) == 1
    assert "2026-12-01 20:00 UTC" in cli("outbox", "show", "1").stdout


@pytest.mark.real_database_clock
def test_close_day_refuses_a_day_the_database_clock_has_not_ended(cli, db_path, backend, time_machine):
    """A client whose clock runs a day ahead would mark today's bookings as no-shows (issue 26).
    PostgreSQL's clock decides; SQLite has only this machine's clock (docs/lifecycle.md)."""
    real_now = dt.datetime.now(dt.UTC)
    today = real_now.date().isoformat()  # the store's zone is UTC: the template store's default
    cli("db", "set-timezone", "UTC")
    cli.json("slot", "add", "--date", today, "--hospital", "H", "--vaccine", "Janssen", "--quantity", "2")
    cli.json("reserve", "--user", "kim", "--slot", "1")
    time_machine.move_to(real_now + dt.timedelta(days=1, minutes=2), tick=False)
    result = cli("close-day", "--json")
    if backend == "sqlite":
        assert result.exit_code == 0 and json.loads(result.stdout)["no_shows"] == 1
        return
    assert result.exit_code == 1, result.stderr
    error = json.loads(result.stderr)
    assert error["code"] == "clock_disagrees"
    assert error["error"].startswith(f"{today} is not over by the database's clock (")
    assert error["error"].endswith(
        "and this machine's clock is 24 h 2 min ahead of it; nothing was closed: "
        "set this machine's clock right (NTP) and run close-day again"
    )
    assert count_rows(db_path, "reservation", "status = 'reserved'") == 1
    # A small difference is not a disagreement: a day over by both clocks closes.
    time_machine.move_to(real_now + dt.timedelta(minutes=2), tick=False)
    assert cli("close-day", "--json").exit_code == 0
