"""`vaxres import slots|reservations` with real files written by the tests."""

import csv
import datetime as dt
import json

import pytest

from tests.helpers import count_rows, future, invariant_violations, snapshot

pytestmark = pytest.mark.usefixtures("backend")


def write(path, text: str, encoding: str = "utf-8") -> str:
    path.write_bytes(text.encode(encoding))
    return str(path)


def slots_of(cli):
    return [(s["date"], s["hospital"], s["vaccine"], s["capacity"], s["remaining"]) for s in cli.json("slot", "list")]


@pytest.fixture
def store_ready(cli):
    """Open (create and migrate) the store, so snapshots can be taken before an import."""
    assert cli("slot", "list").exit_code == 0


def test_bom_crlf_blank_lines_extra_columns_and_quoted_commas(cli, tmp_path):
    text = (
        "\ufeff Date ,HOSPITAL,Vaccine,Qty,note\r\n"
        f'{future(1)},"Seoul, Gangnam Clinic",Pfizer,3,first\r\n'
        "\r\n"
        "  \r\n"
        f'{future(2)},Busan  Medical   Center,Moderna,2,"with, comma"\r\n'
    )
    result = cli("import", "slots", write(tmp_path / "plan.csv", text), "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("rows", "created", "updated", "unchanged", "refused", "invalid")} == {
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "refused": 0,
        "invalid": 0,
    }
    assert slots_of(cli) == [
        (future(1), "Seoul, Gangnam Clinic", "Pfizer", 3, 3),
        (future(2), "Busan Medical Center", "Moderna", 2, 2),
    ]


def test_korean_headers_in_cp949(cli, tmp_path):
    text = f"접종일자,접종병원,백신종류,수량\n{future()},서울대학교병원,화이자,5\n"
    path = write(tmp_path / "plan.csv", text, "cp949")
    refused = cli("import", "slots", path, "--encoding", "utf-8")  # given: no second reading
    assert refused.exit_code == 2
    assert refused.stderr == (
        "Error: line 1 is not valid utf-8 (byte b'\\xc1' at column 1); "
        "the bytes look like Korean CP949 (EUC-KR): try --encoding cp949\n"
    )
    loaded = cli("import", "slots", path)  # detected (tests/test_import_encoding.py)
    assert loaded.exit_code == 0, loaded.stderr
    assert loaded.stdout.startswith(f"Imported slots from {path} (read as cp949).\n")
    assert slots_of(cli) == [(future(), "서울대학교병원", "Pfizer", 5, 5)]  # 화이자 is an alias of Pfizer


def test_a_decoding_error_names_its_line(cli, tmp_path, db_path, store_ready):
    body = f"date,hospital,vaccine,quantity\n{future()},A,Janssen,1\n{future()},B,Janssen,1\n".encode()
    (tmp_path / "bad.csv").write_bytes(body + b"2026-12-01,\xff\xfe,Janssen,1\n")
    result = cli("import", "slots", str(tmp_path / "bad.csv"))
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: line 4 is neither utf-8 nor cp949 (byte b'\\xff' at column 12); "
        "give the file's encoding with --encoding NAME\n"
    )
    assert count_rows(db_path, "slot") == 0


@pytest.mark.parametrize(
    "delimiter, options", [(";", []), ("\t", []), (";", ["--delimiter", ";"]), ("\t", ["--delimiter", "\\t"])]
)
def test_delimiters_are_sniffed_or_given(cli, tmp_path, delimiter, options):
    text = (
        delimiter.join(["date", "hospital", "vaccine", "doses"])
        + "\n"
        + delimiter.join([future(), "H, Q", "Janssen", "4"])
        + "\n"
    )
    result = cli("import", "slots", write(tmp_path / "plan.csv", text), *options)
    assert result.exit_code == 0, result.stderr
    assert slots_of(cli) == [(future(), "H, Q", "Janssen", 4, 4)]


def test_missing_column_names_it_and_lists_the_headers(cli, tmp_path):
    result = cli("import", "slots", write(tmp_path / "plan.csv", "date,hospital,amount\n2026-12-01,H,3\n"))
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path / 'plan.csv'} has no vaccine or quantity column (headers found: 'date', 'hospital', 'amount'); "
        "required: date, hospital, vaccine, quantity; see `vaxres import slots --help` for the accepted names\n"
    )


def test_empty_file_and_header_only_file(cli, tmp_path):
    empty = cli("import", "slots", write(tmp_path / "empty.csv", ""))
    assert empty.exit_code == 2
    assert "is empty: expected a header row with the columns date, hospital, vaccine, quantity" in empty.stderr
    header_only = cli("import", "slots", write(tmp_path / "header.csv", "date,hospital,vaccine,quantity\r\n"), "--json")
    assert header_only.exit_code == 0
    assert json.loads(header_only.stdout)["rows"] == 0


