"""The person registry (issue 20): resident registration numbers read and never kept in clear,
the identity key outside the store, contacts checked, guardians, forgetting, and the bare person
every booking names."""

import csv
import datetime as dt
import json
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import PG_ENV, future, query, run_vaxres
from vaxres.errors import InvalidValue
from vaxres.people.rrn import parse_rrn

pytestmark = pytest.mark.usefixtures("shared_id_key")
NUMBER = "900512-1583920"
SECRET_PARTS = ("9005121583920", "900512-1583920", "1583920")  # the number and its serial part


@pytest.mark.parametrize(
    ("text", "born", "sex"),
    [
        ("900512-1234567", "1990-05-12", "M"),
        ("9005122234567", "1990-05-12", "F"),
        ("050301-3234567", "2005-03-01", "M"),
        ("050301-4234567", "2005-03-01", "F"),
        ("851231-5000000", "1985-12-31", "M"),
        ("851231-6000000", "1985-12-31", "F"),
        ("200229-7000000", "2020-02-29", "M"),
        ("990101-9000000", "1899-01-01", "M"),
        ("990101-0000000", "1899-01-01", "F"),
        (" 900512-1234567 ", "1990-05-12", "M"),
    ],
)
def test_the_number_gives_the_birth_date_and_sex_by_its_seventh_digit(text, born, sex):
    number = parse_rrn(text, today=dt.date(2026, 12, 5))
    assert (number.birth_date.isoformat(), number.sex) == (born, sex)
    assert number.masked == f"{text.strip()[:6]}-{text.strip()[-7]}******"
    assert text.strip()[-6:] not in repr(number)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("901312-1234567", "--rrn has month 13, which is not a month"),
        ("900230-2234567", "--rrn has day 30, which 1990-02 does not have"),
        ("210229-3234567", "--rrn has day 29, which 2021-02 does not have"),
        ("90051-21234567", "--rrn must be YYMMDD-GNNNNNN"),
        ("900512-123456", "--rrn must be YYMMDD-GNNNNNN"),
        ("900512_1234567", "--rrn must be YYMMDD-GNNNNNN"),
        ("９００５１２-1234567", "--rrn must be YYMMDD-GNNNNNN"),
        ("300512-3234567", "--rrn gives the birth date 2030-05-12, which is in the future"),
    ],
)
def test_an_impossible_number_says_which_part_is_wrong(text, reason):
    with pytest.raises(InvalidValue) as raised:
        parse_rrn(text, today=dt.date(2026, 12, 5))
    assert raised.value.message.startswith(reason)
    assert text[-7:] not in raised.value.message


@settings(max_examples=300, derandomize=True)
@given(st.text(alphabet="0123456789-", min_size=11, max_size=15))
def test_no_reply_ever_repeats_the_serial_part(text):
    try:
        number = parse_rrn(text)
    except InvalidValue as error:
        shown = error.message + str(error.value)
    else:
        shown = number.masked + repr(number)
    serial = text.replace("-", "")[7:]
    assert len(serial) < 4 or serial not in shown


def test_a_registered_number_is_nowhere_in_clear(cli, db_path, tmp_path):
    added = cli("person", "add", "kim", "--name", "김민수", "--rrn", NUMBER, "--phone", "010-1234-5678")
    assert added.exit_code == 0, added.stderr
    outputs = [
        added.stdout,
        cli("person", "show", "kim", "--json").stdout,
        cli("person", "list", "--json").stdout,
        cli("person", "find", "--rrn", NUMBER, "--json").stdout,
        cli("mypage", "kim", "--json").stdout,
        cli("person", "add", "lee", "--rrn", NUMBER).stderr,
    ]
    shown = json.loads(outputs[1])
    assert (shown["rrn"], shown["birth_date"], shown["sex"]) == ("900512-1******", "1990-05-12", "M")
    assert shown["phone"] == "+821012345678"
    files = [path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()]
    assert files, "the store and the key file"
    for secret in SECRET_PARTS:
        assert not any(secret in text for text in outputs), secret
        assert not any(secret.encode() in data for data in files), secret


