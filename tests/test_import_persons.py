"""`vaxres import persons` (issue 20): people from CSV, each value checked as `person add` checks
it, an existing id updated, duplicates and guardians decided across the file, numbers never in
clear anywhere, all-or-nothing for invalid rows, both backends."""

import json
import sqlite3
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import query, run_vaxres, years_ago
from vaxres import validate
from vaxres.imports.person_rows import PersonParser

pytestmark = pytest.mark.usefixtures("backend", "shared_id_key", "both_readings")

KIM = "900512-1583920"
LEE = "8803152234517"
SECRETS = ("9005121583920", KIM, "1583920", "8803152234517", "880315-2234517", "2234517")
HEADER = "id,name,rrn,birth_date,phone,email,lang,guardian,groups\n"


def write(tmp_path, text: str, name: str = "people.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def people(cli) -> dict:
    return {p["id"]: p for p in cli.json("person", "list")["people"]}


GOOD = (
    HEADER
    + f"kim,김민수,{KIM},,010-1234-5678,Kim@Example.COM,ko,,의료진;Nurses\n"
    + f"minji,김민지,,{years_ago(11)},,,ko,kim,\n"
    + f"child,아이,,{years_ago(5)},,,,mother,\n"  # a guardian defined further down
    + f"mother,어머니,{LEE},,+44 20 7946 0958,,en,,\n"
)


@pytest.mark.parametrize("kept", [PersonParser.GROUPS_LIMIT, 1])
def test_groups_are_the_same_split_by_the_store_or_in_python(cli, tmp_path, monkeypatch, kept, both_readings):
    """The loader splits the groups values in SQL when the parser kept them all, in Python when a
    file has more distinct groups cells than it keeps (here: one): the same groups either way."""
    if kept != PersonParser.GROUPS_LIMIT and both_readings == "worker":
        pytest.skip("the worker process parses with the limit as shipped, not this process's patch")
    monkeypatch.setattr(PersonParser, "GROUPS_LIMIT", kept)
    text = HEADER + "a,가,,,,,,,의료진;Nurses\nb,나,,,,,,,교사\nc,다,,,,,,,NURSES;의료진;교사;nurses\nd,라,,,,,,,\n"
    done = cli("import", "persons", str(write(tmp_path, text)))
    assert done.exit_code == 0, done.stderr
    assert {person: found["groups"] for person, found in people(cli).items()} == {
        "a": ["Nurses", "의료진"],
        "b": ["교사"],
        "c": ["NURSES", "교사", "의료진"],
        "d": [],
    }


def test_a_file_registers_its_people_as_person_add_would(cli, tmp_path):
    done = cli("import", "persons", str(write(tmp_path, GOOD)))
    assert done.exit_code == 0, done.stderr
    assert done.stdout.startswith("Imported persons from ")
    assert [line.split() for line in done.stdout.splitlines() if "registered" in line] == [
        ["│", "registered", "│", "4", "│"]
    ]
    found = people(cli)
    assert set(found) == {"kim", "minji", "child", "mother"}
    kim = found["kim"]
    assert (kim["name"], kim["birth_date"], kim["sex"], kim["rrn"]) == ("김민수", "1990-05-12", "M", "900512-1******")
    assert (kim["phone"], kim["email"], kim["lang"], kim["groups"]) == (
        "+821012345678",
        "Kim@example.com",
        "ko",
        ["Nurses", "의료진"],
    )
    assert found["mother"]["phone"] == "+442079460958" and found["mother"]["sex"] == "F"
    assert (found["minji"]["guardian"], found["child"]["guardian"]) == ("kim", "mother")
    assert cli.json("person", "find", "--rrn", LEE)["id"] == "mother"
    logged = cli.json("log", "--person", "kim")
    assert [(e["event"], e["payload"]["fields"], e["status"]) for e in logged] == [
        ("PersonRegistered", ["birth_date", "email", "groups", "lang", "name", "phone", "rrn", "sex"], "delivered")
    ]
    assert cli.json("log", "--person", "child")[0]["payload"]["fields"] == ["birth_date", "guardian", "name"]


def test_the_summary_counts_and_json(cli, tmp_path):
    summary = cli.json("import", "persons", str(write(tmp_path, GOOD)))
    assert {k: summary[k] for k in ("kind", "rows", "registered", "updated", "unchanged", "refused", "invalid")} == {
        "kind": "persons",
        "rows": 4,
        "registered": 4,
        "updated": 0,
        "unchanged": 0,
        "refused": 0,
        "invalid": 0,
    }
    again = cli.json("import", "persons", str(write(tmp_path, GOOD)))
    assert (again["registered"], again["updated"], again["unchanged"]) == (0, 0, 4)


def test_an_existing_id_takes_the_rows_values_and_keeps_what_the_row_leaves_empty(cli, tmp_path):
    assert cli("person", "add", "kim", "--name", "Kim", "--phone", "010-1111-2222", "--lang", "en").exit_code == 0
    corrected = "id,phone,email,groups\nkim,010-3333-4444,kim@example.com,교사\n"
    summary = cli.json("import", "persons", str(write(tmp_path, corrected)))
    assert (summary["registered"], summary["updated"]) == (0, 1)
    kim = cli.json("person", "show", "kim")
    assert (kim["name"], kim["phone"], kim["email"], kim["lang"], kim["groups"]) == (
        "Kim",
        "+821033334444",
        "kim@example.com",
        "en",
        ["교사"],
    )
    updated = cli.json("log", "--person", "kim")[-1]
    assert (updated["event"], updated["payload"]["fields"]) == ("PersonUpdated", ["email", "groups", "phone"])
    assert cli.json("import", "persons", str(write(tmp_path, corrected)))["unchanged"] == 1


INVALID = (
    HEADER
    + "ok,정상,,,,,,,\n"
    + "month,월,901312-1583920,,,,,,\n"
    + "phone,전화,,,call me,,,,\n"
    + 'ctrl,"bad\x1b[2Jname",,,,,,,\n'
    + f"dates,날짜,{KIM},1991-01-01,,,,,\n"
    + "mail,메일,,,,kim@,,,\n"
    + ",빈 아이디,,,,,,,\n"
)


def test_invalid_rows_stop_the_import_with_one_line_each_and_write_nothing(cli, db_path, tmp_path):
    refused = cli("import", "persons", str(write(tmp_path, INVALID)))
    assert refused.exit_code == 2
    lines = refused.stderr.splitlines()
    assert lines[0].startswith("Error: 6 of 7 rows in ")
    assert lines[1:] == [
        "  line 3, rrn '901312-1******': has month 13, which is not a month (YYMMDD: the 3rd and 4th digits)",
        "  line 4, phone 'call me': is not a valid phone number (read in region KR; --region changes it)",
        "  line 5, name 'bad\\x1b[2Jname': must not contain control characters or line breaks",
        "  line 6, birth_date '1991-01-01': is not the birth date the resident registration number gives (900512-1******)",
        "  line 7, email 'kim@': is not an e-mail address (there must be something after the @-sign)",
        "  line 8, id '': must not be empty",
    ]
    assert query(db_path, "SELECT count(*) FROM person") == [(0,)]
    assert query(db_path, "SELECT count(*) FROM outbox") == [(0,)]


def test_skip_invalid_loads_the_rest_and_rejects_hold_no_number(cli, db_path, tmp_path):
    rejects = tmp_path / "rejects.csv"
    text = INVALID + f"again,다시,{KIM},,,,,,\n"
    done = cli("import", "persons", str(write(tmp_path, text)), "--skip-invalid", "--rejects", str(rejects))
    assert done.exit_code == 1
    assert set(people(cli)) == {"ok", "again"}  # the number's first row was invalid: this one holds it
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    written = rejects.read_text(encoding="utf-8")
    assert written.splitlines()[0] == "id,name,rrn,birth_date,phone,email,lang,guardian,groups,line,reason"
    assert "901312-1******" in written and "900512-1******" in written
    assert [row.split(",")[0] for row in written.splitlines()[1:]] == ["month", "phone", "ctrl", "dates", "mail", ""]
    for secret in SECRETS:
        assert secret not in written and secret not in done.stdout + done.stderr


def test_rules_across_rows_refuse_that_row_only(cli, tmp_path):
    cli("person", "add", "held", "--rrn", KIM)
    cli("person", "add", "teen", "--birth-date", years_ago(15))
    text = (
        HEADER
        + f"dup,중복,{KIM},,,,,,\n"  # line 2: the number is held's
        + f"a,A,{LEE},,,,,,\n"
        + f"b,B,{LEE.replace('2234517', '2234517')},,,,,,\n"  # line 4: the number of line 3
        + "a,A again,,,,,,,\n"  # line 5: the id of line 3
        + f"baby,아기,,{years_ago(1)},,,,teen,\n"  # a minor guardian
        + f"lost,길잃음,,{years_ago(2)},,,,nobody,\n"
        + f"self,나,,{years_ago(30)},,,,self,\n"
        + f"x,X,,{years_ago(40)},,,,y,\n"
        + f"y,Y,,{years_ago(40)},,,,x,\n"  # line 10 closes a circle
        + f"ward,W,,{years_ago(3)},,,,a,\n"  # a is registered by line 3, born 1988 by the number
        + "z,Z,,,,,,,\n"
        + f"nodate,N,,{years_ago(3)},,,,z,\n"  # line 13: z has no birth date
    )
    done = cli("import", "persons", str(write(tmp_path, text)), "--json")
    assert done.exit_code == 1
    summary = json.loads(done.stdout)
    assert (summary["registered"], summary["refused"]) == (3, 9)
    errors = [(e["line"], e["code"], e["column"], e["reason"]) for e in summary["errors"]]
    assert errors[:4] == [
        (
            2,
            "duplicate_identity",
            "rrn",
            "the resident registration number 900512-1****** is registered to held already; one number, one person",
        ),
        (
            4,
            "duplicate_identity",
            "rrn",
            "the resident registration number 880315-2****** is given on line 3 to a already; one number, one person",
        ),
        (5, "duplicate_person", "id", "a is on line 3 of the file already; give one row per person"),
        (
            6,
            "invalid_guardian",
            "guardian",
            "teen cannot be baby's guardian: they are 15, and a guardian is 18 or older",
        ),
    ]
    reasons = {line: reason for line, _code, _column, reason in errors}
    assert (
        reasons[7] == "nobody cannot be lost's guardian: they are not registered (add them with their birth date first)"
    )
    assert reasons[8] == "self cannot be self's guardian: a person cannot be their own guardian"
    assert reasons[10] == "x cannot be y's guardian: y is already in y's line of guardians"
    assert reasons[9] == "y cannot be x's guardian: their own row, line 10, is refused"
    assert reasons[13].startswith("z cannot be nodate's guardian: their birth date is not registered")
    assert set(people(cli)) == {"held", "teen", "a", "ward", "z"}
    assert cli.json("person", "show", "ward")["guardian"] == "a"


def test_korean_headers_in_a_cp949_file(cli, tmp_path):
    text = (
        "식별자,성명,주민등록번호,휴대전화,전자우편,언어,보호자,그룹\n"
        + f"kim,김민수,{KIM},010-1234-5678,kim@example.com,ko,,의료진\n"
    )
    summary = cli.json("import", "persons", str(write(tmp_path, text, encoding="cp949")))
    assert (summary["encoding"], summary["registered"]) == ("cp949", 1)
    assert people(cli)["kim"]["name"] == "김민수"


def test_a_dry_run_writes_nothing_and_counts_what_would_be(cli, db_path, tmp_path):
    summary = cli.json("import", "persons", str(write(tmp_path, GOOD)), "--dry-run")
    assert (summary["dry_run"], summary["registered"]) == (True, 4)
    assert query(db_path, "SELECT count(*) FROM person") == [(0,)]
    assert query(db_path, "SELECT count(*) FROM store_setting WHERE key = 'id_key_check'") == [(0,)]


def test_a_missing_id_column_names_the_headers_found(cli, tmp_path):
    refused = cli("import", "persons", str(write(tmp_path, "name,phone\nKim,010-1234-5678\n")))
    assert refused.exit_code == 2
    assert refused.stderr.startswith("Error: ")
    assert "has no id column (headers found: 'name', 'phone'); required: id" in refused.stderr
    assert "vaxres import persons --help" in refused.stderr


@pytest.mark.usefixtures("sqlite_only")
def test_the_number_is_in_no_byte_of_the_store_its_wal_outputs_or_rejects(tmp_path):
    env = {"VAXRES_DB": str(tmp_path / "p.db"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert run_vaxres("db", "upgrade", env=env).returncode == 0
    keeper = sqlite3.connect(tmp_path / "p.db")  # an open reader keeps the WAL file after the import ends
    keeper.execute("SELECT count(*) FROM person").fetchall()
    rejects = tmp_path / "rejects.csv"
    text = GOOD + f"dup,중복,{KIM},,,,,,\nbad,나쁨,{KIM[:-1]}x,,,,,,\n"
    done = run_vaxres(
        "import", "persons", str(write(tmp_path, text)), "--skip-invalid", "--rejects", str(rejects), env=env
    )
    assert done.returncode == 1, done.stderr
    listed = run_vaxres("person", "list", "--json", env=env)
    exported = run_vaxres("export", "persons", env=env)
    wal = tmp_path / "p.db-wal"
    assert wal.exists() and wal.stat().st_size > 0
    blobs = [(tmp_path / "p.db").read_bytes(), wal.read_bytes(), rejects.read_bytes()]
    texts = [done.stdout, done.stderr, listed.stdout, exported.stdout]
    keeper.close()
    for secret in SECRETS:
        assert not any(secret.encode() in blob for blob in blobs), secret
        assert not any(secret in text for text in texts), secret
    assert b"900512-1******" in rejects.read_bytes()


@pytest.mark.one_backend
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=40), group=st.text(max_size=20), phone=st.text(max_size=16))
def test_hostile_names_and_fields_stay_text(cli, tmp_path, name, group, phone):
    path = tmp_path / "fuzz.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        import csv

        csv.writer(out).writerows([["id", "name", "groups", "phone"], ["p", name, group, phone]])
    done = cli("import", "persons", str(path), "--json")
    assert done.exit_code in (0, 1, 2), done.stderr
    assert "Traceback" not in done.stderr
    if done.exit_code == 0:
        shown = cli.json("person", "show", "p")
        assert shown["name"] == validate.normalize_name(name, field="name")
        table = cli("person", "list").stdout
        assert "\x1b" not in table
        cli("person", "forget", "p")
