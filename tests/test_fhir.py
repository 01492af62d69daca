"""Health data (issue 24): the catalog's codes, what `administer` records of a dose, and the FHIR
exports (Immunization, Patient, Appointment), every line validated with fhir.resources' R4B
models and our own checks of code systems and values, on both backends."""

import datetime as dt
import json
import os
import stat

import pytest
import time_machine
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.patient import Patient

from tests.helpers import count_rows, query

pytestmark = pytest.mark.usefixtures("backend")

CVX, SNOMED, ATC = "http://hl7.org/fhir/sid/cvx", "http://snomed.info/sct", "http://www.whocc.no/atc"
HOSTILE = 'Clinic "N", 2F \\ <b>서울</b>'
DAY = dt.datetime(2027, 3, 2, 1, 30, tzinfo=dt.UTC)  # 10:30 in Seoul


def slot(cli, date, hospital, vaccine, quantity=5) -> int:
    return cli.json(
        "slot", "add", "--date", date, "--hospital", hospital, "--vaccine", vaccine, "--quantity", str(quantity)
    )["id"]


def reserve(cli, user, slot_id, dose=1) -> int:
    return cli.json("reserve", "--user", user, "--slot", str(slot_id), "--dose", str(dose))["id"]


def lines(path) -> list[dict]:
    return [json.loads(line) for line in open(path, encoding="utf-8").read().splitlines()]


@pytest.fixture
def seoul(cli):
    assert cli("db", "set-timezone", "Asia/Seoul").exit_code == 0


def test_default_vaccines_come_with_their_codes(cli):
    listed = {v["name"]: v["codes"] for v in cli.json("vaccine", "list")}
    assert listed["Pfizer"] == {
        "cvx": "208", "snomed": "1119349007", "atc": "J07BN01", "eu_product": "EU/1/20/1528",
        "eu_holder": "ORG-100030215", "mvx": "PFR", "target_disease": "840539006",
    }  # fmt: skip
    assert {name: codes["cvx"] for name, codes in listed.items()} == {
        "AstraZeneca": "210", "Janssen": "212", "Moderna": "207", "Novavax": "211", "Pfizer": "208",
    }  # fmt: skip
    assert listed["Novavax"]["snomed"] == "1162643001" and listed["Janssen"]["atc"] == "J07BN02"


@pytest.mark.parametrize(
    "option, value, reason",
    [
        ("--cvx", "abc", "must be a CVX code: 1 to 3 digits, such as 208"),
        ("--cvx", "2080", "must be a CVX code: 1 to 3 digits, such as 208"),
        ("--snomed", "1119349008", "is not a SNOMED CT id: its last digit is not the Verhoeff check digit of the others"),
        ("--snomed", "12345", "must be a SNOMED CT id: 6 to 18 digits, not starting with 0"),
        ("--atc", "J07BN1", "must be a 7-character ATC code (letter, 2 digits, 2 letters, 2 digits), such as J07BN01"),
        ("--eu-product", "EU/2/20/1528", "must be an EU product number EU/1/YY/NNNN, such as EU/1/20/1528"),
        ("--eu-holder", "ORG-", "must be an organisation id ORG- and digits, such as ORG-100030215"),
        ("--mvx", "pfr", "must be an MVX code: 2 or 3 capital letters, such as PFR"),
        ("--target-disease", "840539007", "is not a SNOMED CT id: its last digit is not the Verhoeff check digit of the others"),
    ],
)  # fmt: skip
def test_a_code_not_of_its_systems_form_is_refused(cli, option, value, reason):
    before = cli.json("vaccine", "show", "Pfizer")
    for command in (["vaccine", "update", "Pfizer"], ["vaccine", "add", "Valneva", "--doses", "1"]):
        result = cli(*command, option, value)
        assert result.exit_code == 2
        assert result.stderr == f"Error: {option} {value!r} {reason}\n"
    assert cli.json("vaccine", "show", "Pfizer") == before
    assert [v["name"] for v in cli.json("vaccine", "list")].count("Valneva") == 0


def test_codes_are_set_shown_and_cleared(cli):
    added = cli.json("vaccine", "add", "Valneva", "--doses", "2", "--min-interval", "28", "--atc", "J07BN03")
    assert added["codes"] == {"atc": "J07BN03"}
    changed = cli.json("vaccine", "update", "valneva", "--cvx", "999", "--atc", "", "--target-disease", "840539006")
    assert changed["codes"] == {"cvx": "999", "target_disease": "840539006"}
    shown = cli("vaccine", "show", "Valneva")
    assert shown.stdout == (
        "Valneva: 2 doses, at least 28 days apart.\n  CVX: 999\n  SNOMED CT (target disease): 840539006\n"
    )
    assert cli("vaccine", "show", "Nope").exit_code == 3