def test_every_invalid_value_kind_stops_the_import_and_writes_nothing(cli, tmp_path, db_path, store_ready):
    rows = [
        f"{future()},Good,Janssen,1",
        "2026-02-30,H,Janssen,1",
        "30/12/2026,H,Janssen,1",
        "2020-01-01,H,Janssen,1",
        f"{future()},,Janssen,1",
        f"{future()},H,,1",
        f"{future()},{'x' * 201},Janssen,1",
        f'{future()},"bad\x07name",Janssen,1',
        f"{future()},H,Janssen,0",
        f"{future()},H,Janssen,1000001",
        f"{future()},H,Janssen,ten",
        f"{future()},H,Janssen,",
        f"{future()},H",
    ]
    before = snapshot(db_path)
    path = write(tmp_path / "plan.csv", "date,hospital,vaccine,quantity\n" + "\n".join(rows) + "\n")
    result = cli("import", "slots", path)
    assert result.exit_code == 2
    assert snapshot(db_path) == before
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"Error: 12 of 13 rows in {path} are invalid; nothing was written; "
        "fix them (or pass --skip-invalid to load the valid rows) and run the import again"
    )
    assert lines[1:] == [
        "  line 3, date '2026-02-30': is not a real calendar date",
        "  line 4, date '30/12/2026': must be a date as YYYY-MM-DD (or year first as spreadsheets write it: 2026/12/01, 2026.12.01, 2026. 12. 1., 20261201)",
        f"  line 5, date '2020-01-01': is in the past; give today ({future(0)}) or later",
        "  line 6, hospital '': must not be empty",
        "  line 7, vaccine '': must not be empty",
        f"  line 8, hospital '{'x' * 201}': must be at most 200 characters (has 201)",
        "  line 9, hospital 'bad\\x07name': must not contain control characters or line breaks",
        "  line 10, quantity '0': must be a whole number from 1 to 1,000,000",
        "  line 11, quantity '1000001': must be a whole number from 1 to 1,000,000",
        "  line 12, quantity 'ten': must be a whole number from 1 to 1,000,000",
        "  line 13, quantity '': must be a whole number from 1 to 1,000,000",
        "  line 14, vaccine '': must not be empty",
    ]


def test_the_report_shows_twenty_rows_then_a_count(cli, tmp_path):
    rows = "\n".join(f"{future()},H{n},Janssen,0" for n in range(25))
    result = cli("import", "slots", write(tmp_path / "plan.csv", "date,hospital,vaccine,quantity\n" + rows + "\n"))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 + 20 + 1
    assert lines[-1] == "  ... and 5 more (use --rejects PATH to get them all)"


def test_skip_invalid_loads_the_rest_and_writes_rejects(cli, tmp_path):
    text = f"date,hospital,vaccine,quantity,note\n{future()},A,Janssen,2,ok\n{future()},B,Janssen,zero,bad\n{future()},C,Janssen,1,ok\n"
    rejects = tmp_path / "rejects.csv"
    result = cli("import", "slots", write(tmp_path / "plan.csv", text), "--skip-invalid", "--rejects", str(rejects))
    assert result.exit_code == 1
    assert [s[1] for s in slots_of(cli)] == ["A", "C"]
    with rejects.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["date", "hospital", "vaccine", "quantity", "note", "line", "reason"],
        [
            future(),
            "B",
            "Janssen",
            "zero",
            "bad",
            "3",
            "line 3, quantity 'zero': must be a whole number from 1 to 1,000,000",
        ],
    ]


def test_reimport_changes_nothing_and_updates_capacity(cli, tmp_path, db_path):
    path = write(
        tmp_path / "plan.csv", f"date,hospital,vaccine,quantity\n{future()},A,Janssen,3\n{future()},B,Janssen,2\n"
    )
    assert cli("import", "slots", path).exit_code == 0
    before = snapshot(db_path)
    again = cli.json("import", "slots", path)
    assert (again["created"], again["unchanged"]) == (0, 2)
    assert snapshot(db_path) == before

    cli.json("reserve", "--user", "u1", "--slot", "1")
    cli.json("reserve", "--user", "u2", "--slot", "1")
    changed = write(
        tmp_path / "changed.csv", f"date,hospital,vaccine,quantity\n{future()},a,janssen,5\n{future()},B,Janssen,2\n"
    )
    summary = cli.json("import", "slots", changed)
    assert (summary["updated"], summary["unchanged"]) == (1, 1)
    assert slots_of(cli)[0] == (future(), "A", "Janssen", 5, 3)
    last = cli.json("outbox", "list")[-1]
    assert (last["event"], last["correlation_id"], last["payload"]["doses"], last["payload"]["previous_doses"]) == (
        "SlotUpdated",
        1,
        5,
        3,
    )
    assert (last["payload"]["hospital"], last["payload"]["vaccine"]) == (
        "A",
        "Janssen",
    )  # as stored, as `slot update` says

    below = write(tmp_path / "below.csv", f"date,hospital,vaccine,quantity\n{future()},A,Janssen,1\n")
    result = cli("import", "slots", below)
    assert result.exit_code == 1
    assert (
        "  line 2, quantity '1': slot 1 has 2 doses booked, so its quantity cannot drop to 1; "
        "give at least 2, or cancel reservations first\n"
    ) in result.stderr
    assert slots_of(cli)[0] == (future(), "A", "Janssen", 5, 3)
    assert invariant_violations(db_path) == []


