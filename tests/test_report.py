"""`vaxres report` (issue 14): the figures of a store built by known commands, with every status
and people waiting, per day, hospital and vaccine, filtered, on both backends; the table in 80
columns; --json; the HTML page checked against --json; hostile names; bad input."""

import datetime as dt
import json
import os
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import VAXRES, future, query, start_day


def day(n: int) -> str:
    return (start_day() + dt.timedelta(days=n)).isoformat()


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


@pytest.fixture
def campaign(cli, time_machine):
    """Five slots over three days, eight bookings (administered, no-show, cancelled, reserved),
    three people waiting; the clock ends on day 2, after `close-day` closed day 1.

    slot 1: day 1, Seoul National University Hospital, Pfizer, 4: kim administered, lee no-show, park cancelled
    slot 2: day 1, 서울대병원, Moderna, 1: choi administered
    slot 3: day 2, Seoul National University Hospital, 화이자 (Pfizer), 2: jung reserved
    slot 4: day 2, Busan Medical Center, Moderna, 5: han reserved, seo cancelled
    slot 5: day 3, Busan Medical Center, Pfizer, 1: kang reserved (sold out)
    waiting: yoon, Pfizer at "busan", from today; moon, Pfizer anywhere, from day 5; baek, Moderna at "서울", to day 1
    """
    for days, hospital, vaccine, quantity in (
        (1, "Seoul National University Hospital", "Pfizer", 4),
        (1, "서울대병원", "Moderna", 1),
        (2, "Seoul National University Hospital", "화이자", 2),
        (2, "Busan Medical Center", "Moderna", 5),
        (3, "Busan Medical Center", "Pfizer", 1),
    ):
        ok(
            cli(
                "slot",
                "add",
                "--date",
                day(days),
                "--hospital",
                hospital,
                "--vaccine",
                vaccine,
                "--quantity",
                str(quantity),
            )
        )
    for user, slot in (
        ("kim", 1),
        ("lee", 1),
        ("park", 1),
        ("choi", 2),
        ("jung", 3),
        ("han", 4),
        ("kang", 5),
        ("seo", 4),
    ):
        ok(cli("reserve", "--user", user, "--slot", str(slot)))
    ok(cli("cancel", "3"))
    ok(cli("cancel", "8"))
    for joining in (
        ["--user", "yoon", "--vaccine", "Pfizer", "--hospital", "busan"],
        ["--user", "moon", "--vaccine", "Pfizer", "--from", day(5)],
        ["--user", "baek", "--vaccine", "Moderna", "--hospital", "서울", "--to", day(1)],
    ):
        assert cli.json("waitlist", "join", *joining)["waiting"] is not None
    time_machine.move_to(start_day() + dt.timedelta(days=1, hours=12))
    ok(cli("administer", "1"))
    ok(cli("administer", "4"))
    time_machine.move_to(start_day() + dt.timedelta(days=2, hours=12))
    assert cli.json("close-day")["no_shows"] == 1


def figures(capacity, reserved, administered, no_show, cancelled, remaining, waiting):
    booked = reserved + administered + no_show
    return {
        "capacity": capacity,
        "reserved": reserved,
        "administered": administered,
        "no_show": no_show,
        "cancelled": cancelled,
        "remaining": remaining,
        "booked": booked,
        "fill_rate": round(booked / capacity, 4) if capacity else None,
        "waiting": waiting,
    }


NO_FILTER = {"from": None, "to": None, "hospital": None, "vaccine": None}


