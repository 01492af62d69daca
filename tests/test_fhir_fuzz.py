"""The FHIR builders (exports/fhir.py, exports/scheduling.py) under any text a person could type
into a name, a lot or an id: control characters, quotes, backslashes, Korean, surrogates' escapes,
line breaks. Each resource stays one line of valid JSON holding the text exactly, and a valid R4B
resource (hypothesis)."""

import datetime as dt
import json
import re
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.schedule import Schedule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaxres.errors import InvalidValue
from vaxres.exports import fhir, scheduling
from vaxres.validate import normalize_name

# Any text but lone surrogates (not UTF-8; no store can hold one), not blank (FHIR strings are not).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40).filter(lambda t: t.strip())
HOSTILE = st.one_of(TEXT, st.sampled_from(['"', "\\", '\\"', "\n", "\u2028", "\x00", '김\t"x"', "</script>", "%s{}"]))
CLOCK = fhir.LocalTime(ZoneInfo("America/New_York"))  # a zone with daylight saving
INSTANT = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31), timezones=st.just(dt.UTC))
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def storable(*texts: str) -> bool:
    """Text a vaxres name can be (validate.normalize_name keeps it as it is): only such text is
    ever in the store, and only it must make a valid FHIR string (not blank, no control
    characters); any text at all must still make valid JSON."""
    try:
        return all(normalize_name(text, field="x") == text for text in texts)
    except InvalidValue:
        return False


def one_line(resource: str) -> dict:
    assert resource.endswith("\n") and resource.count("\n") == 1
    return json.loads(resource)


@settings(max_examples=150, deadline=None)
@given(user=HOSTILE, lot=HOSTILE, hospital=HOSTILE, name=HOSTILE, when=INSTANT, dose=st.integers(1, 10))
def test_an_immunization_holds_any_text_exactly(user, lot, hospital, name, when, dose):
    vaccine = fhir.Vaccine.of(name, 10, {"cvx": "208", "target_disease": "840539006", "mvx": "PFR"})
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    row = (7, user, dose, stamp, lot, "2030-01-31", "left-arm", "sc", hospital)
    resource = one_line(fhir.immunization(row, vaccine, CLOCK))
    assert (resource["lotNumber"], resource["location"]["display"], resource["vaccineCode"]["text"]) == (
        lot,
        hospital,
        name,
    )
    assert resource["patient"]["reference"] == f"Patient/{fhir.resource_id(user)}"
    assert dt.datetime.fromisoformat(resource["occurrenceDateTime"]) == when.replace(microsecond=0)
    if storable(lot, hospital, name):
        Immunization.model_validate(resource)


@settings(max_examples=150, deadline=None)
@given(pid=HOSTILE, name=HOSTILE, phone=HOSTILE, email=HOSTILE, lang=st.sampled_from(["ko", "en", None]))
def test_a_patient_holds_any_text_exactly(pid, name, phone, email, lang):
    resource = one_line(fhir.patient((pid, name, "1990-05-12", "F", phone, email, lang, None)))
    assert resource["identifier"][0]["value"] == pid and resource["name"] == [{"text": name}]
    assert [t["value"] for t in resource["telecom"]] == [phone, email]
    assert FHIR_ID.fullmatch(resource["id"])
    if storable(pid, name, phone, email):
        Patient.model_validate(resource)


@given(first=HOSTILE, second=HOSTILE)
def test_resource_ids_are_fhir_ids_and_tell_people_apart(first, second):
    assert FHIR_ID.fullmatch(fhir.resource_id(first))
    assert (fhir.resource_id(first) == fhir.resource_id(second)) == (first == second)


@settings(max_examples=100, deadline=None)
@given(user=HOSTILE, hospital=HOSTILE, vaccine=HOSTILE, created=INSTANT, waiting=st.booleans())
def test_an_appointment_holds_any_text_exactly(user, hospital, vaccine, created, waiting):
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    row = ("w" if waiting else "r", 3, user, 2, "waiting" if waiting else "no_show", "2027-03-08", None, hospital,
           vaccine, None if waiting else 9, stamp)  # fmt: skip
    resource = one_line(fhir.appointment(row, CLOCK))
    assert resource["participant"][1]["actor"]["display"] == hospital
    assert resource["serviceType"][0]["text"] == vaccine
    assert resource["status"] == ("waitlist" if waiting else "noshow")
    if storable(hospital, vaccine):
        Appointment.model_validate(resource)