def test_the_key_file_is_private_and_another_key_is_refused(cli, tmp_path, monkeypatch):
    assert cli("person", "add", "kim", "--rrn", NUMBER).exit_code == 0
    key = tmp_path / "xdg" / "vaxres" / "id.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    monkeypatch.setenv("VAXRES_ID_KEY", "another secret that is long enough ....")
    refused = cli("person", "find", "--rrn", NUMBER)
    assert refused.exit_code == 2
    assert refused.stderr.startswith("Error: this identity key is not the one the store's numbers were registered with")
    monkeypatch.setenv("VAXRES_ID_KEY", "short")
    refused = cli("person", "find", "--rrn", NUMBER, "--json")
    assert (refused.exit_code, json.loads(refused.stderr)["code"]) == (2, "id_key_missing")


def test_the_key_given_in_the_environment_finds_the_person(cli, monkeypatch):
    monkeypatch.setenv("VAXRES_ID_KEY", "k" * 40)
    assert cli("person", "add", "kim", "--rrn", "9005121583920").exit_code == 0
    assert cli.json("person", "find", "--rrn", NUMBER)["id"] == "kim"
    missing = cli("person", "find", "--rrn", "900512-2234567")
    assert (missing.exit_code, missing.stderr) == (3, "Error: nobody is registered with the number 900512-2******\n")
    twice = cli("person", "add", "lee", "--rrn", NUMBER)
    assert twice.exit_code == 1
    assert "registered to kim already" in twice.stderr


@pytest.mark.skipif(not os.environ.get(PG_ENV), reason="needs PostgreSQL")
def test_a_shared_store_needs_the_key_in_the_environment(backend, cli, monkeypatch):
    if backend != "postgresql":
        pytest.skip("SQLite may keep its key in a file")
    monkeypatch.delenv("VAXRES_ID_KEY")
    refused = cli("person", "add", "kim", "--rrn", NUMBER)
    assert refused.exit_code == 2
    assert "VAXRES_ID_KEY" in refused.stderr


@pytest.mark.parametrize(
    ("options", "code", "message"),
    [
        (
            ["--phone", "12"],
            2,
            "--phone is not a valid phone number (read in region KR; --region changes it), got '12'",
        ),
        (["--email", "kim@"], 2, "--email is not an e-mail address (there must be something after the @-sign)"),
        (["--name", "kim\x1b[2J"], 2, "--name must not contain control characters"),
        (["--lang", "fr"], 2, "--lang must be en or ko"),
        (["--birth-date", "2999-01-01"], 2, "--birth-date is after today"),
        (["--rrn", NUMBER, "--birth-date", "1990-05-12"], 2, "give --rrn or --birth-date and --sex, not both"),
        (["--region", "XX", "--phone", "1"], 2, "--region must be a two-letter country code"),
        (["--region", "zzz"], 2, "--region must be a two-letter country code such as KR or GB, got 'zzz'\n"),
        (["--guardian", "nobody"], 2, "nobody cannot be kim's guardian: they are not registered"),
        (["--guardian", "kim"], 2, "kim cannot be kim's guardian: a person cannot be their own guardian"),
    ],
)
def test_every_bad_value_is_one_line_and_nothing_is_written(backend, cli, db_path, options, code, message):
    cli("slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Pfizer", "--quantity", "1")
    refused = cli("person", "add", "kim", *options)
    assert refused.exit_code == code
    assert refused.stderr.startswith(f"Error: {message}"), refused.stderr
    assert refused.stderr.count("\n") == 1
    assert query(db_path, "SELECT id FROM person") == []


