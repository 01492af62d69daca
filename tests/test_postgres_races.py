"""PostgreSQL: the dose-series rules hold when real `vaxres` processes change one person's series
at once (issue 26). Each test holds the dose-2 slot's row from the outside, so that the dose-2
bookings stop just before their write, lets the other command run, then lets go: before the
per-person lock, the other command slipped in between a booking's check and its write."""

import datetime as dt
import json
import os
import subprocess
import time

import pytest

from tests.helpers import VAXRES, invariant_violations, note_errors, query

pytestmark = pytest.mark.skipif(not os.environ.get("VAXRES_TEST_POSTGRES_URL"), reason="needs PostgreSQL")
PEOPLE = 5
ENV = {**os.environ, "VAXRES_BUSY_TIMEOUT": "120"}


def _start(db: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [VAXRES, "--db", db, *args, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
    )


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=300)
    note_errors(err, os.environ.get("PYTEST_CURRENT_TEST", ""))
    return proc.returncode, out, err


def _waiting(db: str) -> int:
    """How many of the store's sessions wait for a lock (a row's or an advisory one)."""
    return query(
        db,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )[0][0]


def _settle(db: str, procs: list[subprocess.Popen], count: int) -> None:
    """Until `count` of these processes have ended or wait for a lock."""
    deadline = time.monotonic() + 120
    while sum(p.poll() is not None for p in procs) + _waiting(db) < count:
        assert time.monotonic() < deadline, "the processes neither ended nor waited"
        time.sleep(0.05)


class HeldSlot:
    """A session of the test's own holding one slot's row, as a booking in mid-write would."""

    def __init__(self, db: str, slot_id: int):
        from sqlalchemy import create_engine, text

        self.engine = create_engine(db)
        self.conn = self.engine.connect()
        self.conn.execute(text("SELECT id FROM slot WHERE id = :id FOR UPDATE"), {"id": slot_id})

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.engine.dispose()


def _series_store(cli, db: str, *, dose_1_day: dt.date, dose_2_day: dt.date) -> tuple[list[int], int]:
    """PEOPLE people holding Pfizer dose 1 on dose_1_day; the dose-2 slot's id."""
    assert cli("--db", db, "db", "upgrade").exit_code == 0
    first = cli.json(
        "--db",
        db,
        "slot",
        "add",
        "--date",
        dose_1_day.isoformat(),
        "--hospital",
        "H",
        "--vaccine",
        "Pfizer",
        "--quantity",
        "50",
    )
    second = cli.json(
        "--db",
        db,
        "slot",
        "add",
        "--date",
        dose_2_day.isoformat(),
        "--hospital",
        "H",
        "--vaccine",
        "Pfizer",
        "--quantity",
        "50",
    )
    booked = [
        cli.json("--db", db, "reserve", "--user", f"p{n}", "--slot", str(first["id"]))["id"] for n in range(PEOPLE)
    ]
    return booked, second["id"]


def _later_dose_without_the_earlier(db: str) -> list[tuple]:
    return query(
        db,
        """
        SELECT later.user_id, later.dose FROM reservation later
        WHERE later.status IN ('reserved', 'administered') AND later.dose > 1
          AND NOT EXISTS (SELECT 1 FROM reservation earlier WHERE earlier.user_id = later.user_id
                          AND earlier.dose = later.dose - 1 AND earlier.status IN ('reserved', 'administered'))
        """,
    )


def _dose_gaps(db: str) -> list[tuple]:
    """Each person holding doses 1 and 2: the days between them."""
    return query(
        db,
        """
        SELECT d2.user_id, s2.date - s1.date FROM reservation d1 JOIN slot s1 ON s1.id = d1.slot_id,
               reservation d2 JOIN slot s2 ON s2.id = d2.slot_id
        WHERE d1.user_id = d2.user_id AND d1.dose = 1 AND d2.dose = 2
          AND d1.status = 'reserved' AND d2.status = 'reserved'
        """,
    )


def _while_dose_2_bookings_wait(db: str, dose_2_slot: int, others: list[tuple[str, ...]]) -> list[tuple[int, str, str]]:
    """PEOPLE dose-2 bookings into the held slot, each stopped after its series check; then the
    `others` commands, until they end or wait; then the slot let go. Every process's outcome, the
    bookings first."""
    held = HeldSlot(db, dose_2_slot)
    try:
        bookings = [
            _start(db, "reserve", "--user", f"p{n}", "--slot", str(dose_2_slot), "--dose", "2") for n in range(PEOPLE)
        ]
        _settle(db, bookings, PEOPLE)
        started = [_start(db, *command) for command in others]
        _settle(db, bookings + started, PEOPLE + len(started))
    finally:
        held.release()
    return [_finish(p) for p in bookings + started]