@pytest.mark.usefixtures("backend", "campaign")
def test_figures_per_day_hospital_and_vaccine(cli, db_path):
    assert {status for (status,) in query(db_path, "SELECT DISTINCT status FROM reservation")} == {
        "reserved",
        "administered",
        "no_show",
        "cancelled",
    }
    total = figures(13, 3, 2, 1, 2, 7, 3)
    assert (
        cli.json("report")
        == cli.json("report", "--by", "day")
        == {
            "by": "day",
            **NO_FILTER,
            "groups": [
                {"day": day(1), **figures(5, 0, 2, 1, 1, 2, 2)},
                {"day": day(2), **figures(7, 2, 0, 0, 1, 5, 1)},
                {"day": day(3), **figures(1, 1, 0, 0, 0, 0, 1)},
            ],
            "total": total,
        }
    )
    assert total["fill_rate"] == 0.4615
    assert cli.json("report", "--by", "hospital") == {
        "by": "hospital",
        **NO_FILTER,
        "groups": [
            {"hospital": "Busan Medical Center", **figures(6, 2, 0, 0, 1, 4, 1)},
            {"hospital": "Seoul National University Hospital", **figures(6, 1, 1, 1, 1, 3, 0)},
            {"hospital": "서울대병원", **figures(1, 0, 1, 0, 0, 0, 1)},
        ],
        "total": total,
        "waiting_any_hospital": 1,
    }
    assert cli.json("report", "--by", "VACCINE") == {
        "by": "vaccine",
        **NO_FILTER,
        "groups": [
            {"vaccine": "Moderna", **figures(6, 1, 1, 0, 1, 4, 1)},
            {"vaccine": "Pfizer", **figures(7, 2, 1, 1, 1, 3, 2)},
        ],
        "total": total,
    }


@pytest.mark.usefixtures("backend", "campaign")
def test_filters_narrow_the_slots_and_the_people_waiting(cli):
    def report(*options):
        data = cli.json("report", *options)
        return [(g[data["by"]], g["capacity"], g["booked"], g["waiting"]) for g in data["groups"]], data["total"]

    # Substring, any case; the entries counted name no hospital or one the matched hospitals contain.
    assert report("--hospital", "SEOUL") == (
        [(day(1), 4, 2, 0), (day(2), 2, 1, 0)],
        figures(6, 1, 1, 1, 1, 3, 1),
    )
    assert report("--hospital", "서울", "--by", "hospital") == ([("서울대병원", 1, 1, 1)], figures(1, 0, 1, 0, 0, 0, 2))
    # A vaccine by part of an alias, as `slot list --vaccine` finds it.
    lines, total = report("--vaccine", "화이", "--by", "hospital")
    assert lines == [("Busan Medical Center", 1, 1, 1), ("Seoul National University Hospital", 6, 3, 0)]
    assert (total["capacity"], total["waiting"]) == (7, 2)
    assert report("--from", day(2), "--to", day(2)) == ([(day(2), 7, 2, 1)], figures(7, 2, 0, 0, 1, 5, 1))
    assert report("--from", day(3), "--by", "vaccine", "--vaccine", "pfizer", "--hospital", "busan") == (
        [("Pfizer", 1, 1, 2)],
        figures(1, 1, 0, 0, 0, 0, 2),
    )
    empty = cli.json("report", "--from", day(4))
    assert (empty["groups"], empty["total"]) == ([], figures(0, 0, 0, 0, 0, 0, 2))
    assert cli("report", "--from", day(4)).stdout == "No slots match.\n"
    assert cli("report", "--hospital", "Daegu").stdout == "No slots match.\n"
    assert cli("report", "--vaccine", "Novavax", "--by", "vaccine").stdout == "No slots match.\n"


def test_an_empty_store_says_so(cli):
    assert ok(cli("report")).stdout == "No slots match.\n"
    assert cli.json("report", "--by", "hospital")["total"]["fill_rate"] is None