def test_phones_and_addresses_are_stored_normalised(backend, cli):
    assert cli("person", "add", "kim", "--phone", "010-1234-5678", "--email", "Kim@Example.COM").exit_code == 0
    assert cli("person", "add", "ann", "--phone", "020 7946 0958", "--region", "gb").exit_code == 0
    assert cli("person", "add", "bo", "--phone", "+1 (650) 253-0000").exit_code == 0
    people = {p["id"]: p for p in cli.json("person", "list")["people"]}
    assert people["kim"]["phone"] == "+821012345678" and people["kim"]["email"] == "Kim@example.com"
    assert people["ann"]["phone"] == "+442079460958"
    assert people["bo"]["phone"] == "+16502530000"


def test_guardians_are_registered_adults_and_never_a_circle(backend, cli):
    assert cli("person", "add", "mother", "--birth-date", "1980-01-01").exit_code == 0
    assert cli(
        "person", "add", "teen", "--birth-date", dt.date.today().replace(year=dt.date.today().year - 15).isoformat()
    )
    minor = cli("person", "add", "baby", "--guardian", "teen")
    assert (minor.exit_code, minor.stderr) == (
        2,
        "Error: teen cannot be baby's guardian: they are 15, and a guardian is 18 or older\n",
    )
    assert cli("person", "add", "child", "--birth-date", "2020-01-01", "--guardian", "mother").exit_code == 0
    assert cli("person", "add", "grandma", "--birth-date", "1950-01-01", "--guardian", "mother").exit_code == 0
    circle = cli("person", "update", "mother", "--guardian", "grandma")
    assert circle.exit_code == 2
    assert "mother is already in mother's line of guardians" in circle.stderr
    unknown_birth = cli("person", "add", "x", "--guardian", "child2")
    assert unknown_birth.exit_code == 2


def test_update_changes_and_clears_fields(backend, cli):
    cli("person", "add", "kim", "--name", "Kim", "--phone", "010-1234-5678", "--group", "Nurses", "--group", "nurses")
    assert cli.json("person", "show", "kim")["groups"] == ["Nurses"]
    changed = cli.json(
        "person", "update", "kim", "--clear", "phone", "--email", "kim@example.com", "--group", "Doctors"
    )
    assert (changed["phone"], changed["email"], changed["groups"], changed["name"]) == (
        None,
        "kim@example.com",
        ["Doctors"],
        "Kim",
    )
    nothing = cli("person", "update", "kim")
    assert (nothing.exit_code, nothing.stderr) == (2, "Error: nothing to change: give at least one option\n")
    wrong = cli("person", "update", "kim", "--clear", "height")
    assert wrong.exit_code == 2 and "--clear-height is not an option" in wrong.stderr
    missing = cli("person", "update", "nobody", "--name", "X")
    assert (missing.exit_code, missing.stderr) == (3, "Error: there is no person 'nobody' in the registry\n")


def test_update_refuses_a_bad_region_even_without_a_phone(backend, cli):
    cli("person", "add", "kim", "--name", "Kim")
    refused = "Error: --region must be a two-letter country code such as KR or GB, got 'zzz'\n"
    for options in (["--region", "zzz", "--name", "X"], ["--region", "zzz"]):
        bad = cli("person", "update", "kim", *options)
        assert (bad.exit_code, bad.stderr) == (2, refused)
    assert cli.json("person", "show", "kim")["name"] == "Kim"


def test_forget_erases_the_person_but_keeps_the_bookings(backend, cli, db_path):
    cli("slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Janssen", "--quantity", "2")
    cli("person", "add", "kim", "--name", "김민수", "--rrn", NUMBER, "--email", "kim@example.com")
    cli("person", "add", "child", "--birth-date", "2020-01-01", "--guardian", "kim")
    assert cli("reserve", "--user", "kim", "--slot", "1").exit_code == 0
    held = cli("person", "forget", "kim")
    assert held.exit_code == 1
    assert held.stderr.startswith("Error: kim holds reservation 1 for ")
    assert cli("cancel", "1").exit_code == 0
    forgotten = cli.json("person", "forget", "kim")
    assert forgotten["name"] is None and forgotten["rrn"] is None and forgotten["forgotten_at"]
    assert cli.json("person", "show", "child")["guardian"] is None
    assert query(db_path, "SELECT user_id, status FROM reservation") == [("kim", "cancelled")]
    assert query(db_path, "SELECT name, email, id_fingerprint FROM person WHERE id = 'kim'") == [(None, None, None)]
    again = cli("person", "update", "kim", "--name", "X")
    assert again.exit_code == 1 and "personal data was erased" in again.stderr
    assert cli("person", "add", "lee", "--rrn", NUMBER).exit_code == 0  # the number is free again


