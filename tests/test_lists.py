"""`slot list` and `outbox list` on large stores (issue 12): filters, keyset pages, the footer,
--limit, streamed --json and --jsonl, `outbox show`, and the outbox table in 80 columns."""

import datetime as dt
import json
import unicodedata

import pytest

from tests.helpers import future, query
from vaxres.db import listing
from vaxres.imports import run
from vaxres.imports.rows import RowParser
from vaxres.settings import login_name

HOSPITALS = [
    "서울대병원",
    "서울아산병원",
    "부산대병원",
    "Seoul National",
    "Straße Klinik",
    "A_B Clinic",
    "AXB Clinic",
    "100% Care",
]


def add(cli, hospital, vaccine="Pfizer", days=7, quantity="3"):
    result = cli(
        "slot", "add", "--date", future(days), "--hospital", hospital, "--vaccine", vaccine, "--quantity", quantity
    )
    assert result.exit_code == 0, result.stderr
    return result


def hospitals(cli, *options):
    return [s["hospital"] for s in cli.json("slot", "list", *options)]


@pytest.fixture
def named_slots(cli):
    for n, hospital in enumerate(HOSPITALS):
        add(cli, hospital, days=7 + n % 3)


@pytest.fixture(params=["index", "order"])
def plan(request, monkeypatch):
    """Both ways a list is read: by a filter's own index then sorted (few matches), or walking the
    list's order and skipping (many matches; forced here by a threshold of 0)."""
    if request.param == "order":
        monkeypatch.setattr(listing, "MANY", 0)
    return request.param


@pytest.mark.usefixtures("backend", "named_slots", "plan")
def test_hospital_matches_a_substring_in_any_case_and_normal_form(cli):
    assert sorted(hospitals(cli, "--hospital", "서울")) == ["서울대병원", "서울아산병원"]
    nfd = unicodedata.normalize("NFD", "서울")
    assert nfd != "서울"
    assert sorted(hospitals(cli, "--hospital", nfd)) == ["서울대병원", "서울아산병원"]
    assert hospitals(cli, "--hospital", "SEOUL") == ["Seoul National"]
    assert hospitals(cli, "--hospital", "STRASSE") == ["Straße Klinik"]  # casefolded, not just lower-cased
    assert hospitals(cli, "--hospital", "  서울대병원  ") == ["서울대병원"]
    assert cli("slot", "list", "--hospital", "Daegu").stdout == "No slots match.\n"


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("kept", [RowParser.HOSPITAL_NAMES_LIMIT, 2], ids=["names-kept", "too-many-names"])
def test_hospitals_an_import_adds_are_found_by_their_names(cli, tmp_path, monkeypatch, kept):
    """An import hands the store its hospitals' names, remembered during the first pass or, past
    a limit, read from each chunk's rows; both on a store that already has some of them."""
    monkeypatch.setattr(RowParser, "HOSPITAL_NAMES_LIMIT", kept)
    monkeypatch.setattr(run, "SLOT_CHUNK", 2)
    add(cli, "Seoul National", days=9)
    plan = tmp_path / "plan.csv"
    lines = [f"{future(7)},{name},Pfizer,3" for name in ("seoul national", "서울대병원", "부산대병원", "Straße Klinik")]
    plan.write_text("date,hospital,vaccine,quantity\n" + "\n".join(lines) + "\n", encoding="utf-8")
    assert cli("import", "slots", str(plan)).exit_code == 0
    assert sorted(hospitals(cli, "--hospital", "SEOUL")) == ["Seoul National", "seoul national"]
    assert hospitals(cli, "--hospital", "부산") == ["부산대병원"]
    assert hospitals(cli, "--hospital", "strasse") == ["Straße Klinik"]
    assert cli("slot", "list", "--hospital", "Daegu").stdout == "No slots match.\n"


@pytest.mark.usefixtures("backend", "named_slots")
@pytest.mark.parametrize("in_list", [listing.IN_LIST, 0], ids=["in", "like"])
def test_like_wildcards_in_the_text_are_matched_as_typed(cli, monkeypatch, in_list):
    monkeypatch.setattr(listing, "IN_LIST", in_list)  # 0: every match goes through LIKE
    assert hospitals(cli, "--hospital", "_") == ["A_B Clinic"]
    assert hospitals(cli, "--hospital", "%") == ["100% Care"]
    assert sorted(hospitals(cli, "--hospital", "clinic")) == ["AXB Clinic", "A_B Clinic"]
    assert hospitals(cli, "--hospital", "\\") == []