def test_a_slot_another_writer_adds_during_a_chunk_counts_as_existing(cli, tmp_path, monkeypatch, backend, db_path):
    """PostgreSQL only (on SQLite the import holds the store): a slot committed by someone else
    after the chunk read the highest id is not taken for one of the chunk's own."""
    if backend == "sqlite":
        pytest.skip("SQLite's BEGIN IMMEDIATE keeps other writers out of a chunk")
    from vaxres.booking import slots
    from vaxres.db.opening import open_store
    from vaxres.imports import slot_loader

    real_create = slot_loader.SlotLoader._create

    def create_after_another_writer(self, conn, params):
        other = open_store(str(db_path))
        slots.add_slot(other, date=future(), hospital="A", vaccine="Janssen", quantity=3)
        other.dispose()
        return real_create(self, conn, params)

    monkeypatch.setattr(slot_loader.SlotLoader, "_create", create_after_another_writer)
    path = write(
        tmp_path / "plan.csv", f"date,hospital,vaccine,quantity\n{future()},A,Janssen,5\n{future()},B,Janssen,1\n"
    )
    summary = cli.json("import", "slots", path)
    assert {k: summary[k] for k in ("created", "updated", "unchanged")} == {"created": 1, "updated": 1, "unchanged": 0}
    assert [(s[1], s[3]) for s in slots_of(cli)] == [("A", 5), ("B", 1)]
    assert invariant_violations(db_path) == []


def test_re_importing_a_plan_does_not_use_up_slot_ids(cli, tmp_path):
    rows = "".join(f"{future()},H{n},Janssen,2\n" for n in range(20))
    path = write(tmp_path / "plan.csv", "date,hospital,vaccine,quantity\n" + rows)
    for _ in range(3):
        cli.json("import", "slots", path)
    added = cli.json("slot", "add", "--date", future(), "--hospital", "New", "--vaccine", "Janssen", "--quantity", "1")
    # SQLite: 21. PostgreSQL may lose an id to the plain INSERT tried first, never one per row.
    assert 21 <= added["id"] <= 23


def test_the_import_command_leaves_the_garbage_collector_as_it_found_it(cli, tmp_path):
    import gc

    cli.json(
        "import", "slots", write(tmp_path / "plan.csv", f"date,hospital,vaccine,quantity\n{future()},A,Janssen,5\n")
    )
    assert gc.get_freeze_count() == 0


def test_a_dry_run_counts_rows_for_existing_slots_as_the_import_would(cli, tmp_path):
    cli.json("slot", "add", "--date", future(), "--hospital", "A", "--vaccine", "Janssen", "--quantity", "3")
    path = write(
        tmp_path / "plan.csv",
        f"date,hospital,vaccine,quantity\n{future()},A,Janssen,5\n{future()},B,Janssen,1\n{future()},a,janssen,5\n",
    )
    counts = ("created", "updated", "unchanged", "refused")
    dry = cli.json("import", "slots", "--dry-run", path)
    real = cli.json("import", "slots", path)
    assert [tuple(summary[k] for k in counts) for summary in (dry, real)] == [(1, 1, 1, 0), (1, 1, 1, 0)]


def test_a_slot_given_two_quantities_ends_at_the_last_on_every_import(cli, tmp_path):
    """Documented in docs/import.md: such a file is not idempotent; each import sets both values in turn."""
    path = write(
        tmp_path / "plan.csv", f"date,hospital,vaccine,quantity\n{future()},A,Janssen,3\n{future()},A,Janssen,4\n"
    )
    first = cli.json("import", "slots", path)
    again = cli.json("import", "slots", path)
    assert [(s["created"], s["updated"], s["unchanged"]) for s in (first, again)] == [(1, 1, 0), (0, 2, 0)]
    assert [s[3] for s in slots_of(cli)] == [4]
    updates = [
        (m["payload"]["previous_doses"], m["payload"]["doses"])
        for m in cli.json("outbox", "list")
        if m["event"] == "SlotUpdated"
    ]
    assert updates == [(3, 4), (4, 3), (3, 4)]


def test_duplicate_rows_in_one_file_apply_in_order(cli, tmp_path, monkeypatch):
    from vaxres.imports import run as imports

    monkeypatch.setattr(imports, "SLOT_CHUNK", 2)  # duplicates inside and across chunks
    text = (
        "date,hospital,vaccine,quantity\n"
        f"{future()},A,Janssen,3\n{future()},a,janssen,3\n{future()},B,Janssen,1\n{future()},A,Janssen,4\n{future()},B,Janssen,1\n"
    )
    summary = cli.json("import", "slots", write(tmp_path / "plan.csv", text))
    assert {k: summary[k] for k in ("created", "updated", "unchanged")} == {"created": 2, "updated": 1, "unchanged": 2}
    assert [(s[1], s[3]) for s in slots_of(cli)] == [("A", 4), ("B", 1)]
    events = [m["event"] for m in cli.json("outbox", "list")]
    assert events == ["SlotRegistered", "SlotRegistered", "SlotUpdated"]


def test_chunks_after_one_with_an_existing_slot_still_load_every_new_slot(cli, tmp_path, monkeypatch):
    """PostgreSQL tries a plain INSERT first and falls back to ON CONFLICT; counts and ids hold either way."""
    from vaxres.imports import run as imports

    monkeypatch.setattr(imports, "SLOT_CHUNK", 2)
    cli.json("slot", "add", "--date", future(), "--hospital", "Old", "--vaccine", "Janssen", "--quantity", "5")
    rows = "".join(
        f"{future()},{name},Janssen,{n}\n" for n, name in enumerate(["old", "N1", "N2", "N3", "N4", "N5"], start=5)
    )
    summary = cli.json("import", "slots", write(tmp_path / "plan.csv", "date,hospital,vaccine,quantity\n" + rows))
    assert {k: summary[k] for k in ("created", "updated", "unchanged", "refused")} == {
        "created": 5,
        "updated": 0,
        "unchanged": 1,
        "refused": 0,
    }
    listed = sorted(cli.json("slot", "list"), key=lambda s: s["id"])  # ids may skip numbers on PostgreSQL
    assert [(s["hospital"], s["capacity"]) for s in listed] == [
        ("Old", 5),
        ("N1", 6),
        ("N2", 7),
        ("N3", 8),
        ("N4", 9),
        ("N5", 10),
    ]
    announced = [(m["event"], m["correlation_id"]) for m in cli.json("outbox", "list")]
    assert announced == [("SlotRegistered", s["id"]) for s in listed]