def test_list_pages_and_searches(backend, cli):
    for n in range(5):
        cli("person", "add", f"p{n}", "--name", f"서울 사람 {n}" if n % 2 else f"Busan {n}")
    page = cli("person", "list", "--limit", "2")
    assert page.exit_code == 0 and "Showing 2 of 5; use --after p1 for more." in page.stdout
    assert [p["id"] for p in cli.json("person", "list", "--after", "p1", "--limit", "2")["people"]] == ["p2", "p3"]
    found = cli.json("person", "list", "--search", "서울")
    assert [p["id"] for p in found["people"]] == ["p1", "p3"] and found["total"] == 2
    assert cli("person", "list", "--search", "nobody").stdout == "No people registered match.\n"


def test_every_booking_names_a_registered_person(backend, cli, db_path, tmp_path):
    cli("slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Janssen", "--quantity", "5")
    assert cli("reserve", "--user", "walk-in", "--slot", "1").exit_code == 0
    assert cli("waitlist", "join", "--user", "waiting", "--vaccine", "Pfizer").exit_code == 0
    plan = tmp_path / "bookings.csv"
    plan.write_text(f"user,date,hospital,vaccine\nimported,{future()},H,Janssen\nwalk-in,{future()},H,Janssen\n")
    assert cli("import", "reservations", str(plan)).exit_code in (0, 1)
    assert {row[0] for row in query(db_path, "SELECT id FROM person")} == {"walk-in", "waiting", "imported"}
    assert cli.json("person", "show", "walk-in")["name"] is None


def test_mypage_shows_the_person_with_the_birth_day_hidden(backend, cli):
    cli("person", "add", "kim", "--name", "김민수", "--rrn", NUMBER, "--phone", "010-1234-5678")
    page = cli("mypage", "kim")
    assert page.stdout.startswith("kim: 김민수, born 1990-05-**, +821012345678\n")
    assert cli.json("mypage", "kim")["person"] == {
        "name": "김민수",
        "birth_date": "1990-05-**",
        "phone": "+821012345678",
        "email": None,
        "lang": None,
    }