@pytest.mark.usefixtures("backend", "plan")
def test_vaccine_by_name_alias_or_part_of_either(cli):
    add(cli, "Seoul", "Pfizer")
    add(cli, "Busan", "모더나")
    add(cli, "Daegu", "Janssen")
    assert hospitals(cli, "--vaccine", "화이자") == ["Seoul"]  # an alias, as before
    assert hospitals(cli, "--vaccine", "화이") == ["Seoul"]  # part of an alias
    assert hospitals(cli, "--vaccine", "ODER") == ["Busan"]
    assert hospitals(cli, "--vaccine", "comirnaty") == ["Seoul"]
    assert hospitals(cli, "--vaccine", "sen", "--hospital", "dae") == ["Daegu"]
    assert hospitals(cli, "--vaccine", "Novavax") == []


@pytest.mark.usefixtures("backend", "plan")
def test_days_available_and_date_keep_working(cli, db_path):
    for days in (3, 4, 5):
        add(cli, "Seoul", days=days, quantity="1")
    query(db_path, "UPDATE slot SET remaining = 0 WHERE date = :d", {"d": future(4)})
    assert [s["date"] for s in cli.json("slot", "list", "--from", future(4))] == [future(4), future(5)]
    assert [s["date"] for s in cli.json("slot", "list", "--to", future(4))] == [future(3), future(4)]
    assert [s["date"] for s in cli.json("slot", "list", "--from", future(4), "--to", future(4))] == [future(4)]
    assert [s["date"] for s in cli.json("slot", "list", "--date", future(5))] == [future(5)]
    assert [s["date"] for s in cli.json("slot", "list", "--available")] == [future(3), future(5)]
    footer = cli("slot", "list", "--available", "--limit", "1").stdout.splitlines()[-1]
    assert footer == "Showing 1 of 2; use --limit, --after 1 or filters for more."
    both = cli("slot", "list", "--date", future(3), "--from", future(3))
    assert (both.exit_code, both.stderr) == (2, "Error: give --date DAY or --from/--to, not both\n")
    backwards = cli("slot", "list", "--from", future(5), "--to", future(3))
    assert (backwards.exit_code, backwards.stderr) == (2, f"Error: --from {future(5)} is after --to {future(3)}\n")


def _grid(cli, tmp_path, days=3, per_day=7):
    """days x per_day slots, imported in an order unlike the list's, so ids and order differ."""
    plan = tmp_path / "grid.csv"
    rows = [
        f"{future(3 + d)},병원 {h:02d},{'Pfizer' if h % 2 else 'Moderna'},5"
        for h in range(per_day)
        for d in range(days)
    ]
    plan.write_text("date,hospital,vaccine,quantity\n" + "\n".join(reversed(rows)) + "\n")
    assert cli("import", "slots", str(plan)).exit_code == 0


def _chain(cli, *options, limit="4"):
    """Follow --after from page to page as a script would, with --jsonl."""
    seen, after = [], []
    while True:
        page = [
            json.loads(line)
            for line in cli("slot", "list", "--jsonl", "--limit", limit, *options, *after).stdout.splitlines()
        ]
        seen += [s["id"] for s in page]
        if len(page) < int(limit):
            return seen
        after = ["--after", str(page[-1]["id"])]


@pytest.mark.usefixtures("backend", "plan")
def test_pages_chained_with_after_cover_every_row_once_in_order(cli, tmp_path):
    _grid(cli, tmp_path)
    everything = [s["id"] for s in cli.json("slot", "list")]
    assert len(everything) == 21 and len(set(everything)) == 21
    listed = cli.json("slot", "list")
    assert [(s["date"], s["hospital"]) for s in listed] == sorted((s["date"], s["hospital"]) for s in listed)
    assert _chain(cli) == everything
    assert _chain(cli, limit="1") == everything
    pfizer = [s["id"] for s in cli.json("slot", "list", "--vaccine", "pfizer")]
    assert _chain(cli, "--vaccine", "pfizer") == pfizer and len(pfizer) == 9
    # The human pages, by the footer's own --after.
    shown, after = [], []
    while True:
        out = cli("slot", "list", "--limit", "5", *after).stdout.splitlines()
        shown += [int(line.split()[0]) for line in out[3:] if line.split()[0].isdigit()]
        if not out[-1].startswith("Showing"):
            break
        after = ["--after", out[-1].split("--after ")[1].split()[0]]
    assert shown == everything