def test_imported_slots_announce_themselves_like_slot_add(cli, tmp_path):
    cli.json("slot", "add", "--date", future(), "--hospital", "One", "--vaccine", "Janssen", "--quantity", "1")
    cli.json(
        "import",
        "slots",
        write(
            tmp_path / "p.csv",
            f"date,hospital,vaccine,quantity\n{future()},Two,Janssen,1\n{future()},Three,Janssen,7\n",
        ),
    )
    single, imported, plural = cli.json("outbox", "list")
    assert imported["event"] == single["event"] == "SlotRegistered"
    assert imported["recipient"] == "*" and imported["correlation_id"] == 2
    assert imported["payload"] == {
        **single["payload"],
        "slot_id": 2,
        "hospital": "Two",
        "message": single["payload"]["message"].replace("One", "Two"),
    }
    assert (
        plural["payload"]["message"]
        == f"New vaccination slot: Janssen at Three on {future()}, 7 doses open for booking."
    )


def test_dry_run_reports_and_writes_nothing(cli, tmp_path, db_path, store_ready):
    path = write(tmp_path / "plan.csv", f"date,hospital,vaccine,quantity\n{future()},A,Janssen,3\n")
    before = snapshot(db_path)
    result = cli("import", "slots", path, "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Dry run of the slots import from {path} (read as utf-8): nothing was written.\n")
    assert snapshot(db_path) == before
    assert cli.json("import", "slots", path, "--dry-run")["created"] == 1


def test_standard_input(cli):
    text = f"date,hospital,vaccine,quantity\n{future()},A,Janssen,3\n"
    result = cli("import", "slots", "-", "--json", input=text)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["source"] == "standard input"
    assert slots_of(cli) == [(future(), "A", "Janssen", 3, 3)]


def test_rejects_cannot_overwrite_the_file_being_imported(cli, tmp_path):
    path = write(tmp_path / "plan.csv", f"date,hospital,vaccine,quantity\n{future()},A,Janssen,0\n")
    result = cli("import", "slots", path, "--rejects", path)
    assert result.exit_code == 2
    assert result.stderr == f"Error: --rejects {path} is the file being imported; name another file\n"
    assert (tmp_path / "plan.csv").read_text().endswith(",A,Janssen,0\n")


def test_unreadable_inputs(cli, tmp_path):
    missing = cli("import", "slots", str(tmp_path / "nope.csv"))
    assert (missing.exit_code, missing.stderr) == (2, f"Error: cannot read {tmp_path / 'nope.csv'}: no such file\n")
    bad_encoding = cli("import", "slots", "-", "--encoding", "klingon", input="x")
    assert (bad_encoding.exit_code, bad_encoding.stderr) == (
        2,
        "Error: unknown encoding 'klingon'; try utf-8 or cp949\n",
    )
    bad_delimiter = cli("import", "slots", "-", "--delimiter", "|", input="date|hospital\n")
    assert bad_delimiter.exit_code == 2
    assert "--delimiter must be ',', ';' or a tab" in bad_delimiter.stderr


# --- reservations ---------------------------------------------------------------------------


@pytest.fixture
def two_slots(cli, tmp_path):
    cli.json(
        "import",
        "slots",
        write(
            tmp_path / "slots.csv",
            f"date,hospital,vaccine,quantity\n{future()},Seoul,Pfizer,2\n{future()},Busan,Moderna,5\n",
        ),
    )


def test_reservations_book_row_by_row_with_refusals(cli, tmp_path, db_path, two_slots):
    cli.json("slot", "add", "--date", future(28), "--hospital", "Busan", "--vaccine", "Pfizer", "--quantity", "5")
    text = (
        "User_ID, 날짜 ,병원,백신,차수\n"
        f"alice,{future()},seoul,PFIZER,\n"
        f"bob,{future()},Seoul,Pfizer,1\n"
        f"carol,{future()},Seoul,Pfizer,1\n"
        f"alice,{future()},Busan,Moderna,1\n"
        f"alice,{future(28)},Busan,Pfizer,2\n"
        f"dave,{future()},Daegu,Pfizer,1\n"
        f"bob,{future()},Seoul,Pfizer,1\n"
    )
    rejects = tmp_path / "rejects.csv"
    path = write(tmp_path / "bookings.csv", text)
    result = cli("import", "reservations", path, "--rejects", str(rejects), "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("rows", "booked", "already", "refused", "invalid")} == {
        "rows": 7,
        "booked": 3,
        "already": 1,
        "refused": 3,
        "invalid": 0,
    }
    assert [(e["line"], e["code"], e["column"], e["reason"]) for e in summary["errors"]] == [
        (
            4,
            "sold_out",
            None,
            f"slot 1 ({future()}, Seoul, Pfizer) is sold out; see `vaxres slot list --available` for slots with doses left; "
            f"or wait for a freed dose: `vaxres waitlist join --user carol --vaccine Pfizer --hospital Seoul --from {future()} "
            f"--to {future()}`",
        ),
        (
            5,
            "already_reserved",
            "user",
            "alice already holds an active reservation for dose 1; see `vaxres mypage alice`",
        ),
        (
            7,
            "slot_not_found",
            None,
            f"there is no slot for {future()}, Daegu, Pfizer; see `vaxres slot list --date {future()}`",
        ),
    ]
    assert [
        (r["user"], r["dose"], r["hospital"], r["vaccine"]) for r in cli.json("mypage", "alice")["reservations"]
    ] == [
        ("alice", 2, "Busan", "Pfizer"),
        ("alice", 1, "Seoul", "Pfizer"),
    ]
    confirmations = [m for m in cli.json("outbox", "list") if m["event"] == "ReservationConfirmed"]
    assert [(m["recipient"], m["correlation_id"]) for m in confirmations] == [("alice", 1), ("bob", 2), ("alice", 3)]
    assert confirmations[0]["payload"] == {
        "reservation_id": 1,
        "user": "alice",
        "dose": 1,
        "slot_id": 1,
        "date": future(),
        "hospital": "Seoul",
        "vaccine": "Pfizer",
        "contact": {"name": None, "phone": None, "email": None, "lang": None},
        "message": f"Your reservation 1 is confirmed: Pfizer (dose 1) at Seoul on {future()}.",
        "lang": "en",
    }
    assert len(list(csv.reader(rejects.open()))) == 1 + 3
    assert invariant_violations(db_path) == []

    before = snapshot(db_path)
    again = cli("import", "reservations", path, "--json")
    assert json.loads(again.stdout)["booked"] == 0
    assert snapshot(db_path) == before