def test_the_person_commands_run_as_processes(tmp_path):
    env = {"VAXRES_DB": str(tmp_path / "p.db"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    added = run_vaxres("person", "add", "kim", "--rrn", NUMBER, env=env)
    assert added.returncode == 0, added.stderr
    assert run_vaxres("person", "find", "--rrn", NUMBER, env=env).stdout.count("900512-1******") == 1


def test_person_changes_are_in_the_audit_trail_by_field_never_by_value(backend, cli, db_path, tmp_path):
    cli("--actor", "desk-1", "person", "add", "kim", "--name", "김민수", "--rrn", NUMBER, "--phone", "010-1234-5678")
    cli("--actor", "desk-2", "person", "update", "kim", "--email", "kim@example.com", "--clear", "phone")
    cli("person", "forget", "kim")
    logged = cli.json("log", "--person", "kim")
    assert [(e["event"], e["payload"]["fields"], e["status"]) for e in logged] == [
        ("PersonRegistered", ["birth_date", "name", "phone", "rrn", "sex"], "delivered"),
        ("PersonUpdated", ["email", "phone"], "delivered"),
        ("PersonForgotten", [], "delivered"),
    ]
    assert logged[1]["actor"] == "desk-2"
    assert logged[1]["message"] == "Person kim changed: email, phone."
    stored = query(db_path, "SELECT payload FROM outbox")
    assert not any(value in str(stored) for value in ("김민수", "821012345678", "kim@example.com", "1990-05-12"))
    sent = tmp_path / "sent.jsonl"
    assert cli.json("outbox", "deliver", "--to", str(sent))["delivered"] == 0  # nothing to send anyone


def test_messages_carry_the_persons_contacts_as_written_and_read_in_their_language(backend, cli, tmp_path):
    cli("slot", "add", "--date", future(), "--hospital", "서울대병원", "--vaccine", "Pfizer", "--quantity", "5")
    cli("person", "add", "kim", "--name", "김민수", "--lang", "ko", "--email", "kim@example.com")
    cli("person", "add", "lee", "--name", "Lee", "--phone", "010-2222-3333")
    assert cli("reserve", "--user", "kim", "--slot", "1").exit_code == 0
    plan = tmp_path / "bookings.csv"
    plan.write_text(f"user,date,hospital,vaccine\nlee,{future()},서울대병원,Pfizer\nnew,{future()},서울대병원,Pfizer\n")
    assert cli("import", "reservations", str(plan)).exit_code == 0
    cli("person", "update", "kim", "--email", "kim@new.example")  # later messages only
    sent = tmp_path / "sent.jsonl"
    assert cli.json("outbox", "deliver", "--to", str(sent))["delivered"] == 4  # the slot's and three bookings
    delivered = {m["recipient"]: m for m in map(json.loads, sent.read_text().splitlines())}
    assert delivered["kim"]["payload"]["contact"] == {
        "name": "김민수",
        "phone": None,
        "email": "kim@example.com",
        "lang": "ko",
    }
    assert delivered["kim"]["payload"]["message"].startswith("예약 1번이 확정되었습니다")
    assert delivered["lee"]["payload"]["contact"]["phone"] == "+821022223333"
    assert delivered["lee"]["payload"]["message"].startswith("Your reservation 2 is confirmed")
    assert delivered["new"]["payload"]["contact"] == {"name": None, "phone": None, "email": None, "lang": None}


def test_an_import_copies_to_the_guardians_of_exactly_the_minors_it_books(backend, cli, tmp_path, db_path, monkeypatch):
    """Chunks mixing minors with a guardian, adults and ids not registered: each chunk's copies go
    to the guardians of the minors that chunk booked, one copy each, and to nobody else."""
    import vaxres.imports.run as imports

    monkeypatch.setattr(imports, "BOOKING_CHUNK", 4)
    cli("slot", "add", "--date", future(5), "--hospital", "서울병원", "--vaccine", "Pfizer", "--quantity", "20")
    for parent in ("mom", "dad"):
        cli("person", "add", parent, "--birth-date", "1980-01-01", "--email", f"{parent}@example.org")
    wards = {"kid1": "mom", "kid2": "dad", "kid3": "mom", "kid4": "dad", "kid5": "mom"}
    for kid, parent in wards.items():
        cli("person", "add", kid, "--birth-date", "2015-03-03", "--guardian", parent)
    cli("person", "add", "adult", "--birth-date", "1990-05-12")
    people = ["adult", "kid1", "new1", "kid2", "kid3", "new2", "adult2", "kid4", "new3", "new4", "kid5"]
    plan = tmp_path / "bookings.csv"
    plan.write_text("user,date,hospital,vaccine\n" + "".join(f"{p},{future(5)},서울병원,Pfizer\n" for p in people))
    assert cli("import", "reservations", str(plan)).exit_code == 0
    copies = query(
        db_path,
        "SELECT o.recipient, r.user_id FROM outbox o JOIN reservation r ON r.id = o.correlation_id"
        " WHERE o.event = 'ReservationConfirmed' AND o.recipient <> r.user_id ORDER BY o.id",
    )
    assert copies == [(parent, kid) for kid, parent in wards.items()]


def test_a_guardian_receives_a_copy_of_each_message_in_their_own_language(backend, cli, tmp_path):
    """Copies from the single commands and from the bulk paths alike: the same facts as the
    person's message, the guardian's contacts, and whose message it is."""
    cli("slot", "add", "--date", future(5), "--hospital", "서울병원", "--vaccine", "Pfizer", "--quantity", "5")
    cli("person", "add", "mom", "--name", "김엄마", "--birth-date", "1980-01-01", "--email", "mom@example.org")
    cli("person", "update", "mom", "--lang", "ko")
    cli("person", "add", "kid", "--name", "김아이", "--birth-date", "2015-03-03", "--guardian", "mom", "--lang", "en")
    assert cli("reserve", "--user", "kid", "--slot", "1").exit_code == 0  # one command
    cli("cancel", "1")
    plan = tmp_path / "bookings.csv"
    plan.write_text(f"user,date,hospital,vaccine\nkid,{future(5)},서울병원,Pfizer\n")
    assert cli("import", "reservations", str(plan)).exit_code == 0  # in bulk
    assert cli.json("remind", "--days-before", "7")["written"] == 1  # one booking reminded
    cli("cancel", "2")
    cli("waitlist", "join", "--user", "kid", "--vaccine", "Moderna")
    slots = tmp_path / "slots.csv"
    slots.write_text(f"date,hospital,vaccine,quantity\n{future(6)},서울병원,Moderna,1\n")
    assert cli("import", "slots", str(slots)).exit_code == 0  # the bulk waitlist offer
    cli("person", "update", "kid", "--clear", "guardian")
    cli("cancel", "3")  # no guardian any more: no copy

    sent = tmp_path / "sent.jsonl"
    cli("outbox", "deliver", "--to", str(sent))
    messages = [json.loads(line) for line in sent.read_text().splitlines()]
    kid = [m for m in messages if m["recipient"] == "kid"]
    mom = [m for m in messages if m["recipient"] == "mom"]
    events = ["ReservationConfirmed", "ReservationCancelled", "ReservationConfirmed", "ReservationReminder"]
    events += ["ReservationCancelled", "WaitlistJoined", "ReservationConfirmed"]
    assert [m["event"] for m in mom] == events
    assert [m["event"] for m in kid] == [*events, "ReservationCancelled"]
    for copy, original in zip(mom, kid):
        assert copy["correlation_id"] == original["correlation_id"]
        assert copy["payload"]["contact"] == {"name": "김엄마", "phone": None, "email": "mom@example.org", "lang": "ko"}
        assert copy["payload"]["guardian_of"] == {"id": "kid", "name": "김아이"}
        assert copy["payload"]["message"].startswith("[김아이 님의 보호자 안내] ")
        assert original["payload"]["message"].startswith(("Your", "Reminder", "You are"))
        facts = {
            key: value
            for key, value in copy["payload"].items()
            if key not in ("contact", "guardian_of", "message", "lang")
        }
        assert facts == {
            key: value for key, value in original["payload"].items() if key not in ("contact", "message", "lang")
        }
    assert mom[1]["payload"]["message"] == (
        f"[김아이 님의 보호자 안내] 예약 1번이 취소되었습니다: 서울병원, {korean(future(5))}, Pfizer 1차 접종."
    )
    cli("person", "update", "mom", "--lang", "en")
    cli("person", "update", "kid", "--guardian", "mom")
    cli("reserve", "--user", "kid", "--slot", "1")
    listed = cli.json("outbox", "list", "--recipient", "mom", "--event", "ReservationConfirmed")
    assert listed[-1]["payload"]["message"] == (
        f"Copy for the guardian of 김아이: Your reservation 4 is confirmed: Pfizer (dose 1) at 서울병원 on {future(5)}."
    )


def korean(day: str) -> str:
    date = dt.date.fromisoformat(day)
    return f"{date.year}년 {date.month}월 {date.day}일"


def seventeen_until(days: int) -> str:
    """A birth date that makes a person 18 in `days` days (17 until then)."""
    adult_on = dt.date.today() + dt.timedelta(days=days)
    return adult_on.replace(year=adult_on.year - 18).isoformat() if (adult_on.month, adult_on.day) != (2, 29) else ""


def test_a_minor_is_booked_only_with_a_guardian(backend, cli, db_path, tmp_path):
    born = seventeen_until(10)
    cli("slot", "add", "--date", future(5), "--hospital", "H", "--vaccine", "Janssen", "--quantity", "5")
    cli("slot", "add", "--date", future(12), "--hospital", "H", "--vaccine", "Janssen", "--quantity", "5")
    cli("person", "add", "teen", "--birth-date", born)
    refused = cli("reserve", "--user", "teen", "--slot", "1")
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: teen is 17 on {future(5)}: a person under 18 is booked only with a guardian registered "
        f"(or from {future(10)} on); register one with `vaxres person update teen --guardian ID`\n"
    )
    assert json.loads(cli("reserve", "--user", "teen", "--slot", "1", "--json").stderr)["code"] == "guardian_required"
    assert cli("reserve", "--user", "teen", "--slot", "2").exit_code == 0  # 18 by then
    cli("cancel", "1")
    plan = tmp_path / "bookings.csv"
    plan.write_text(f"user,date,hospital,vaccine\nteen,{future(5)},H,Janssen\n")
    imported = cli("import", "reservations", str(plan), "--json")
    assert imported.exit_code == 1
    assert [(e["code"], e["column"]) for e in json.loads(imported.stdout)["errors"]] == [("guardian_required", "user")]
    cli("person", "add", "mother", "--birth-date", "1980-01-01")
    cli("person", "update", "teen", "--guardian", "mother")
    assert cli("reserve", "--user", "teen", "--slot", "1").exit_code == 0
    assert cli("reserve", "--user", "walk-in", "--slot", "1").exit_code == 0  # no birth date: no rule


def test_the_waitlist_books_a_minor_only_with_a_guardian_or_from_their_18th_birthday(backend, cli, db_path, tmp_path):
    cli("person", "add", "teen", "--birth-date", seventeen_until(10))
    assert cli("waitlist", "join", "--user", "teen", "--vaccine", "Janssen").exit_code == 0
    cli(
        "slot", "add", "--date", future(5), "--hospital", "A", "--vaccine", "Janssen", "--quantity", "1"
    )  # one at a time
    plan = tmp_path / "plan.csv"
    plan.write_text(f"date,hospital,vaccine,quantity\n{future(6)},B,Janssen,1\n{future(11)},C,Janssen,1\n")
    assert cli("import", "slots", str(plan)).exit_code == 0  # in bulk: the earliest slot from the 18th birthday
    assert query(db_path, "SELECT r.user_id, s.hospital FROM reservation r JOIN slot s ON s.id = r.slot_id") == [
        ("teen", "C")
    ]


def test_export_persons_writes_the_registry_without_any_number(backend, cli, tmp_path):
    cli("person", "add", "mother", "--name", "김민수", "--rrn", NUMBER, "--group", "의료진", "--group", "Admin")
    cli("person", "add", "child", "--birth-date", "2020-01-01", "--guardian", "mother", "--phone", "010-1234-5678")
    out = tmp_path / "people.csv"
    assert cli("export", "persons", "--output", str(out)).exit_code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["id"], r["name"], r["birth_date"], r["guardian"], r["groups"], r["rrn_masked"]) for r in rows] == [
        ("child", "", "2020-01-01", "mother", "", ""),
        ("mother", "김민수", "1990-05-12", "", "Admin;의료진", "900512-1******"),
    ]
    assert rows[0]["phone"] == "+821012345678"
    listed = [json.loads(line) for line in cli("export", "persons", "--format", "jsonl").stdout.splitlines()]
    assert [p["id"] for p in listed] == ["child", "mother"] and listed[1]["sex"] == "M"
    assert cli("export", "persons", "--to", "2000-01-01").stdout.count("\n") == 1  # the header only
    excel = tmp_path / "excel.csv"
    assert cli("export", "persons", "--excel", "--output", str(excel)).exit_code == 0
    for data in (out.read_bytes(), excel.read_bytes(), json.dumps(listed).encode()):
        assert not any(secret.encode() in data for secret in SECRET_PARTS)