@pytest.mark.usefixtures("backend")
def test_the_footer_says_how_many_and_how_to_see_more(cli, tmp_path):
    plan = tmp_path / "many.csv"
    plan.write_text(
        "date,hospital,vaccine,quantity\n" + "".join(f"{future(3)},H{n:04d},Pfizer,1\n" for n in range(1200))
    )
    assert cli("import", "slots", str(plan)).exit_code == 0
    first = cli.json("slot", "list", "--limit", "50")
    out = cli("slot", "list").stdout.splitlines()
    assert len([line for line in out if line.lstrip().split(" ")[0].isdigit()]) == 50
    assert out[-1] == f"Showing 50 of 1,200; use --limit, --after {first[-1]['id']} or filters for more."
    last = cli.json("slot", "list", "--limit", "10000")[-2]
    tail = cli("slot", "list", "--after", str(last["id"])).stdout
    assert "Showing" not in tail and len(tail.splitlines()) == 4  # title, header, rule, one slot
    assert len(cli.json("slot", "list")) == 1200  # --json: every row unless --limit


@pytest.mark.parametrize("value", ["0", "10001", "-1", "ten", "1.5", ""])
def test_limit_is_a_number_from_1_to_10000(cli, value):
    add(cli, "Seoul")
    for command in (["slot", "list"], ["outbox", "list"], ["slot", "list", "--json"], ["outbox", "list", "--jsonl"]):
        result = cli(*command, "--limit", value)
        assert result.exit_code == 2, (command, result.stdout)
        assert result.stderr.count("\n") == 1 and "limit must be a whole number from 1 to 10,000" in result.stderr
    assert len(cli.json("slot", "list", "--limit", "10000")) == 1


@pytest.mark.usefixtures("backend")
def test_an_unknown_after_is_not_found(cli):
    add(cli, "Seoul")
    assert (cli("slot", "list", "--after", "9").exit_code, cli("slot", "list", "--after", "9").stderr) == (
        3,
        "Error: there is no slot 9; see `vaxres slot list` for the slots that exist\n",
    )
    missing = cli("outbox", "list", "--after", "9")
    assert (missing.exit_code, missing.stderr) == (3, "Error: there is no outbox message 9; see `vaxres outbox list`\n")
    assert cli("slot", "list", "--after", "x").exit_code == 2