@pytest.mark.usefixtures("campaign")
def test_the_table_fits_80_columns(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert ok(cli("report")).stdout == (
        "Report by day                                                                   \n"
        "Day        Capacity Reserved Given No-show Cancelled Left Waiting Fill          \n"
        "────────────────────────────────────────────────────────────────────────────────\n"
        f"{day(1)}        5        0     2       1         1    2       2  60% █████▍···\n"
        f"{day(2)}        7        2     0       0         1    5       1  28% ██▌······\n"
        f"{day(3)}        1        1     0       0         0    0       1 100% █████████\n"
        "────────────────────────────────────────────────────────────────────────────────\n"
        "Total            13        3     2       1         2    7       3  46% ████▏····\n"
        "Fill = (reserved + given + no-show) ÷ capacity; left = doses not booked.\n"
    )
    assert ok(cli("report", "--by", "hospital")).stdout == (
        "Report by hospital                                                              \n"
        "Hospital      Capacity Reserved Given No-show Cancelled Left Waiting Fill       \n"
        "────────────────────────────────────────────────────────────────────────────────\n"
        "Busan Medical        6        2     0       0         1    4       1  33% ██····\n"
        "Center                                                                          \n"
        "Seoul                6        1     1       1         1    3       0  50% ███···\n"
        "National                                                                        \n"
        "University                                                                      \n"
        "Hospital                                                                        \n"
        "서울대병원           1        0     1       0         0    0       1 100% ██████\n"
        "────────────────────────────────────────────────────────────────────────────────\n"
        "Total               13        3     2       1         2    7       3  46% ██▊···\n"
        "Also waiting, for any hospital: 1 (in the total).\n"
        "Fill = (reserved + given + no-show) ÷ capacity; left = doses not booked.\n"
    )
    monkeypatch.setenv("COLUMNS", "120")
    wide = ok(cli("report", "--by", "hospital", "--hospital", "seoul", "--from", day(1))).stdout.splitlines()
    assert wide[0].rstrip() == f"Report by hospital, {day(1)} to the last, hospitals matching 'seoul'"
    assert wide[3] == (  # the name on one line; the bar takes the room left, up to 20 cells
        "Seoul National University Hospital         6         1      1        1          1     3        0   50% ████████▌········"
    )


def test_a_long_korean_name_is_not_cut_inside_a_word_in_80_columns(cli, monkeypatch):
    """The name column is never narrower than the longest word (up to 20 cells) while the bar can
    give way: 부산대학교병원 is one 14-cell word."""
    monkeypatch.setenv("COLUMNS", "80")
    for hospital, quantity in (("부산대학교병원", "2"), ("서울대학교병원 본원", "3")):
        ok(
            cli(
                "slot",
                "add",
                "--date",
                future(3),
                "--hospital",
                hospital,
                "--vaccine",
                "Pfizer",
                "--quantity",
                quantity,
            )
        )
    lines = ok(cli("report", "--by", "hospital")).stdout.splitlines()
    assert lines[3] == "부산대학교병원        2        0     0       0         0    2       0   0% ·····"
    assert lines[4].startswith("서울대학교병원        3 ") and lines[5].rstrip() == "본원"
    assert all(len(line) <= 80 for line in lines)


def test_names_are_shown_as_typed(cli, db_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    ok(
        cli(
            "slot",
            "add",
            "--date",
            day(3),
            "--hospital",
            "[bold]x[/bold] <script>",
            "--vaccine",
            "Pfizer",
            "--quantity",
            "2",
        )
    )
    assert ok(cli("report", "--by", "hospital", "--hospital", "[bold]")).stdout == (
        "Report by hospital, hospitals matching '[bold]'                                 \n"
        "Hospital       Capacity Reserved Given No-show Cancelled Left Waiting Fill      \n"
        "────────────────────────────────────────────────────────────────────────────────\n"
        "[bold]x[/bold]        2        0     0       0         0    2       0   0% ·····\n"
        "<script>                                                                        \n"
        "────────────────────────────────────────────────────────────────────────────────\n"
        "Total                 2        0     0       0         0    2       0   0% ·····\n"
        "Fill = (reserved + given + no-show) ÷ capacity; left = doses not booked.\n"
    )
    # A store edited by hand may hold what vaxres refuses: escapes reach the terminal, not the codes.
    query(db_path, "UPDATE slot SET hospital = 'Red\x1b[31m' || char(8238) || 'H'")
    monkeypatch.setenv("COLUMNS", "200")
    out = ok(cli("report", "--by", "hospital")).stdout
    assert "Red\\x1b[31m\\u202eH" in out and "\x1b" not in out and "\u202e" not in out


class Page(HTMLParser):
    """What a test needs of the report page: the table's rows (name, then field → text and
    data-value), those of every table by id, the charts' alt text (aria-label), the links and
    sources it names, and the elements that could load or run code."""

    def __init__(self, text: str):
        super().__init__()
        self.rows, self.references, self.tags, self.text, self.labels = [], [], set(), [], []
        self.tables: dict[str, list] = {}
        self._row = self._cell = None
        self._in_table = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        self.references += [
            value for name, value in attrs.items() if name in ("src", "href", "xlink:href", "action") and value
        ]
        if tag == "svg" and attrs.get("role") == "img":
            self.labels.append(attrs.get("aria-label"))
        if tag == "table" and attrs.get("id"):
            self._in_table = attrs["id"]
            self.tables[self._in_table] = []
        elif self._in_table and tag == "tr":
            self._row = {"name": "", "cells": {}}
        elif self._row is not None and tag in ("th", "td"):
            self._cell = (attrs.get("data-field"), attrs.get("data-value"), [])

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = None
        elif tag in ("th", "td") and self._cell is not None and self._row is not None:
            field, value, text = self._cell
            if field is None:
                self._row["name"] = "".join(text).strip()
            else:
                self._row["cells"][field] = ("".join(text).strip(), value)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row["cells"]:
                self.tables[self._in_table].append(self._row)
                if self._in_table == "figures":
                    self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell[2].append(data)


def as_json_figures(cells: dict) -> dict:
    numbers = {field: int(text.replace(",", "")) for field, (text, _value) in cells.items() if field != "fill_rate"}
    text, value = cells["fill_rate"]
    assert abs(float(text.rstrip("%")) - float(value) * 100) <= 0.051
    return {**numbers, "fill_rate": float(value)}


@pytest.mark.usefixtures("backend", "campaign")
@pytest.mark.parametrize("by", ["day", "hospital", "vaccine"])
def test_the_html_page_shows_the_figures_of_json(cli, tmp_path, by):
    page = tmp_path / "report.html"
    result = ok(cli("report", "--by", by, "--html", str(page)))
    assert result.stdout == f"Wrote the report to {page}: {3 if by != 'vaccine' else 2} {by}s.\n"
    expected = cli.json("report", "--by", by)
    parsed = Page(page.read_text(encoding="utf-8"))
    *lines, total = parsed.rows
    assert [row["name"] for row in lines] + [total["name"]] == [g[by] for g in expected["groups"]] + ["Total"]
    for row, group in zip(lines, expected["groups"]):
        assert as_json_figures(row["cells"]) == {k: v for k, v in group.items() if k != by}
    assert as_json_figures(total["cells"]) == expected["total"]
    # Nothing to fetch: only the charts' references to their own shapes (#id), no link, image or script.
    assert parsed.references and all(ref.startswith("#") for ref in parsed.references), parsed.references
    assert not parsed.tags & {"script", "link", "img", "iframe", "object", "embed", "base"}
    assert parsed.tags >= {"svg", "table"}
    text = "".join(parsed.text)
    assert "Fill rate by day" in text and "Fill rate by hospital" in text
    assert (by == "hospital") == ("Also waiting, for any hospital: 1 (in the total)." in text)


def test_the_page_says_when_and_from_which_store(cli, tmp_path, time_machine, monkeypatch):
    time_machine.move_to(dt.datetime(2030, 3, 2, 0, 30, tzinfo=dt.UTC))
    ok(cli("db", "set-timezone", "Asia/Seoul"))
    ok(cli("slot", "add", "--date", "2030-03-03", "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "2"))
    page = tmp_path / "r.html"
    ok(cli("report", "--html", str(page)))
    text = "".join(Page(page.read_text()).text)
    assert f"Made 2030-03-02 09:30 KST from the store {os.environ['VAXRES_DB']}." in text


def test_hostile_names_stay_text_in_the_page(cli, db_path, tmp_path):
    hostile = '<script>alert("x")</script> & $x$'
    ok(cli("slot", "add", "--date", day(3), "--hospital", hostile, "--vaccine", "Pfizer", "--quantity", "2"))
    page = tmp_path / "r.html"
    ok(cli("report", "--by", "hospital", "--html", str(page)))
    source = page.read_text()
    assert "<script" not in source and "&lt;script&gt;" in source
    parsed = Page(source)
    assert "script" not in parsed.tags
    assert parsed.rows[0]["name"] == hostile
    assert hostile in "".join(parsed.text)  # in the table, and as the chart's label (SVG text)
    assert "".join(parsed.text).count(hostile) == 2
    # What a store edited by hand may hold: shown as escapes, never turning the page's text around.
    query(db_path, "UPDATE slot SET hospital = 'Left' || char(8238) || 'Right' || char(27)")
    ok(cli("report", "--by", "hospital", "--html", str(page), "--force"))
    source = page.read_text()
    assert "\u202e" not in source and "\x1b" not in source
    assert "".join(Page(source).text).count("Left\\u202eRight\\x1b") == 2


def test_the_page_is_not_written_over_without_force(cli, tmp_path):
    ok(cli("slot", "add", "--date", day(3), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "2"))
    page = tmp_path / "r.html"
    page.write_text("keep me")
    refused = cli("report", "--html", str(page))
    assert (refused.exit_code, refused.stderr) == (
        2,
        f"Error: --html {page} already exists; name a new file, or pass --force to replace it\n",
    )
    assert json.loads(cli("report", "--html", str(page), "--json").stderr)["code"] == "file_exists"
    assert page.read_text() == "keep me"
    ok(cli("report", "--html", str(page), "--force"))
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".vaxres-report-")]


def test_a_failure_leaves_no_file_behind(cli, tmp_path, monkeypatch):
    from vaxres.reports import charts

    ok(cli("slot", "add", "--date", day(3), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "2"))
    out = tmp_path / "out"
    out.mkdir()

    def broken(*_args, **_kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(charts, "fill_by_hospital", broken)
    with pytest.raises(RuntimeError):
        cli.runner.invoke(
            __import__("vaxres.cli", fromlist=["app"]).app,
            ["report", "--html", str(out / "r.html")],
            catch_exceptions=False,
        )
    assert list(out.iterdir()) == []


def test_an_unwritable_page_is_one_line_exit_2(cli, tmp_path):
    ok(cli("slot", "add", "--date", day(3), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "2"))
    missing = cli("report", "--html", str(tmp_path / "no" / "r.html"))
    assert (missing.exit_code, missing.stderr) == (
        2,
        f"Error: cannot write --html {tmp_path / 'no' / 'r.html'}: the folder {tmp_path / 'no'} does not exist\n",
    )
    assert cli("report", "--html", "").stderr == "Error: --html needs a file name, got ''\n"
    link = tmp_path / "link.html"
    link.symlink_to(tmp_path / "elsewhere.html")
    linked = cli("report", "--html", str(link), "--force")
    assert (linked.exit_code, linked.stderr) == (2, f"Error: --html {link} is a symbolic link; name the file itself\n")
    assert not (tmp_path / "elsewhere.html").exists()
    folder = cli("report", "--html", str(tmp_path))
    assert (folder.exit_code, folder.stderr) == (2, f"Error: --html {tmp_path} is a folder; name a file in it\n")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        denied = cli("report", "--html", str(locked / "r.html"))
        assert (denied.exit_code, denied.stderr) == (
            2,
            f"Error: cannot write --html {locked / 'r.html'}: permission denied\n",
        )


def test_a_pipe_or_a_device_is_never_replaced_even_with_force(cli, tmp_path):
    """Only a regular file is replaced, as export --output: a FIFO (standing for /dev/null here)
    renamed over would be gone."""
    import stat

    ok(cli("slot", "add", "--date", day(3), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "2"))
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    for extra in ([], ["--force"]):
        refused = cli("report", "--html", str(pipe), *extra)
        assert (refused.exit_code, refused.stdout, refused.stderr) == (
            2,
            "",
            f"Error: --html {pipe} is not a regular file; name a file\n",
        )
        assert stat.S_ISFIFO(pipe.lstat().st_mode)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".vaxres-report-")]


def test_a_pipe_made_while_the_page_is_drawn_is_not_replaced(cli, tmp_path, monkeypatch):
    import stat

    from vaxres.reports import page as page_module

    ok(cli("slot", "add", "--date", day(3), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "2"))
    target = tmp_path / "r.html"
    render = page_module.render

    def racing(*args, **kwargs):
        os.mkfifo(target)
        return render(*args, **kwargs)

    monkeypatch.setattr(page_module, "render", racing)
    refused = cli("report", "--html", str(target), "--force")
    assert (refused.exit_code, refused.stderr) == (2, f"Error: --html {target} is not a regular file; name a file\n")
    assert stat.S_ISFIFO(target.lstat().st_mode)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".vaxres-report-")]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--by", "week"], "--by must be day, hospital, vaccine or window, got 'week'"),
        (["--from", "2026-02-30"], "from '2026-02-30' is not a real calendar date"),
        (["--to", "next week"], "to must be a date as YYYY-MM-DD"),
        (["--from", "2026-12-05", "--to", "2026-12-01"], "--from 2026-12-05 is after --to 2026-12-01"),
        (["--hospital", "  "], "hospital must not be empty"),
        (["--vaccine", "a\u202eb"], "vaccine must not contain invisible or text-direction characters"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, options, message):
    result = cli("report", *options)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"Error: {message}") and result.stderr.count("\n") == 1
    as_json = cli("report", *options, "--json")
    assert as_json.exit_code == 2 and json.loads(as_json.stderr)["code"] == "invalid_input"
    page = tmp_path / "never.html"
    assert cli("report", *options, "--html", str(page)).exit_code == 2 and not page.exists()