def test_reservation_import_exits_0_when_every_row_is_booked_or_held(cli, tmp_path, two_slots):
    path = write(
        tmp_path / "b.csv", f"user,date,hospital,vaccine\nkim,{future()},Busan,Moderna\nlee,{future()},Busan,Moderna\n"
    )
    assert cli("import", "reservations", path).exit_code == 0
    again = cli("import", "reservations", path)
    assert again.exit_code == 0
    assert "already" in again.stdout


def test_reservation_import_refuses_a_second_booking_held_elsewhere(cli, tmp_path, two_slots):
    cli.json("reserve", "--user", "kim", "--slot", "2")
    path = write(tmp_path / "b.csv", f"user,date,hospital,vaccine\nkim,{future()},Seoul,Pfizer\n")
    result = cli("import", "reservations", path)
    assert result.exit_code == 1
    assert result.stderr == (
        "  line 2, user 'kim': kim already holds reservation 1 for dose 1; "
        "cancel it first with `vaxres cancel 1` to book another\n"
    )


def test_invalid_reservation_rows_stop_the_import(cli, tmp_path, db_path, two_slots):
    before = snapshot(db_path)
    path = write(
        tmp_path / "b.csv",
        f"user,date,hospital,vaccine,dose\n*,{future()},Seoul,Pfizer,1\nkim,{future()},Seoul,Pfizer,11\n",
    )
    result = cli("import", "reservations", path)
    assert result.exit_code == 2
    assert "  line 2, user '*': is reserved for broadcast notifications" in result.stderr
    assert "  line 3, dose '11': must be a whole number from 1 to 10" in result.stderr
    assert snapshot(db_path) == before


def test_missing_reservation_column(cli, tmp_path):
    result = cli("import", "reservations", write(tmp_path / "b.csv", "date,hospital,vaccine\n"))
    assert result.exit_code == 2
    assert "has no user column" in result.stderr


@pytest.mark.parametrize(
    "failure, cause",
    [
        ("busy", "store busy, try again shortly: another vaxres held the write lock too long"),
        # PostgreSQL: another writer books one of the chunk's people meanwhile; the unique index refuses the chunk.
        ("conflict", "another vaxres changed the same bookings while this import ran"),
    ],
)
def test_a_chunk_stopped_midway_says_what_was_loaded(cli, tmp_path, db_path, monkeypatch, failure, cause):
    """The import stops with exit 75, the committed chunks stay, and running it again completes it."""
    from sqlalchemy.exc import IntegrityError

    from vaxres.errors import StoreBusy
    from vaxres.imports import run as imports
    from vaxres.imports import slot_loader

    monkeypatch.setattr(imports, "SLOT_CHUNK", 2)
    real_load = slot_loader.SlotLoader.load

    def load(self, conn, low, high, *, dry_run):
        if low > 2:
            if failure == "busy":
                raise StoreBusy("store busy, try again shortly")
            raise IntegrityError("INSERT ...", {}, Exception("duplicate key value violates unique constraint"))
        return real_load(self, conn, low, high, dry_run=dry_run)

    monkeypatch.setattr(slot_loader.SlotLoader, "load", load)
    rows = "".join(f"{future()},H{n},Janssen,1\n" for n in range(5))
    path = write(tmp_path / "plan.csv", "date,hospital,vaccine,quantity\n" + rows)
    result = cli("import", "slots", path)
    assert result.exit_code == 75
    assert result.stderr == (
        f"Error: {cause}; "
        f"the first 2 valid rows of {path} are loaded, the rest is not; run the same import again to complete it\n"
    )
    assert count_rows(db_path, "slot") == 2
    monkeypatch.setattr(slot_loader.SlotLoader, "load", real_load)
    assert cli.json("import", "slots", path)["created"] == 3


def pfizer_slots(cli, tmp_path, *days: int) -> None:
    """A Pfizer slot at Seoul on each day (days from today), 10 doses each, imported by alias."""
    rows = "".join(f"{future(day)},Seoul,화이자,10\n" for day in days)
    cli.json("import", "slots", write(tmp_path / "pfizer-slots.csv", "date,hospital,vaccine,quantity\n" + rows))