def test_administer_records_expiry_site_and_route(cli, db_path):
    today = dt.date.today().isoformat()
    booking = reserve(cli, "kim", slot(cli, today, "Seoul", "Pfizer"))
    given = cli.json(
        "administer", str(booking), "--lot", "EW0182", "--expires", today, "--site", "Left-Arm", "--route", "im"
    )
    assert (given["lot_expires"], given["site"], given["route"]) == (today, "left-arm", "im")
    row = query(db_path, f"SELECT lot, lot_expires, site, route FROM reservation WHERE id = {booking}")[0]
    assert (row[0], str(row[1]), row[2], row[3]) == ("EW0182", today, "left-arm", "im")


@pytest.mark.parametrize(
    "options, message",
    [
        (("--site", "leg"), "Error: --site must be left-arm, right-arm, got 'leg'\n"),
        (("--route", "oral"), "Error: --route must be im, sc, id, got 'oral'\n"),
        (("--expires", "2027-02-30"), "Error: --expires '2027-02-30' is not a real calendar date\n"),
    ],
)
def test_bad_dose_facts_are_invalid(cli, options, message):
    booking = reserve(cli, "kim", slot(cli, dt.date.today().isoformat(), "Seoul", "Pfizer"))
    result = cli("administer", str(booking), *options)
    assert (result.exit_code, result.stderr) == (2, message)


def test_a_lot_expired_on_the_doses_day_in_the_stores_zone_is_refused(cli, db_path, seoul):
    # 2027-03-01 16:30 UTC is already 2027-03-02 in Seoul: a lot good through 03-01 has expired.
    with time_machine.travel(dt.datetime(2027, 3, 1, 16, 30, tzinfo=dt.UTC), tick=False):
        booking = reserve(cli, "kim", slot(cli, "2027-03-02", "Seoul", "Pfizer"))
        before = query(db_path, "SELECT * FROM reservation ORDER BY id"), count_rows(db_path, "outbox")
        refused = cli("administer", str(booking), "--lot", "EW0182", "--expires", "2027-03-01")
        assert refused.exit_code == 1
        assert refused.stderr == (
            "Error: lot EW0182 expired on 2027-03-01, before the dose's day 2027-03-02; nothing was recorded: "
            "give a lot that has not expired\n"
        )
        assert (query(db_path, "SELECT * FROM reservation ORDER BY id"), count_rows(db_path, "outbox")) == before
        assert cli("administer", str(booking), "--lot", "EW0182", "--expires", "2027-03-02").exit_code == 0


@pytest.fixture
def doses(cli, seoul, shared_id_key):
    """Doses given in Seoul: coded (Pfizer, two doses of a series), a vaccine without codes and a
    hostile hospital name; a booking cancelled, one missed, one still booked, one waiting."""
    with time_machine.travel(DAY, tick=False):
        cli("vaccine", "add", '백신 "Q"\\', "--doses", "1")
        first = slot(cli, "2027-03-02", HOSTILE, "Pfizer")
        bare = slot(cli, "2027-03-02", "부산", '백신 "Q"\\')
        kim = reserve(cli, "kim", first)
        added = cli("person", "add", "lee", "--name", "이 순신", "--rrn", "900512-1234568", "--phone", "010-1234-5678")
        assert added.exit_code == 0, added.stderr
        lee = reserve(cli, "lee", bare)
        gone = reserve(cli, "park", first)
        reserve(cli, "choi", first)
        later = reserve(cli, "jung", slot(cli, "2027-03-05", "Seoul", "Moderna"))
        cli("administer", str(kim), "--lot", 'L"1', "--expires", "2027-12-31", "--site", "right-arm", "--route", "im")
        cli("administer", str(lee))
        cli("cancel", str(gone))
    with time_machine.travel(DAY + dt.timedelta(days=1), tick=False):
        assert cli("close-day").exit_code == 0
    with time_machine.travel(DAY + dt.timedelta(days=23), tick=False):
        second = reserve(cli, "kim", slot(cli, "2027-03-25", "Seoul", "Pfizer"), dose=2)
        cli("administer", str(second), "--lot", "L2")
        reserve(cli, "han", slot(cli, "2027-03-28", "Daegu", "Janssen", 1))
        cli("waitlist", "join", "--user", "yoon", "--vaccine", "Janssen", "--hospital", "Daegu")
    return {"kim": kim, "lee": lee, "second": second, "later": later}