@pytest.mark.no_store
def test_a_missing_store_is_not_found_and_not_created(cli, tmp_path):
    result = cli("report")
    assert result.exit_code == 3 and not (tmp_path / "vaxres.db").exists()


def test_the_aggregate_is_one_statement_whatever_the_number_of_slots(cli, store, tmp_path):
    """Set-based: the statements a report runs do not grow with the slots (no loop over rows)."""
    from sqlalchemy import event

    from vaxres.reports.figures import utilisation

    def statements(by):
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(store.engine, "before_cursor_execute", listener)
        try:
            utilisation(store, by=by, hospital="h", vaccine="pfizer")
        finally:
            event.remove(store.engine, "before_cursor_execute", listener)
        return [s for s in seen if "GROUP BY" in s and "taken" in s]

    ok(cli("slot", "add", "--date", day(3), "--hospital", "H0", "--vaccine", "Pfizer", "--quantity", "2"))
    few = {by: len(statements(by)) for by in ("day", "hospital", "vaccine")}
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "date,hospital,vaccine,quantity\n" + "".join(f"{day(1 + n % 20)},H{n},Pfizer,3\n" for n in range(300))
    )
    ok(cli("import", "slots", str(plan)))
    assert (
        {by: len(statements(by)) for by in ("day", "hospital", "vaccine")}
        == few
        == {"day": 1, "hospital": 1, "vaccine": 1}
    )