@settings(max_examples=100, deadline=None)
@given(hospital=HOSTILE, vaccine=HOSTILE, phone=HOSTILE)
def test_scheduling_resources_hold_any_text_exactly(hospital, vaccine, phone):
    options = scheduling.PublishOptions.parse(output="x", base_url="https://x.example/slots")
    options = scheduling.PublishOptions(options.output, options.base_url, "https://book.example/?a=b", phone)
    location = one_line(scheduling.location(hospital.casefold(), hospital, options))
    assert location["name"] == hospital and location["telecom"][0]["value"] == phone
    if storable(hospital, phone):
        Location.model_validate(location)

    class Catalog:
        cvx, doses, target_disease = "208", 2, "840539006"

    schedule = one_line(scheduling.schedule((hospital.casefold(), hospital, vaccine.casefold(), vaccine), Catalog))
    assert schedule["serviceType"][0]["text"] == vaccine
    assert schedule["actor"][0]["reference"] == f"Location/{location['id']}"
    if storable(vaccine):
        Schedule.model_validate(schedule)


@pytest.fixture(scope="module")
def seoul_store(tmp_path_factory):
    """A SQLite store in Seoul (one offset: SQLite makes the lines) whose catalog holds a vaccine
    named with printf's own characters."""
    from vaxres.admin.database import set_timezone
    from vaxres.booking.vaccines import add_vaccine
    from vaxres.db.opening import open_store

    store = open_store(str(tmp_path_factory.mktemp("fhir") / "vaxres.db"))
    set_timezone(store, "Asia/Seoul")
    add_vaccine(store, 'Vax 100% "%s" %d\\', doses=2, min_interval=21, code_values={"cvx": "208", "mvx": "PFR"})
    yield store
    store.dispose()


SITES = st.sampled_from([None, "left-arm", "right-arm", "elbow"])
SLOT_VACCINES = st.one_of(st.sampled_from(['vax 100% "%s" %d\\', "Pfizer", "pfizer"]), HOSTILE)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user=HOSTILE, lot=st.none() | HOSTILE, hospital=HOSTILE, vaccine=SLOT_VACCINES, site=SITES,
       given_at=st.none() | INSTANT, expires=st.none() | st.just("2030-01-31"))  # fmt: skip
def test_sqlite_writes_the_python_builders_bytes_for_any_text(
    seoul_store, tmp_path, user, lot, hospital, vaccine, site, given_at, expires
):
    """exports/fhir_sqlite.py's printf formats against exports/fhir.py, on text a person could
    type anywhere a row holds it (a vaccine's name in the format itself)."""
    from vaxres.exports import fhir_sqlite
    from vaxres.exports.run import ExportOptions, export

    administered = None if given_at is None else given_at.strftime("%Y-%m-%d %H:%M:%S.%f")
    with seoul_store.write() as conn:
        driver = conn.connection.driver_connection
        driver.execute("DELETE FROM reservation")
        driver.execute("DELETE FROM slot")
        driver.execute(
            "INSERT INTO slot (id, date, hospital, vaccine, hospital_key, vaccine_key, capacity, remaining, created_at,"
            " updated_at) VALUES (1, '2027-03-02', ?, ?, ?, ?, 5, 4, '2027-01-01 00:00:00', '2027-01-01 00:00:00')",
            (hospital, vaccine, hospital.casefold(), vaccine.casefold()),
        )
        driver.execute(
            "INSERT INTO reservation (id, slot_id, user_id, dose, status, reserved_at, administered_at, lot,"
            " lot_expires, site, route) VALUES (7, 1, ?, 2, 'administered', '2027-01-01 00:00:00', ?, ?, ?, ?, 'im')",
            (user, administered, lot, expires, site),
        )
    fast, slow = tmp_path / "fast.ndjson", tmp_path / "slow.ndjson"
    export(seoul_store, "immunizations", ExportOptions.parse(format="fhir", output=str(fast), force=True))
    with patch.object(fhir_sqlite, "fixed_offset", lambda zone: None):
        export(seoul_store, "immunizations", ExportOptions.parse(format="fhir", output=str(slow), force=True))
    assert fast.read_bytes() == slow.read_bytes()
    resource = one_line(fast.read_text(encoding="utf-8"))
    assert (resource.get("lotNumber"), resource["location"]["display"]) == (lot, hospital)