def test_export_immunizations_is_valid_fhir_with_every_code(cli, tmp_path, doses):
    out = tmp_path / "imm.ndjson"
    result = cli("export", "immunizations", "--output", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Exported 3 immunizations to {out}.\n"
    assert result.stderr == (
        "Note: 1 dose of a vaccine without CVX, SNOMED CT or ATC code, exported with the vaccine's name as text only; "
        "add the codes with `vaxres vaccine update NAME --cvx CODE`\n"
    )
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    resources = lines(out)
    for resource in resources:
        Immunization.model_validate(resource)
    first, bare, second = resources
    assert first["id"] == str(doses["kim"]) and first["status"] == "completed"
    assert first["identifier"] == [{"system": "urn:vaxres:reservation", "value": str(doses["kim"])}]
    assert [(c["system"], c["code"]) for c in first["vaccineCode"]["coding"]] == [
        (CVX, "208"), (SNOMED, "1119349007"), (ATC, "J07BN01"),
    ]  # fmt: skip
    assert first["vaccineCode"]["text"] == "Pfizer"
    assert first["patient"] == {"reference": "Patient/kim"}
    assert (first["occurrenceDateTime"], first["recorded"]) == ("2027-03-02T10:30:00+09:00", "2027-03-02T01:30:00Z")
    assert (first["lotNumber"], first["expirationDate"]) == ('L"1', "2027-12-31")
    assert first["site"]["coding"][0]["code"] == "RA" and first["route"]["coding"][0]["code"] == "IM"
    assert first["location"] == {"display": HOSTILE} and first["primarySource"] is True
    assert first["manufacturer"]["identifier"] == {"system": "http://hl7.org/fhir/sid/mvx", "value": "PFR"}
    assert first["protocolApplied"] == [
        {
            "targetDisease": [{"coding": [{"system": SNOMED, "code": "840539006"}]}],
            "doseNumberPositiveInt": 1,
            "seriesDosesPositiveInt": 2,
        }
    ]
    assert bare["vaccineCode"] == {"text": '백신 "Q"\\'} and "targetDisease" not in bare["protocolApplied"][0]
    assert second["protocolApplied"][0]["doseNumberPositiveInt"] == 2
    assert second["occurrenceDateTime"] == "2027-03-25T10:30:00+09:00"
    narrowed = cli("export", "immunizations", "--from", "2027-03-20")
    assert [json.loads(line)["id"] for line in narrowed.stdout.splitlines()] == [str(doses["second"])]


def test_export_patients_never_holds_the_national_number(cli, tmp_path, doses):
    out = tmp_path / "patients.ndjson"
    assert cli("export", "patients", "--output", str(out)).exit_code == 0
    data = out.read_bytes()
    for secret in (b"900512", b"1234568", b"******", b"rrn"):
        assert secret not in data
    patients = {p["identifier"][0]["value"]: p for p in lines(out)}
    for resource in patients.values():
        Patient.model_validate(resource)
    lee = patients["lee"]
    assert lee["name"] == [{"text": "이 순신"}] and lee["gender"] == "male" and lee["birthDate"] == "1990-05-12"
    assert lee["telecom"] == [{"system": "phone", "value": "+821012345678"}]
    assert set(patients) >= {"kim", "park", "choi", "jung", "han", "yoon"}


def test_export_appointments_covers_every_status_and_the_waitlist(cli, doses):
    result = cli("export", "appointments")
    assert result.exit_code == 0, result.stderr
    resources = [json.loads(line) for line in result.stdout.splitlines()]
    for resource in resources:
        Appointment.model_validate(resource)
    by_status: dict[str, list] = {}
    for resource in resources:
        by_status.setdefault(resource["status"], []).append(resource)
    assert sorted(by_status) == ["booked", "cancelled", "fulfilled", "noshow", "waitlist"]
    assert len(by_status["fulfilled"]) == 3 and len(by_status["cancelled"]) == 1
    assert len(by_status["noshow"]) == 1  # choi, closed on the next day
    waiting = by_status["waitlist"][0]
    assert waiting["participant"][0]["actor"] == {"reference": "Patient/yoon"}
    assert "start" not in waiting and waiting["requestedPeriod"][0]["start"].endswith("+09:00")
    booked = next(r for r in by_status["booked"] if r["id"] == f"r{doses['later']}")
    assert (booked["start"], booked["end"]) == ("2027-03-05T00:00:00+09:00", "2027-03-06T00:00:00+09:00")


@pytest.mark.parametrize(
    "args, message",
    [
        (("immunizations", "--format", "csv"), "Error: immunizations are written as FHIR only: give --format fhir (the default)\n"),
        (("slots", "--format", "fhir"), "Error: --format fhir is for immunizations, patients, appointments; slots are written as csv or jsonl\n"),
        (("patients", "--format", "xml"), "Error: --format must be csv, jsonl or fhir, got 'xml'\n"),
    ],
)  # fmt: skip
def test_a_wrong_format_is_invalid_and_writes_nothing(cli, tmp_path, args, message):
    out = tmp_path / "out.ndjson"
    result = cli("export", *args, "--output", str(out))
    assert (result.exit_code, result.stderr) == (2, message)
    assert not out.exists() and list(tmp_path.glob(".out*")) == []


def test_an_export_with_no_doses_is_empty_and_says_so(cli, tmp_path):
    out = tmp_path / "none.ndjson"
    result = cli("export", "immunizations", "--output", str(out))
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"Exported 0 immunizations to {out}.\n", "")
    assert out.read_bytes() == b""