@pytest.mark.parametrize("chunk", [5_000, 2])
def test_dose_1_and_dose_2_rows_for_the_same_people_book_both_in_one_import(cli, tmp_path, db_path, monkeypatch, chunk):
    """Dose 2 (21 days after dose 1 for Pfizer) sees the dose 1 booked by an earlier row: in the
    same chunk, or committed by an earlier one; a dry run sees it across chunks too."""
    from vaxres.imports import run as imports

    monkeypatch.setattr(imports, "BOOKING_CHUNK", chunk)
    pfizer_slots(cli, tmp_path, 7, 28)
    people = ("ann", "ben", "cho")
    rows = "".join(f"{p},{future(7)},Seoul,Pfizer,1\n" for p in people) + "".join(
        f"{p},{future(28)},Seoul,Pfizer,2\n" for p in people
    )
    path = write(tmp_path / "series.csv", "user,date,hospital,vaccine,dose\n" + rows)
    counts = ("booked", "already", "refused", "invalid")
    dry = cli.json("import", "reservations", path, "--dry-run")
    result = cli("import", "reservations", path, "--json")
    assert result.exit_code == 0, result.stdout
    real = json.loads(result.stdout)
    assert [tuple(s[k] for k in counts) for s in (dry, real)] == [(6, 0, 0, 0), (6, 0, 0, 0)]
    page = cli.json("mypage", "ben")
    assert [(r["dose"], r["date"], r["vaccine"]) for r in page["reservations"]] == [
        (2, future(28), "Pfizer"),
        (1, future(7), "Pfizer"),
    ]
    assert page["next_dose"] is None
    assert [s[4] for s in slots_of(cli)] == [7, 7]
    assert invariant_violations(db_path) == []
    again = cli.json("import", "reservations", path)
    assert tuple(again[k] for k in counts) == (0, 6, 0, 0)


def test_every_chunk_finds_its_rows_slots(cli, tmp_path, monkeypatch):
    from vaxres.imports import run as imports

    monkeypatch.setattr(imports, "BOOKING_CHUNK", 3)
    pfizer_slots(cli, tmp_path, 7, 8, 9)
    rows = "".join(f"p{n},{future(7 + n % 3)},Seoul,Pfizer\n" for n in range(7))
    summary = cli.json("import", "reservations", write(tmp_path / "b.csv", "user,date,hospital,vaccine\n" + rows))
    assert (summary["booked"], summary["refused"]) == (7, 0)


def test_a_dose_2_row_before_its_dose_1_row_is_refused_dose_order(cli, tmp_path):
    """File order counts, as two `reserve` commands run in that order would."""
    pfizer_slots(cli, tmp_path, 7, 28)
    path = write(
        tmp_path / "b.csv",
        f"user,date,hospital,vaccine,dose\nann,{future(28)},Seoul,Pfizer,2\nann,{future(7)},Seoul,Pfizer,1\n",
    )
    result = cli("import", "reservations", path, "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["booked"], summary["refused"]) == (1, 1)
    assert [(e["line"], e["code"], e["column"], e["value"], e["reason"]) for e in summary["errors"]] == [
        (2, "dose_order", "dose", "2", "ann holds no dose 1 yet, so dose 2 cannot be booked; book dose 1 first"),
    ]
    assert [r["dose"] for r in cli.json("mypage", "ann")["reservations"]] == [1]


@pytest.mark.parametrize("chunk", [5_000, 1])
def test_a_dry_run_sells_out_a_slot_as_the_import_would(cli, tmp_path, db_path, monkeypatch, chunk):
    """A dry run commits nothing, so the doses its earlier chunks would take are remembered: the
    third booking of a 2-dose slot is sold out in the dry run as in the import."""
    from vaxres.imports import run as imports

    monkeypatch.setattr(imports, "BOOKING_CHUNK", chunk)
    cli("slot", "add", "--date", future(7), "--hospital", "Seoul", "--vaccine", "Janssen", "--quantity", "2")
    rows = "".join(f"{p},{future(7)},Seoul,Janssen\n" for p in ("ann", "ben", "cho"))
    path = write(tmp_path / "three.csv", "user,date,hospital,vaccine\n" + rows)
    runs = [cli("import", "reservations", path, *dry, "--json") for dry in (["--dry-run"], [])]
    outcomes = [json.loads(run.stdout) for run in runs]
    assert [run.exit_code for run in runs] == [1, 1]
    assert [(o["booked"], o["refused"], [(e["line"], e["code"]) for e in o["errors"]]) for o in outcomes] == [
        (2, 1, [(4, "sold_out")])
    ] * 2
    assert [s[4] for s in slots_of(cli)] == [0]


@pytest.mark.parametrize("chunk", [5_000, 1])
def test_series_rules_see_the_rows_booked_earlier_in_the_same_file(cli, tmp_path, monkeypatch, chunk):
    from vaxres.imports import run as imports

    monkeypatch.setattr(imports, "BOOKING_CHUNK", chunk)
    pfizer_slots(cli, tmp_path, 7, 14, 28)
    cli.json("slot", "add", "--date", future(28), "--hospital", "Busan", "--vaccine", "Moderna", "--quantity", "5")
    rows = (
        f"ann,{future(7)},Seoul,Pfizer,1\n"
        f"ann,{future(14)},Seoul,Pfizer,2\n"  # 7 days after dose 1: Pfizer needs 21
        f"ann,{future(28)},Busan,Moderna,2\n"  # ann's series is Pfizer
        f"ann,{future(28)},Seoul,Pfizer,3\n"  # Pfizer has 2 doses
        f"ann,{future(28)},seoul,COMIRNATY,2\n"  # booked
        f"ann,{future(28)},Seoul,Pfizer,2\n"  # the booking just made: already
    )
    result = cli(
        "import", "reservations", write(tmp_path / "b.csv", "user,date,hospital,vaccine,dose\n" + rows), "--json"
    )
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["booked"], summary["already"], summary["refused"]) == (2, 1, 3)
    assert [(e["line"], e["code"], e["column"], e["value"]) for e in summary["errors"]] == [
        (3, "dose_interval", "date", future(14)),
        (4, "vaccine_mismatch", "vaccine", "Moderna"),
        (5, "series_complete", "dose", "3"),
    ]
    assert summary["errors"][0]["reason"] == (
        f"dose 2 of Pfizer needs 21 days after dose 1 ({future(7)}); the earliest allowed date for ann is {future(28)}"
    )