@pytest.mark.usefixtures("backend", "named_slots")
def test_json_is_streamed_as_the_same_text_and_jsonl_is_one_object_a_line(cli, store):
    from vaxres.booking.queries import list_slots
    from vaxres.outbox.queries import list_outbox

    whole = json.dumps([s.as_json() for s in list_slots(store)], ensure_ascii=False, indent=2) + "\n"
    assert cli("slot", "list", "--json").stdout == whole
    lines = cli("slot", "list", "--jsonl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == json.loads(whole)
    assert lines == [json.dumps(s, ensure_ascii=False, separators=(",", ":")) for s in json.loads(whole)]
    messages = json.dumps([m.as_json() for m in list_outbox(store)], ensure_ascii=False, indent=2) + "\n"
    assert cli("outbox", "list", "--json").stdout == messages
    assert [
        json.loads(line) for line in cli("outbox", "list", "--jsonl", "--limit", "2").stdout.splitlines()
    ] == json.loads(messages)[:2]
    assert cli("slot", "list", "--json", "--hospital", "nowhere").stdout == "[]\n"
    assert cli("slot", "list", "--jsonl", "--hospital", "nowhere").stdout == ""
    both = cli("slot", "list", "--json", "--jsonl")
    assert (both.exit_code, json.loads(both.stderr)) == (
        2,
        {"error": "give --json or --jsonl, not both", "code": "invalid_input"},
    )
    assert cli("outbox", "list", "--jsonl", "--json").exit_code == 2


def test_the_json_array_is_written_as_items_come(capsys):
    """Each item is on stdout before the next is read: a list is never held whole."""
    from vaxres.cli.output import print_json_stream

    def items():
        for n in range(3):
            if n:
                assert capsys.readouterr().out.endswith("}"), "the previous item was not written yet"
            yield {"n": n, "text": "줄\nbreak"}

    print_json_stream(items())
    assert capsys.readouterr().out.endswith("\n]\n")


@pytest.mark.usefixtures("backend")
def test_outbox_filters(cli):
    add(cli, "Seoul")
    cli.json("reserve", "--user", "kim", "--slot", "1")
    cli.json("reserve", "--user", "lee", "--slot", "1")
    cli.json("cancel", "1")
    everything = cli.json("outbox", "list")
    day = everything[0]["created_at"][:10]
    before = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()

    def ids(*options):
        return [m["id"] for m in cli.json("outbox", "list", *options)]

    assert ids("--recipient", "kim") == [2, 4]
    assert ids("--recipient", "*") == [1]
    assert ids("--event", "reservationconfirmed") == [2, 3]
    assert ids("--event", "ReservationCancelled", "--recipient", "kim") == [4]
    assert ids("--status", "pending", "--recipient", "lee") == [3]
    assert ids("--from", day, "--to", day) == [1, 2, 3, 4]
    assert ids("--to", before) == []
    assert ids("--after", "2") == [3, 4]
    assert ids("--after", "2", "--recipient", "kim") == [4]
    assert cli("outbox", "list", "--recipient", "nobody").stdout == "No messages match.\n"
    assert cli("outbox", "list", "--status", "failed").stdout == "No failed messages.\n"
    bad = cli("outbox", "list", "--event", "Booked")
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: event must be one of SlotRegistered, SlotUpdated, ")
    out = cli("outbox", "list", "--limit", "3").stdout
    assert out.splitlines()[-1] == "Showing 3 of 4; use --limit, --after 3 or filters for more."


def _messages_with_an_attempt(cli, db_path):
    add(cli, "서울대학교병원 강남센터", quantity="5")
    cli.json("reserve", "--user", "김철수", "--slot", "1")
    cli.json("reserve", "--user", "a-person-with-a-long-identifier", "--slot", "1")
    query(
        db_path,
        "UPDATE outbox SET status = 'failed', attempts = 5, last_error = 'HTTP 503 Service Unavailable' WHERE id = 2",
    )
    query(db_path, "UPDATE outbox SET status = 'delivered', attempts = 1 WHERE id = 1")


@pytest.mark.one_backend
@pytest.mark.usefixtures("backend")
def test_the_outbox_table_keeps_one_line_a_message_in_80_columns(cli, db_path, monkeypatch):
    _messages_with_an_attempt(cli, db_path)
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("outbox", "list").stdout
    assert out == (
        "Outbox                                                                          \n"
        "ID  Event                 Recipient        Status     Attempts  Message         \n"
        "────────────────────────────────────────────────────────────────────────────────\n"
        " 1  SlotRegistered        *                delivered         1  New vaccination…\n"
        " 2  ReservationConfirmed  김철수           failed            5  Your reservatio…\n"
        " 3  ReservationConfirmed  a-person-with-…  pending           0  Your reservatio…\n"
    )
    monkeypatch.setenv("COLUMNS", "200")
    wide = cli("outbox", "list").stdout.splitlines()
    assert len(wide) == 6 and wide[-1].rstrip().endswith(
        f"Your reservation 2 is confirmed: Pfizer (dose 1) at 서울대학교병원 강남센터 on {future()}."
    )


@pytest.mark.one_backend
@pytest.mark.usefixtures("backend")
def test_outbox_show_prints_one_message_whole(cli, db_path):
    _messages_with_an_attempt(cli, db_path)
    listed = cli.json("outbox", "list")[1]
    created = f"{listed['created_at'][:10]} {listed['created_at'][11:16]} UTC"  # the store's zone, labelled
    message = f"Your reservation 1 is confirmed: Pfizer (dose 1) at 서울대학교병원 강남센터 on {future()}."
    result = cli("outbox", "show", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "ID:           2\n"
        "Event:        ReservationConfirmed\n"
        "Recipient:    김철수\n"
        "Ref:          reservation 1\n"
        f"Actor:        {login_name()}\n"
        "Status:       failed\n"
        "Attempts:     5\n"
        f"Created:      {created}\n"
        "Next attempt: -\n"
        "Delivered:    -\n"
        "Last error:   HTTP 503 Service Unavailable\n"
        f"Message:      {message}\n"
        "Payload:\n" + json.dumps(listed["payload"], ensure_ascii=False, indent=2) + "\n"
    )
    assert cli.json("outbox", "show", "2") == listed
    assert "Ref:          slot 1\n" in cli("outbox", "show", "1").stdout
    missing = cli("outbox", "show", "42")
    assert (missing.exit_code, missing.stderr) == (
        3,
        "Error: there is no outbox message 42; see `vaxres outbox list`\n",
    )
    assert json.loads(cli("outbox", "show", "42", "--json").stderr)["code"] == "message_not_found"
    assert cli("outbox", "show", "-1").exit_code == 2


def test_the_slot_table_keeps_a_korean_hospital_on_one_line_in_80_columns(cli, monkeypatch):
    add(cli, "서울대병원 강남센터", vaccine="AstraZeneca")
    add(cli, "서울대학교병원 강남센터 별관", days=8)
    monkeypatch.setenv("COLUMNS", "80")
    assert cli("slot", "list").stdout == (
        "Slots                                                                           \n"
        "ID  Date        Hospital                Vaccine      Capacity  Booked  Remaining\n"
        "────────────────────────────────────────────────────────────────────────────────\n"
        f" 1  {future(7)}  서울대병원 강남센터     AstraZeneca         3       0          3\n"
        f" 2  {future(8)}  서울대학교병원          Pfizer              3       0          3\n"
        "                강남센터 별관                                                   \n"
    )
