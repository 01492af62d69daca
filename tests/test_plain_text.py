"""Names are shown as typed, in every table and line: never read as Rich markup, never sent to
the terminal as control or bidirectional characters (issue 11, item 2)."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import future
from tests.test_report import Page

pytestmark = pytest.mark.usefixtures("backend")

MARKUP = [
    "x[/]",
    "Good [link=http://evil.example/]Hosp[/link]",
    "[bold red]Seoul[/]",
    "[/",
    ":smile: clinic",
    "\\[escaped]",
]
OSC = "\x1b]8;"  # the start of a terminal hyperlink
ESC = "\x1b"


def table_outputs(cli, user: str) -> dict[str, str]:
    return {
        " ".join(args): cli(*args).stdout
        for args in (["slot", "list"], ["outbox", "list"], ["mypage", user], ["show", "1"], ["vaccine", "list"])
    }


@pytest.mark.one_backend
@pytest.mark.parametrize("name", MARKUP)
def test_markup_in_names_is_shown_as_typed(cli, name):
    added = cli("slot", "add", "--date", future(), "--hospital", name, "--vaccine", "Janssen", "--quantity", "2")
    assert added.exit_code == 0, added.stderr
    assert name in added.stdout
    booked = cli("reserve", "--user", name, "--slot", "1")
    assert booked.exit_code == 0, booked.stderr
    for command, out in table_outputs(cli, name).items():
        assert ESC not in out, command
        if command != "vaccine list":
            assert _cells(name) in _cells(out), command


def _cells(table: str) -> str:
    """The text of a Rich table with the borders and line breaks taken out (cells may wrap)."""
    return "".join(ch for ch in table if ch not in "│┃┏┓┗┛┡┩└┘━─┳┻╇┼┴┬ \n")


@pytest.mark.one_backend
def test_markup_in_an_imported_row_is_shown_as_typed(cli, tmp_path):
    plan = tmp_path / "plan.csv"
    plan.write_text(f'date,hospital,vaccine,quantity\n{future()},"x[/] [link=http://e.example/]H[/link]",Janssen,3\n')
    assert cli("import", "slots", str(plan)).exit_code == 0
    out = cli("slot", "list").stdout
    assert OSC not in out
    assert "x[/][link=http://e.example/]H[/link]" in _cells(out)


@pytest.mark.one_backend
def test_control_and_bidi_characters_from_the_store_are_escaped_in_tables(cli, db_path):
    """Names typed in are checked; a store edited by hand may still hold anything."""
    from tests.helpers import query

    cli.json("slot", "add", "--date", future(), "--hospital", "Seoul", "--vaccine", "Janssen", "--quantity", "2")
    query(db_path, "UPDATE slot SET hospital = :h", {"h": "Se\u202eoul\x1b[31m\u200b"})
    out = cli("slot", "list").stdout
    assert "\u202e" not in out and ESC not in out and "\u200b" not in out
    assert "\\u202e" in out and "\\x1b" in out
    assert json.loads(cli("slot", "list", "--json").stdout)[0]["hospital"] == "Se\u202eoul\x1b[31m\u200b"


NAME = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("[]/=@+-:\\ link bold#;'\"")),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
    ),
    min_size=0,
    max_size=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hospital=NAME, user=NAME)
def test_any_name_gives_a_clean_answer_and_clean_tables(cli, hospital, user):
    """Whatever the text: exit 0 or 2 (with one line), no traceback, no raw escape in a table."""
    day = future(1 + len(hospital) % 300)
    added = cli("slot", "add", "--date", day, "--hospital", hospital, "--vaccine", "Janssen", "--quantity", "1")
    assert added.exit_code in (0, 1, 2), added.stderr
    assert added.exception is None or isinstance(added.exception, SystemExit)
    if added.exit_code != 0:
        assert added.stderr.startswith("Error: ") and added.stderr.count("\n") == 1
        return
    slot_id = added.stdout.split()[2].rstrip(":")
    booked = cli("reserve", "--user", user, "--slot", slot_id)
    assert booked.exit_code in (0, 1, 2), booked.stderr
    assert booked.exception is None or isinstance(booked.exception, SystemExit)
    for args in (["slot", "list"], ["outbox", "list"], ["mypage", user]):
        shown = cli(*args)
        assert shown.exit_code in (0, 2), (args, shown.stderr)
        assert shown.exception is None or isinstance(shown.exception, SystemExit)
        assert ESC not in shown.stdout and "\u202e" not in shown.stdout


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(NAME, NAME), min_size=1, max_size=5))
def test_any_csv_cells_give_a_clean_import_and_clean_tables(cli, tmp_path, cells):
    """Hospital and quantity cells of any text, written as a real CSV file: exit 0, 1 or 2 with
    no traceback; the rejects file's cells never start a formula; the tables stay plain."""
    import csv as csv_module

    plan = tmp_path / "fuzz.csv"
    with plan.open("w", encoding="utf-8", newline="") as out:
        writer = csv_module.writer(out)
        writer.writerow(["date", "hospital", "vaccine", "quantity"])
        for hospital, quantity in cells:
            writer.writerow([future(3), hospital, "Janssen", quantity])
    rejects = tmp_path / "fuzz-rejects.csv"
    result = cli("import", "slots", str(plan), "--rejects", str(rejects), "--force")
    assert result.exit_code in (0, 1, 2), result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if rejects.exists():
        for row in csv_module.reader(rejects.open(encoding="utf-8")):
            assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)
    listed = cli("slot", "list")
    assert listed.exit_code == 0 and ESC not in listed.stdout


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(person=NAME, name=NAME, group=NAME, phone=NAME, email=NAME)
def test_any_person_gives_a_clean_answer_and_clean_tables(cli, person, name, group, phone, email):
    """The registry's values, whatever they are: exit 0 or 2 with one line, no traceback, no raw
    escape in `person show`, `person list` or `mypage`."""
    options = ["--name", name, "--group", group]
    if phone.strip():
        options += ["--phone", phone]
    if email.strip():
        options += ["--email", email]
    added = cli("person", "add", person, *options)
    assert added.exit_code in (0, 1, 2), added.stderr
    assert added.exception is None or isinstance(added.exception, SystemExit)
    if added.exit_code != 0:
        assert added.stderr.startswith("Error: ") and added.stderr.count("\n") == 1
        return
    for args in (
        ["person", "show", person],
        ["person", "list"],
        ["mypage", person],
        ["person", "list", "--search", name],
    ):
        shown = cli(*args)
        assert shown.exit_code in (0, 2), (args, shown.stderr)
        assert shown.exception is None or isinstance(shown.exception, SystemExit)
        assert ESC not in shown.stdout and "\u202e" not in shown.stdout


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(window=NAME, group=NAME)
def test_any_window_name_gives_a_clean_uptake_report(cli, tmp_path, window, group):
    """A window and a group of any text: `window add` answers exit 0 or 2 with one line; the
    uptake table (`report --by window`) stays plain, and its page keeps the name as text."""
    added = cli("window", "add", window, "--vaccine", "Janssen", "--group", group, "--opens", "2030-01-01 00:00")
    assert added.exit_code in (0, 1, 2), added.stderr
    assert added.exception is None or isinstance(added.exception, SystemExit)
    if added.exit_code != 0:
        assert added.stderr.startswith("Error: ") and added.stderr.count("\n") == 1
        return
    shown = cli("report", "--by", "window")
    assert shown.exit_code == 0, shown.stderr
    assert ESC not in shown.stdout and "\u202e" not in shown.stdout
    page = tmp_path / "uptake.html"
    assert cli("report", "--by", "window", "--html", str(page), "--force").exit_code == 0
    parsed = Page(page.read_text(encoding="utf-8"))
    assert "script" not in parsed.tags and ESC not in page.read_text(encoding="utf-8")
    assert [row["name"] for row in parsed.tables["uptake"]][-1] == cli.json("window", "show", window)["name"].strip()