def test_vaccine_aliases_in_reservation_rows_book_the_catalogs_slots(cli, tmp_path):
    pfizer_slots(cli, tmp_path, 7)
    rows = f"kim,{future(7)},Seoul,화이자\nlee,{future(7)},seoul,COMIRNATY\nmin,{future(7)},Seoul, pfizer \n"
    summary = cli.json("import", "reservations", write(tmp_path / "b.csv", "user,date,hospital,vaccine\n" + rows))
    assert (summary["booked"], summary["refused"]) == (3, 0)
    booked = [cli.json("mypage", user)["reservations"][0] for user in ("kim", "lee", "min")]
    assert {(r["slot_id"], r["vaccine"]) for r in booked} == {(1, "Pfizer")}


def test_a_reservation_row_naming_no_slot_by_alias_repeats_the_name_as_written(cli, tmp_path):
    """As `reserve --vaccine 화이자` does when there is no such slot."""
    result = cli(
        "import",
        "reservations",
        write(tmp_path / "b.csv", f"user,date,hospital,vaccine\nkim,{future()},Seoul,화이자\n"),
    )
    assert result.exit_code == 1
    single = cli("reserve", "--user", "kim", "--date", future(), "--hospital", "Seoul", "--vaccine", "화이자")
    assert (
        single.stderr
        == f"Error: there is no slot for {future()}, Seoul, 화이자; see `vaxres slot list --date {future()}`\n"
    )
    assert result.stderr == "  line 2: " + single.stderr.removeprefix("Error: ")


def test_slot_rows_name_vaccines_by_alias_and_store_the_catalogs_name(cli, tmp_path):
    path = write(
        tmp_path / "plan.csv", f"date,hospital,vaccine,quantity\n{future()},Seoul,화이자,3\n{future()},seoul,pfizer,3\n"
    )
    summary = cli.json("import", "slots", path)
    assert (summary["created"], summary["unchanged"]) == (1, 1)
    assert slots_of(cli) == [(future(), "Seoul", "Pfizer", 3, 3)]
    [registered] = cli.json("outbox", "list")
    assert registered["payload"]["vaccine"] == "Pfizer"
    [slot] = cli.json("slot", "list")  # its id: 1 on SQLite; PostgreSQL may skip ids (docs/postgres.md)
    single = cli("slot", "add", "--date", future(), "--hospital", "SEOUL", "--vaccine", "Comirnaty", "--quantity", "3")
    assert single.exit_code == 1 and f"slot {slot['id']} already exists" in single.stderr


def test_an_unknown_vaccine_makes_a_slot_row_invalid(cli, tmp_path, db_path, store_ready):
    before = snapshot(db_path)
    rows = f"{future()},Seoul,Pfizer,3\n{future()},Seoul,Sputnik V,3\n{future()},Seoul,sputnik  v,3\n"
    result = cli("import", "slots", write(tmp_path / "plan.csv", "date,hospital,vaccine,quantity\n" + rows), "--json")
    assert result.exit_code == 2
    errors = json.loads(result.stdout)["errors"]
    reason = (
        "is not in the catalog (known: AstraZeneca, Janssen, Moderna, Novavax, Pfizer); "
        "add it with `vaxres vaccine add NAME --doses N`"
    )
    assert [(e["line"], e["column"], e["value"], e["code"], e["reason"]) for e in errors] == [
        (3, "vaccine", "Sputnik V", "unknown_vaccine", reason),
        (4, "vaccine", "sputnik v", "unknown_vaccine", reason),
    ]
    assert snapshot(db_path) == before
    single = cli(
        "slot", "add", "--date", future(), "--hospital", "Seoul", "--vaccine", "Sputnik V", "--quantity", "3", "--json"
    )
    assert (single.exit_code, json.loads(single.stderr)) == (
        2,
        {"error": f"vaccine 'Sputnik V' {reason}", "code": "unknown_vaccine"},
    )