def test_the_terminal_report_does_not_load_matplotlib(tmp_path):
    code = (
        "import sys\n"
        "from vaxres.cli import app\n"
        "try:\n"
        "    app(['report'], prog_name='vaxres')\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    assert result.stdout == "No slots match.\n"
    assert subprocess.run([VAXRES, "report", "--help"], capture_output=True, text=True).returncode == 0


def _report_of(names, by="hospital"):
    from vaxres.reports.figures import Figures, Line, Report, Scope

    lines = [Line(name, Figures(10 + n, n, 1, 0, 2, 9 - n, n % 3)) for n, name in enumerate(names)]
    total = Figures(
        *(
            sum(getattr(line.figures, f) for line in lines)
            for f in ("capacity", "reserved", "administered", "no_show", "cancelled", "remaining", "waiting")
        )
    )
    return Report(Scope(by), lines, total, 1 if by == "hospital" else None)


def _uptake_of(names):
    from vaxres.reports.figures import Scope
    from vaxres.reports.uptake import Uptake, UptakeReport, WindowLine

    lines = [WindowLine(name, name, n % 3 or None, Uptake(10 * n, n, 0)) for n, name in enumerate(names, 1)]
    return UptakeReport(Scope("window"), lines)


NAMES = st.lists(st.text(min_size=1, max_size=60), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=NAMES)
def test_any_name_stays_text_in_the_page(names, monkeypatch):
    """Whatever a name holds, the page's table gives it back as text (control and direction
    characters escaped), and adds no element. The charts' SVG text is matplotlib's to escape
    (checked with a real chart above); here they are stubbed, for speed."""
    from vaxres.reports import charts, page
    from vaxres.reports.charts import visible

    monkeypatch.setattr(charts, "fill_by_day", lambda *_: "<svg></svg>")
    monkeypatch.setattr(charts, "fill_by_hospital", lambda *_: "<svg></svg>")
    monkeypatch.setattr(charts, "uptake_by_window", lambda *_: "<svg></svg>")
    report = _report_of(names)
    day_report = _report_of(["2026-12-01"], by="day")
    uptake = _uptake_of(names)
    source = page.render(
        {"hospital": report, "day": day_report}, "hospital", made=dt.datetime.now(dt.UTC), store="s", uptake=uptake
    )
    parsed = Page(source)
    assert [row["name"] for row in parsed.rows] == [visible(name).strip() for name in names] + ["Total"]
    # The windows' and vaccines' names too, and the chart's alt text holds each window's name whole.
    shown = [(row["name"], row["cells"]["vaccine"][0]) for row in parsed.tables["uptake"]]
    assert shown == [(visible(name).strip(), visible(name).strip()) for name in names]
    assert parsed.labels == [
        "Shares booked and vaccinated per window: "
        + "; ".join(f"{visible(name)}: 10.0% booked, 0.0% vaccinated of {10 * n}" for n, name in enumerate(names, 1))
    ]
    assert parsed.tags == {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "p",
        "code",
        "section",
        "h2",
        "figure",
        "svg",
        "figcaption",
        "div",
        "table",
        "thead",
        "tr",
        "th",
        "tbody",
        "tfoot",
        "td",
        "span",
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=NAMES)
def test_any_name_keeps_the_table_in_80_columns(names, capsys, monkeypatch):
    from rich.cells import cell_len

    from vaxres.cli.report import report_table

    monkeypatch.setenv("COLUMNS", "80")
    report_table(_report_of(names))
    out = capsys.readouterr().out
    assert all(cell_len(line) <= 80 for line in out.splitlines())
    assert "\x1b" not in out and "\u202e" not in out
    assert out.splitlines()[-1] == "Fill = (reserved + given + no-show) ÷ capacity; left = doses not booked."


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=NAMES)
def test_any_window_name_keeps_the_uptake_table_in_80_columns(names, capsys, monkeypatch):
    from rich.cells import cell_len

    from vaxres.cli.report_windows import uptake_table

    monkeypatch.setenv("COLUMNS", "80")
    uptake_table(_uptake_of(names))
    out = capsys.readouterr().out
    assert all(cell_len(line) <= 80 for line in out.splitlines())
    assert "\x1b" not in out and "\u202e" not in out
    assert out.splitlines()[-1] == "Booked: holds a booking of its vaccine (its dose); vaccinated: was given it."


def _stderr_on_a_terminal(*args: str) -> tuple[int, str, str]:
    """Run vaxres with its stderr on a pseudo-terminal (stdout a pipe, as in `| less`)."""
    import pty

    reader, terminal = pty.openpty()
    proc = subprocess.run([VAXRES, *args], stdout=subprocess.PIPE, stderr=terminal, text=True, timeout=120)
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(reader, 65536)
        except OSError:  # the terminal's other end is closed and everything was read
            break
        if not chunk:
            break
        seen += chunk
    os.close(reader)
    return proc.returncode, proc.stdout, seen.decode(errors="replace")


def test_a_report_in_a_terminal_shows_a_spinner_on_stderr_and_none_with_json(cli):
    assert (
        cli(
            "slot", "add", "--date", future(3), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "5"
        ).exit_code
        == 0
    )
    code, out, err = _stderr_on_a_terminal("report")
    assert code == 0 and "Total" in out
    assert "Counting the slots and bookings" in err
    code, out, err = _stderr_on_a_terminal("report", "--json")
    assert code == 0 and json.loads(out)["total"]["capacity"] == 5
    assert err == ""