def test_a_slot_spelling_the_vaccine_otherwise_is_still_coded(cli, db_path):
    """An old store's slot may spell the catalog's name in another case (migration 0004 kept it)."""
    booking = reserve(cli, "kim", slot(cli, dt.date.today().isoformat(), "Seoul", "Pfizer"))
    cli("administer", str(booking))
    query(db_path, "UPDATE slot SET vaccine = 'PFIZER'")
    result = cli("export", "immunizations")
    assert (result.exit_code, result.stderr) == (0, "")
    resource = json.loads(result.stdout)
    assert resource["vaccineCode"]["text"] == "Pfizer" and resource["vaccineCode"]["coding"][0]["code"] == "208"


def test_sqlite_and_python_make_the_same_immunizations(cli, tmp_path, doses, monkeypatch):
    """On SQLite with a fixed offset the lines are made by SQLite (exports/fhir_sqlite.py); the
    Python builder (any backend, daylight-saving zones) must write the very same bytes."""
    from vaxres.exports import fhir_sqlite

    with time_machine.travel(DAY + dt.timedelta(days=23), tick=False):  # a person whose id is no FHIR id
        given = cli("administer", str(reserve(cli, '최 "Q"\\', slot(cli, "2027-03-25", "Daegu", "Moderna"))))
        assert given.exit_code == 0, given.stderr
    fast = cli("export", "immunizations", "--output", str(tmp_path / "fast.ndjson"))
    monkeypatch.setattr(fhir_sqlite, "fixed_offset", lambda zone: None)
    slow = cli("export", "immunizations", "--output", str(tmp_path / "slow.ndjson"))
    assert (fast.exit_code, slow.exit_code) == (0, 0) and fast.stderr == slow.stderr != ""
    assert (tmp_path / "fast.ndjson").read_bytes() == (tmp_path / "slow.ndjson").read_bytes()
    assert b'"Patient/x.' in (tmp_path / "fast.ndjson").read_bytes()


def test_a_dose_given_in_a_seconds_last_half_millisecond_keeps_that_second(cli, seoul):
    """23:59:59.9996 is still the dose's day: SQLite's datetime() with a modifier rounds to the
    millisecond, the UTC `recorded` is cut to the second (as on PostgreSQL)."""
    with time_machine.travel(dt.datetime(2027, 3, 2, 14, 59, 59, 999600, tzinfo=dt.UTC), tick=False):
        booking = reserve(cli, "kim", slot(cli, "2027-03-02", "Seoul", "Pfizer"))
        assert cli("administer", str(booking)).exit_code == 0
    resource = json.loads(cli("export", "immunizations").stdout)
    assert (resource["occurrenceDateTime"], resource["recorded"]) == (
        "2027-03-02T23:59:59+09:00",
        "2027-03-02T14:59:59Z",
    )


@pytest.mark.parametrize("zone, offset", [("Asia/Seoul", 32400), ("UTC", 0), ("Asia/Kolkata", 19800),
                                          ("America/New_York", None), ("Europe/Berlin", None)])  # fmt: skip
def test_a_zone_keeps_one_offset_or_not(zone, offset):
    from zoneinfo import ZoneInfo

    from vaxres.exports.fhir_sqlite import fixed_offset

    assert fixed_offset(ZoneInfo(zone)) == offset