REFUSALS = {
    # name: (the single command, the import kind, the import row that meets the same rule)
    "capacity_below_booked": (
        ["slot", "update", "1", "--quantity", "1"],
        "slots",
        "date,hospital,vaccine,quantity\n{day},seoul,PFIZER,1\n",
    ),
    "sold_out": (
        ["reserve", "--user", "carol", "--slot", "1"],
        "reservations",
        "user,date,hospital,vaccine\ncarol,{day},Seoul,Pfizer\n",
    ),
    "already_reserved": (
        ["reserve", "--user", "kim", "--slot", "1"],
        "reservations",
        "user,date,hospital,vaccine\nkim,{day},Seoul,Pfizer\n",
    ),
    "slot_not_found": (
        ["reserve", "--user", "lee", "--date", "{day}", "--hospital", "Daegu", "--vaccine", "Pfizer"],
        "reservations",
        "user,date,hospital,vaccine\nlee,{day},Daegu,Pfizer\n",
    ),
    "dose_order": (
        ["reserve", "--user", "lee", "--slot", "4", "--dose", "2"],
        "reservations",
        "user,date,hospital,vaccine,dose\nlee,{later},Busan,Moderna,2\n",
    ),
    "vaccine_mismatch": (
        ["reserve", "--user", "kim", "--slot", "3", "--dose", "2"],
        "reservations",
        "user,date,hospital,vaccine,dose\nkim,{later},Seoul,Pfizer,2\n",
    ),
    "dose_interval": (
        ["reserve", "--user", "kim", "--slot", "4", "--dose", "2"],
        "reservations",
        "user,date,hospital,vaccine,dose\nkim,{later},Busan,모더나,2\n",
    ),
    "series_complete": (
        ["reserve", "--user", "kim", "--slot", "4", "--dose", "3"],
        "reservations",
        "user,date,hospital,vaccine,dose\nkim,{later},Busan,Moderna,3\n",
    ),
    "unknown_vaccine": (
        ["reserve", "--user", "lee", "--date", "{day}", "--hospital", "Seoul", "--vaccine", "Sputnik V"],
        "reservations",
        "user,date,hospital,vaccine\nlee,{day},Seoul,Sputnik V\n",
    ),
}
INVALID_VALUES = {"unknown_vaccine"}  # exit 2 on both: the import row is invalid, the import stops before writing


@pytest.mark.parametrize("rule", sorted(REFUSALS))
def test_an_import_row_is_refused_with_the_single_commands_code_and_sentence(cli, tmp_path, two_slots, rule):
    """Seoul/Pfizer (slot 1) is full with alice and bob; kim holds dose 1 of Moderna at Busan
    (slot 2); slots 3 (Seoul, Pfizer) and 4 (Busan, Moderna) are 13 days later, too soon for
    Moderna's 28 days."""
    for hospital, vaccine in (("Seoul", "Pfizer"), ("Busan", "Moderna")):
        cli.json("slot", "add", "--date", future(20), "--hospital", hospital, "--vaccine", vaccine, "--quantity", "5")
    for user, slot in (("alice", "1"), ("bob", "1"), ("kim", "2")):
        cli.json("reserve", "--user", user, "--slot", slot)
    command, kind, rows = REFUSALS[rule]
    single = cli(*(arg.format(day=future(), later=future(20)) for arg in command), "--json")
    refused = json.loads(single.stderr)
    result = cli("import", kind, write(tmp_path / "rows.csv", rows.format(day=future(), later=future(20))), "--json")
    assert (single.exit_code, result.exit_code) == (refused_exit(rule), 2 if rule in INVALID_VALUES else 1)
    [row_error] = json.loads(result.stdout)["errors"]
    assert refused["code"] == row_error["code"] == rule
    if rule in INVALID_VALUES:
        # An invalid value is reported as "line N, column 'value': reason"; the command says "column 'value' reason".
        sentence = f"{row_error['column']} {row_error['value']!r} {row_error['reason']}"
    else:
        sentence = row_error["reason"]
    assert (row_error["line"], sentence) == (2, refused["error"])


def refused_exit(rule: str) -> int:
    return 3 if rule == "slot_not_found" else 2 if rule in INVALID_VALUES else 1


def test_every_row_error_in_a_json_report_has_a_code(cli, tmp_path):
    rows = f"date,hospital,vaccine,quantity\n{future()},A,Janssen,x\n2020-01-01,A,Janssen,1\n{future()},,Janssen,1\n"
    result = cli("import", "slots", write(tmp_path / "bad.csv", rows), "--json")
    assert result.exit_code == 2
    errors = json.loads(result.stdout)["errors"]
    assert [(e["line"], e["column"], e["code"]) for e in errors] == [
        (2, "quantity", "invalid_input"),
        (3, "date", "invalid_input"),
        (4, "hospital", "invalid_input"),
    ]


def test_a_plan_as_korean_excel_writes_it(cli, tmp_path):
    """병원명/백신명 headers, year-first dates with dots, quoted thousands, CP949."""
    day = dt.date.fromisoformat(future(30))
    rows = [
        "접종일자,병원명,백신명,수량",
        f'"{day.year}. {day.month}. {day.day}.",서울대병원,화이자,"1,000"',
        f"{day:%Y%m%d},부산의료원,모더나,20",
        f"{day:%Y/%m/%d},대구병원,얀센,3",
    ]
    path = write(tmp_path / "plan.csv", "\r\n".join(rows) + "\r\n", encoding="cp949")
    summary = cli.json("import", "slots", path, "--encoding", "cp949")
    assert summary["created"] == 3
    assert sorted((s["hospital"], s["vaccine"], s["capacity"]) for s in cli.json("slot", "list")) == [
        ("대구병원", "Janssen", 3),
        ("부산의료원", "Moderna", 20),
        ("서울대병원", "Pfizer", 1000),
    ]