def test_cancelling_dose_1_while_dose_2_is_booked_leaves_no_dose_2_alone(cli, empty_postgres):
    db = empty_postgres
    today = dt.date.today()
    dose_1s, dose_2_slot = _series_store(
        cli, db, dose_1_day=today + dt.timedelta(days=3), dose_2_day=today + dt.timedelta(days=30)
    )
    outcomes = _while_dose_2_bookings_wait(db, dose_2_slot, [("cancel", str(reservation)) for reservation in dose_1s])
    assert [code for code, _, _ in outcomes] == [0] * (2 * PEOPLE), outcomes
    # Each cancel came after its person's dose 2 was booked, so it cancelled that dose too.
    for _code, out, _err in outcomes[PEOPLE:]:
        assert len(json.loads(out)["also_cancelled"]) == 1
    assert _later_dose_without_the_earlier(db) == []
    assert invariant_violations(db) == []


def test_moving_dose_1_later_while_dose_2_is_booked_keeps_the_interval(cli, empty_postgres):
    db = empty_postgres
    today = dt.date.today()
    dose_1s, dose_2_slot = _series_store(
        cli, db, dose_1_day=today + dt.timedelta(days=3), dose_2_day=today + dt.timedelta(days=30)
    )
    later = cli.json(
        "--db",
        db,
        "slot",
        "add",
        "--date",
        (today + dt.timedelta(days=20)).isoformat(),
        "--hospital",
        "H",
        "--vaccine",
        "Pfizer",
        "--quantity",
        "50",
    )
    moves = [("reschedule", str(reservation), "--slot", str(later["id"])) for reservation in dose_1s]
    outcomes = _while_dose_2_bookings_wait(db, dose_2_slot, moves)
    assert [code for code, _, _ in outcomes[:PEOPLE]] == [0] * PEOPLE, outcomes
    for code, _out, err in outcomes[PEOPLE:]:
        assert code == 1 and json.loads(err)["code"] == "dose_interval", outcomes
    gaps = _dose_gaps(db)
    assert len(gaps) == PEOPLE and all(days >= 21 for _user, days in gaps), gaps


def test_shortening_the_series_while_dose_2_is_booked_is_refused(cli, empty_postgres):
    db = empty_postgres
    today = dt.date.today()
    _dose_1s, dose_2_slot = _series_store(
        cli, db, dose_1_day=today + dt.timedelta(days=3), dose_2_day=today + dt.timedelta(days=30)
    )
    outcomes = _while_dose_2_bookings_wait(db, dose_2_slot, [("vaccine", "update", "Pfizer", "--doses", "1")])
    assert [code for code, _, _ in outcomes[:PEOPLE]] == [0] * PEOPLE, outcomes
    code, _out, err = outcomes[-1]
    assert code == 1 and json.loads(err)["code"] == "doses_in_use", outcomes
    assert query(db, "SELECT doses FROM vaccine WHERE name = 'Pfizer'") == [(2,)]


@pytest.mark.slow
def test_a_storm_of_series_changes_leaves_every_series_whole(cli, empty_postgres):
    """The issue's storm: 64 processes at once booking dose 2, cancelling and moving dose 1, and
    shortening and restoring the series."""
    db = empty_postgres
    today = dt.date.today()
    people = 20
    assert cli("--db", db, "db", "upgrade").exit_code == 0
    add = ("slot", "add", "--hospital", "H", "--vaccine", "Pfizer", "--quantity", "100", "--date")
    first = cli.json("--db", db, *add, (today + dt.timedelta(days=3)).isoformat())["id"]
    moved_to = cli.json("--db", db, *add, (today + dt.timedelta(days=12)).isoformat())["id"]
    second = cli.json("--db", db, *add, (today + dt.timedelta(days=30)).isoformat())["id"]
    dose_1s = [cli.json("--db", db, "reserve", "--user", f"p{n}", "--slot", str(first))["id"] for n in range(people)]
    commands = []
    for n, reservation in enumerate(dose_1s):
        commands.append(("reserve", "--user", f"p{n}", "--slot", str(second), "--dose", "2"))
        commands.append(("reschedule", str(reservation), "--slot", str(moved_to)))
        commands.append(("cancel", str(reservation)))
    for doses in ("1", "2", "1", "2"):
        commands.append(("vaccine", "update", "Pfizer", "--doses", doses, "--min-interval", "21"))
    commands = commands[::3] + commands[1::3] + commands[2::3]  # kinds interleaved in start order
    procs = [_start(db, *command) for command in commands]
    outcomes = [(command, *_finish(proc)) for command, proc in zip(commands, procs)]
    refusals = {"dose_interval", "dose_order", "series_complete", "already_cancelled", "doses_in_use", "not_reserved"}
    for command, code, _out, err in outcomes:
        assert code == 0 or (code == 1 and json.loads(err)["code"] in refusals), (command, code, err)
    assert _later_dose_without_the_earlier(db) == []
    gaps = _dose_gaps(db)
    assert all(days >= 21 for _user, days in gaps), gaps
    doses = query(db, "SELECT doses FROM vaccine WHERE name = 'Pfizer'")[0][0]
    if doses == 1:
        assert query(db, "SELECT count(*) FROM reservation WHERE dose = 2 AND status = 'reserved'") == [(0,)]
    assert invariant_violations(db) == []


