"""Eligibility windows (issue 21): Korea's 2021 rush replayed with a moved clock, on both backends.

18-49 (born 1972-01-01 … 2003-12-31) opens on 9 August at 20:00 with the 10부제 rotation: day d's
window runs from 20:00 on d to 18:00 on d+1 and admits people whose day of birth ends in d's last
digit; a catch-up window for born 1972–1985 follows, then everyone.
"""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

SEOUL = ZoneInfo("Asia/Seoul")
SLOT_DAY = "2027-09-30"


def at(text: str) -> dt.datetime:
    """A moment of the store's calendar (Asia/Seoul)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=SEOUL)


@pytest.fixture
def rush(backend, cli, time_machine):
    """The store at 1 August 2027, Seoul: one Pfizer slot, the three windows, the people."""
    time_machine.move_to(at("2027-08-01 09:00"), tick=False)
    assert cli("db", "set-timezone", "Asia/Seoul").exit_code == 0
    cli("slot", "add", "--date", SLOT_DAY, "--hospital", "서울대병원", "--vaccine", "Pfizer", "--quantity", "50")
    added = cli(
        "window", "add", "18-49", "--vaccine", "Pfizer", "--dose", "1",
        "--born-from", "1972-01-01", "--born-to", "2003-12-31",
        "--opens", "2027-08-09 20:00", "--closes", "2027-08-19 18:00",
        "--rotation", "birth-digit", "--each", "20:00-18:00",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    cli(
        "window", "add", "catch-up", "--vaccine", "Pfizer", "--born-from", "1972-01-01", "--born-to", "1985-12-31",
        "--opens", "2027-08-20 00:00", "--closes", "2027-08-25 00:00",
    )  # fmt: skip
    cli("window", "add", "everyone", "--vaccine", "화이자", "--opens", "2027-08-26 00:00")
    people = {"born19": "1990-03-19", "born12": "1990-03-12", "born11": "1995-07-11", "born1980": "1980-05-05"}
    for person, born in people.items():
        assert cli("person", "add", person, "--birth-date", born).exit_code == 0
    return time_machine


def reserve(cli, user: str, *extra: str):
    return cli("reserve", "--user", user, "--slot", "1", *extra)


def code(result) -> str:
    return json.loads(result.stderr)["code"]


def test_the_rotation_admits_each_day_of_birth_on_its_day_only(rush, cli):
    rush.move_to(at("2027-08-09 19:59"))
    early = reserve(cli, "born19")
    assert early.exit_code == 1
    assert early.stderr == (
        "Error: Pfizer (dose 1) is not open to born19 yet: window 18-49 opens for them on 2027-08-09 20:00 "
        "(Asia/Seoul)\n"
    )
    rush.move_to(at("2027-08-09 20:00"))
    assert reserve(cli, "born19").exit_code == 0
    refused = reserve(cli, "born12")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "Error: Pfizer (dose 1) is not open to born12 yet: window 18-49 opens for them on 2027-08-12 20:00 "
        "(Asia/Seoul)\n"
    )
    assert code(reserve(cli, "born12", "--json")) == "not_open_yet"
    cli("cancel", "1")
    rush.move_to(at("2027-08-10 17:59"))
    assert reserve(cli, "born19").exit_code == 0  # the 9th's window runs to 18:00 on the 10th
    cli("cancel", "2")
    rush.move_to(at("2027-08-10 18:01"))
    after = reserve(cli, "born19", "--json")
    assert after.exit_code == 1  # the 19th's next turn would open after 18-49 closes: only everyone's is left
    assert code(after) == "not_open_yet" and "window everyone opens for them on 2027-08-26 00:00" in after.stderr
    assert code(reserve(cli, "born12", "--json")) == "not_open_yet"
    rush.move_to(at("2027-08-12 20:30"))
    assert reserve(cli, "born12").exit_code == 0


def test_catch_up_then_everyone(rush, cli):
    rush.move_to(at("2027-08-21 10:00"))
    assert reserve(cli, "born1980").exit_code == 0
    late = reserve(cli, "born19", "--json")
    assert code(late) == "not_open_yet" and "window everyone opens for them on 2027-08-26 00:00" in late.stderr
    cli("person", "add", "born1950", "--birth-date", "1950-01-01")
    rush.move_to(at("2027-08-26 00:00"))
    for person in ("born19", "born12", "born11", "born1950", "walk-in"):
        booked = reserve(cli, person)
        assert booked.exit_code == 0, booked.stderr
    assert cli.json("slot", "list")[0]["remaining"] == 44


def test_refusals_say_what_helps(rush, cli):
    cli("window", "add", "seniors", "--vaccine", "Moderna", "--age-min", "60", "--opens", "2027-08-02 09:00")
    cli("slot", "add", "--date", SLOT_DAY, "--hospital", "서울대병원", "--vaccine", "Moderna", "--quantity", "5")
    cli("window", "close", "everyone", "--at", "2027-08-27 00:00")
    rush.move_to(at("2027-08-09 21:00"))
    never = cli("reserve", "--user", "born12", "--slot", "2")
    assert never.exit_code == 1
    assert never.stderr == (
        "Error: born12 is not eligible for Moderna (dose 1): no window of it (seniors) matches them; "
        "`vaxres person eligibility born12` shows what each window says of them\n"
    )
    unknown = reserve(cli, "walk-in")
    assert unknown.exit_code == 1
    assert unknown.stderr == (
        "Error: window 18-49 for Pfizer (dose 1) needs walk-in's birth date, which is not registered; register it "
        "with `vaxres person update walk-in --birth-date YYYY-MM-DD` (or --rrn)\n"
    )
    rush.move_to(at("2027-08-28 00:00"))
    closed = reserve(cli, "born12", "--json")
    assert code(closed) == "window_closed"
    assert "window everyone closed on 2027-08-27 00:00 (Asia/Seoul)" in json.loads(closed.stderr)["error"]
    assert code(reserve(cli, "walk-in", "--json")) == "window_closed"  # everyone's window needs no birth date


def test_a_vaccine_without_windows_is_open_and_a_dose_window_governs_only_its_dose(rush, cli):
    rush.move_to(at("2027-08-02 10:00"))
    cli("slot", "add", "--date", SLOT_DAY, "--hospital", "서울대병원", "--vaccine", "Moderna", "--quantity", "5")
    assert cli("reserve", "--user", "born12", "--slot", "2").exit_code == 0  # Moderna: no window
    assert code(reserve(cli, "born11", "--json")) == "not_open_yet"  # 18-49 governs Pfizer dose 1


def test_an_operator_may_override_with_a_reason_kept_in_the_audit_trail(rush, cli):
    rush.move_to(at("2027-08-02 10:00"))
    for reason in ("", "   ", "x" * 501):
        bad = reserve(cli, "born12", "--override-eligibility", reason)
        assert bad.exit_code == 2, bad.stderr
    booked = reserve(cli, "born12", "--override-eligibility", "의료진 (보건소장 승인)")
    assert booked.exit_code == 0, booked.stderr
    entries = cli.json("log", "--person", "born12")
    overridden = [e for e in entries if e["event"] == "EligibilityOverridden"]
    assert len(overridden) == 1
    assert overridden[0]["payload"]["reason"] == "의료진 (보건소장 승인)"
    assert overridden[0]["payload"]["reservation_id"] == 1
    assert overridden[0]["actor"]
    cli("slot", "add", "--date", "2027-10-01", "--hospital", "서울대병원", "--vaccine", "Pfizer", "--quantity", "5")
    assert code(cli("reschedule", "1", "--slot", "2", "--json")) == "not_open_yet"
    assert cli("reschedule", "1", "--slot", "2", "--override-eligibility", "moved by the desk").exit_code == 0


def test_a_rotation_day_import_refuses_the_wrong_digits_row_by_row(rush, cli, tmp_path):
    rush.move_to(at("2027-08-11 21:00"))  # the 11th's window: days of birth ending in 1
    plan = tmp_path / "bookings.csv"
    rows = "".join(f"{person},{SLOT_DAY},서울대병원,Pfizer\n" for person in ("born19", "born11", "born12", "nobody"))
    plan.write_text("user,date,hospital,vaccine\n" + rows)
    imported = cli("import", "reservations", str(plan), "--skip-invalid", "--json")
    report = json.loads(imported.stdout)
    assert report["booked"] == 1
    assert [(e["line"], e["code"], e["column"]) for e in report["errors"]] == [
        (2, "not_open_yet", "user"),
        (4, "not_open_yet", "user"),
        (5, "birth_date_unknown", "user"),
    ]
    booked = {person: cli.json("mypage", person)["reservations"] for person in ("born19", "born11", "born12")}
    assert {person for person, found in booked.items() if found} == {"born11"}


def test_the_waitlist_skips_a_person_until_their_window_opens(rush, cli, tmp_path):
    rush.move_to(at("2027-08-09 21:00"))
    joined = cli("waitlist", "join", "--user", "born12", "--vaccine", "Pfizer")
    assert joined.exit_code == 0, joined.stderr  # not open yet, but it will be: they wait
    cli("window", "add", "seniors", "--vaccine", "Moderna", "--age-min", "60", "--opens", "2027-08-02 09:00")
    never = cli("waitlist", "join", "--user", "born19", "--vaccine", "Moderna", "--json")
    assert never.exit_code == 1 and code(never) == "not_eligible"  # no window ever will
    plan = tmp_path / "slots.csv"
    plan.write_text(f"date,hospital,vaccine,quantity\n{SLOT_DAY},강남병원,Pfizer,1\n")
    assert cli("import", "slots", str(plan)).exit_code == 0  # the bulk offer passes them over
    assert cli.json("mypage", "born12")["reservations"] == []
    assert reserve(cli, "born19").exit_code == 0
    cli("cancel", "1")  # a freed dose: offered one at a time, passed over too
    assert cli.json("mypage", "born12")["reservations"] == []
    assert len(cli.json("waitlist", "list")) == 1
    rush.move_to(at("2027-08-12 20:01"))
    plan.write_text("date,hospital,vaccine,quantity\n2027-10-01,강남병원,Pfizer,1\n")
    assert cli("import", "slots", str(plan)).exit_code == 0
    assert [r["hospital"] for r in cli.json("mypage", "born12")["reservations"]] == ["강남병원"]
    assert cli.json("waitlist", "list") == []


def test_person_eligibility_says_what_each_window_says(rush, cli):
    rush.move_to(at("2027-08-10 12:00"))
    found = cli.json("person", "eligibility", "born12")
    assert [(w["window"], w["matches"], w["open_now"], w["next_opening"]) for w in found["windows"]] == [
        ("18-49", True, False, "2027-08-12T11:00:00Z"),
        ("catch-up", False, False, None),
        ("everyone", True, False, "2027-08-25T15:00:00Z"),
    ]
    table = cli("person", "eligibility", "born19")
    assert "Eligibility of born19 at 2027-08-10 12:00 (Asia/Seoul)" in table.stdout
    assert "open now" in table.stdout, table.stdout
    cli("person", "add", "bare")
    assert cli.json("person", "eligibility", "bare")["windows"][0]["matches"] is None
    assert cli("person", "eligibility", "ghost").exit_code == 3


@pytest.mark.parametrize(
    "args, exit_code, message",
    [
        (["--opens", "2027-08-09 20:00", "--closes", "2027-08-09 19:00"], 2, "a window closes after it opens"),
        (["--opens", "2027-08-09"], 2, '--opens must be "YYYY-MM-DD HH:MM"'),
        (["--opens", "2027-08-09 24:00"], 2, "hours run 00-23"),
        (["--opens", "2027-08-09 20:00", "--age-min", "-1"], 2, "--age-min must be a whole number"),
        (
            ["--opens", "2027-08-09 20:00", "--age-min", "50", "--age-max", "18"],
            2,
            "--age-max 18 is below --age-min 50",
        ),
        (["--opens", "2027-08-09 20:00", "--age-on", "2027-01-01"], 2, "--age-on needs --age-min or --age-max"),
        (["--opens", "2027-08-09 20:00", "--rotation", "birth-digit"], 2, "needs --each"),
        (["--opens", "2027-08-09 20:00", "--rotation", "birth-digit", "--each", "20:00"], 2, "must be two times"),
        (["--opens", "2027-08-09 20:00", "--rotation", "birth-digit", "--each", "20:00-20:00"], 2, "different times"),
        (["--opens", "2027-08-09 20:00", "--rotation", "weekday", "--each", "20:00-18:00"], 2, "must be birth-digit"),
        (["--opens", "2027-08-09 20:00", "--dose", "3"], 2, "past Pfizer's series of 2"),
        (["--opens", "2027-08-09 20:00", "--born-from", "2000-01-01", "--born-to", "1990-01-01"], 2, "give a range"),
    ],
)
def test_a_bad_window_is_one_line_and_writes_nothing(backend, cli, db_path, args, exit_code, message):
    refused = cli("window", "add", "w", "--vaccine", "Pfizer", *args)
    assert refused.exit_code == exit_code
    assert refused.stderr.count("\n") == 1 and message in refused.stderr, refused.stderr
    assert cli.json("window", "list") == []


def test_window_names_vaccines_and_closing(backend, cli):
    cli("db", "set-timezone", "Asia/Seoul")
    assert cli("window", "add", "a", "--vaccine", "Sputnik", "--opens", "2027-08-09 20:00").exit_code == 2
    assert cli("window", "add", "A", "--vaccine", "Pfizer", "--opens", "2027-08-09 20:00").exit_code == 0
    again = cli("window", "add", "a", "--vaccine", "Moderna", "--opens", "2027-08-09 20:00")
    assert again.exit_code == 1
    assert again.stderr == (
        "Error: a window named a exists already (names are compared ignoring case); see `vaxres window show a`, or "
        "choose another name\n"
    )
    assert cli("window", "show", "nope").exit_code == 3
    early = cli("window", "close", "a", "--at", "2027-08-01 00:00")
    assert early.exit_code == 2 and "before window A opens" in early.stderr
    closed = cli.json("window", "close", "a", "--at", "2027-08-10 00:00")
    assert (closed["closes_at"], closed["time_zone"]) == ("2027-08-09T15:00:00Z", "Asia/Seoul")
    shown = cli.json("window", "show", "A")
    assert (shown["name"], shown["vaccine"], shown["dose"], shown["opens_at"]) == (
        "A",
        "Pfizer",
        None,
        "2027-08-09T11:00:00Z",
    )
    events = [e["event"] for e in cli.json("outbox", "list") if e["event"].startswith("Window")]
    assert events == ["WindowAdded", "WindowClosed"]


def test_ages_on_a_day_become_a_range_of_birth_dates(backend, cli):
    added = cli.json(
        "window", "add", "nhs", "--vaccine", "Pfizer", "--age-min", "25", "--age-on", "2021-07-01",
        "--opens", "2027-08-09 20:00",
    )  # fmt: skip
    assert added["birth_dates"] == {"from": None, "to": "1996-07-01"}  # 25 or over, or turning 25 by 1 July
    leap = cli.json(
        "window", "add", "leap", "--vaccine", "Pfizer", "--age-max", "17", "--age-on", "2028-02-29",
        "--opens", "2027-08-09 20:00",
    )  # fmt: skip
    assert leap["birth_dates"] == {"from": "2010-03-01", "to": None}  # 18 on 2028-02-29 if born by 2010-02-28


def test_an_import_may_override_the_windows_each_booking_audited(rush, cli, tmp_path):
    rush.move_to(at("2027-08-02 10:00"))
    plan = tmp_path / "bookings.csv"
    plan.write_text(
        f"user,date,hospital,vaccine\nborn19,{SLOT_DAY},서울대병원,Pfizer\nborn12,{SLOT_DAY},서울대병원,Pfizer\n"
    )
    refused = cli("import", "reservations", str(plan), "--json")
    assert refused.exit_code == 1
    assert [e["code"] for e in json.loads(refused.stdout)["errors"]] == ["not_open_yet", "not_open_yet"]
    assert cli("import", "reservations", str(plan), "--override-eligibility", "  ").exit_code == 2
    imported = cli.json("import", "reservations", str(plan), "--override-eligibility", "보건소 일괄 예약")
    assert imported["booked"] == 2
    for person in ("born19", "born12"):
        records = [e for e in cli.json("log", "--person", person) if e["event"] == "EligibilityOverridden"]
        assert [(r["payload"]["reason"], r["payload"]["user"], r["status"]) for r in records] == [
            ("보건소 일괄 예약", person, "delivered")
        ]