def test_cancelling_dose_1_while_an_import_books_dose_2_leaves_no_dose_2_alone(cli, empty_postgres, tmp_path):
    db = empty_postgres
    today = dt.date.today()
    dose_1s, dose_2_slot = _series_store(
        cli, db, dose_1_day=today + dt.timedelta(days=3), dose_2_day=today + dt.timedelta(days=30)
    )
    plan = tmp_path / "dose2.csv"
    day = (today + dt.timedelta(days=30)).isoformat()
    plan.write_text("date,hospital,vaccine,user,dose\n" + "".join(f"{day},H,Pfizer,p{n},2\n" for n in range(PEOPLE)))
    held = HeldSlot(db, dose_2_slot)
    try:
        loading = _start(db, "import", "reservations", str(plan))
        _settle(db, [loading], 1)  # the chunk has read everyone's series and waits for the slot
        cancels = [_start(db, "cancel", str(reservation)) for reservation in dose_1s]
        _settle(db, [loading, *cancels], PEOPLE + 1)
    finally:
        held.release()
    outcomes = [_finish(p) for p in [loading, *cancels]]
    assert [code for code, _, _ in outcomes] == [0] * (PEOPLE + 1), outcomes
    assert json.loads(outcomes[0][1])["booked"] == PEOPLE
    assert _later_dose_without_the_earlier(db) == []
    assert invariant_violations(db) == []


class HeldPerson:
    """The test's own session holding a person's lock, as that person's change in mid-write would."""

    def __init__(self, db: str, user: str):
        from sqlalchemy import create_engine, text

        from vaxres.booking.locks import _SPACE, bucket

        self.engine = create_engine(db)
        self.conn = self.engine.connect()
        self.conn.execute(
            text("SELECT pg_advisory_xact_lock(:space, :bucket)"), {"space": _SPACE, "bucket": bucket(user)}
        )

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.engine.dispose()


def _waiting_for_dose_2(cli, db: str) -> tuple[int, int]:
    """w holds dose 1 and waits for dose 2; q holds the only dose-2 dose. Their reservations."""
    today = dt.date.today()
    assert cli("--db", db, "db", "upgrade").exit_code == 0
    add = ("slot", "add", "--hospital", "H", "--vaccine", "Pfizer", "--date")
    first = cli.json("--db", db, *add, (today + dt.timedelta(days=3)).isoformat(), "--quantity", "5")["id"]
    second = cli.json("--db", db, *add, (today + dt.timedelta(days=30)).isoformat(), "--quantity", "1")["id"]
    w_dose_1 = cli.json("--db", db, "reserve", "--user", "w", "--slot", str(first))["id"]
    cli.json("--db", db, "reserve", "--user", "q", "--slot", str(first))
    q_dose_2 = cli.json("--db", db, "reserve", "--user", "q", "--slot", str(second), "--dose", "2")["id"]
    assert cli.json("--db", db, "waitlist", "join", "--user", "w", "--vaccine", "Pfizer", "--dose", "2")["waiting"]
    return w_dose_1, q_dose_2


def test_a_freed_dose_skips_a_waiting_person_whose_change_is_under_way(cli, empty_postgres):
    db = empty_postgres
    _w_dose_1, q_dose_2 = _waiting_for_dose_2(cli, db)
    held = HeldPerson(db, "w")
    try:
        freed = _finish(_start(db, "cancel", str(q_dose_2)))  # ends at once: w's lock is not waited for
    finally:
        held.release()
    assert freed[0] == 0 and json.loads(freed[1])["from_waitlist"] == [], freed
    assert [entry["user"] for entry in cli.json("--db", db, "waitlist", "list")] == ["w"]
    # The next dose freed goes to w.
    cli.json("--db", db, "slot", "update", "2", "--quantity", "2")
    assert sorted((b["dose"], b["status"]) for b in cli.json("--db", db, "mypage", "w")["reservations"]) == [
        (1, "reserved"),
        (2, "reserved"),
    ]
    assert cli.json("--db", db, "waitlist", "list") == []


def test_an_import_of_slots_skips_a_waiting_person_whose_change_is_under_way(cli, empty_postgres, tmp_path):
    db = empty_postgres
    _waiting_for_dose_2(cli, db)
    day = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    plan = tmp_path / "plan.csv"
    plan.write_text(f"date,hospital,vaccine,quantity\n{day},H2,Pfizer,3\n")
    held = HeldPerson(db, "w")
    try:
        loaded = _finish(_start(db, "import", "slots", str(plan)))
    finally:
        held.release()
    assert loaded[0] == 0 and json.loads(loaded[1])["from_waitlist"] == 0, loaded
    assert [entry["user"] for entry in cli.json("--db", db, "waitlist", "list")] == ["w"]
