"""`vaxres report --by window` (issue 21, item 6): uptake per eligibility window, on both backends.

The store, Asia/Seoul, 2 March 2030: Pfizer slots at 서울대병원 on 5 March and at 부산대병원 on
27 March, a Moderna slot on 5 March; five windows and eight people (one forgotten, one without a
birth date), with what each window should count worked out by hand below.
"""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from tests.test_report import Page

SEOUL = ZoneInfo("Asia/Seoul")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SEOUL)


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


def uptake(window, vaccine, dose, registered, booked, vaccinated):
    share = lambda n: round(n / registered, 4) if registered else None  # noqa: E731
    return {
        "window": window,
        "vaccine": vaccine,
        "dose": dose,
        "registered": registered,
        "booked": booked,
        "vaccinated": vaccinated,
        "booked_share": share(booked),
        "vaccinated_share": share(vaccinated),
    }


@pytest.fixture
def cohorts(backend, cli, time_machine):
    """70-74세 (Pfizer, ages on 1 January 2030: born 1955-01-02 … 1960-01-01): a (given dose 1,
    booked dose 2), c (nothing); b, born 1955-01-01, is 75.
    의료진 (Pfizer, groups 의료진 or Care Workers): d (booked), e (care workers: booked Moderna
    only), f (no birth date: given).
    18-49 10부제 (Pfizer dose 1, born 1981 … 2012, a rotation): d, e, h (cancelled); g forgotten.
    2차 접종 (Pfizer dose 2, everyone): the eight not forgotten, walkin too (booking registered
    them bare: no birth date, no group, so no other window matches them; their dose 1 does not
    count here); a booked dose 2.
    빈 창 (AstraZeneca, group 아무도): nobody."""
    time_machine.move_to(at("2030-03-02 12:00"), tick=False)
    ok(cli("db", "set-timezone", "Asia/Seoul"))
    for day, hospital, vaccine in (
        ("2030-03-05", "서울대병원", "Pfizer"),
        ("2030-03-27", "부산대병원", "Pfizer"),
        ("2030-03-05", "서울대병원", "Moderna"),
    ):
        ok(cli("slot", "add", "--date", day, "--hospital", hospital, "--vaccine", vaccine, "--quantity", "10"))
    for window in (
        ["70-74세", "--vaccine", "화이자", "--age-min", "70", "--age-max", "74", "--age-on", "2030-01-01"],
        ["의료진", "--vaccine", "Pfizer", "--group", "의료진", "--group", "Care Workers"],
        ["18-49 10부제", "--vaccine", "Pfizer", "--dose", "1", "--born-from", "1981-01-01", "--born-to", "2012-12-31",
         "--rotation", "birth-digit", "--each", "20:00-18:00", "--opens", "2030-03-01 20:00"],
        ["2차 접종", "--vaccine", "Pfizer", "--dose", "2"],
        ["빈 창", "--vaccine", "AstraZeneca", "--group", "아무도", "--opens", "2030-03-02 00:00"],
    ):  # fmt: skip
        opens = [] if "--opens" in window else ["--opens", "2030-03-01 00:00"]
        ok(cli("window", "add", *window, *opens))
    for person, *details in (
        ("a", "--birth-date", "1957-06-01"),
        ("b", "--birth-date", "1955-01-01"),
        ("c", "--birth-date", "1955-01-02"),
        ("d", "--birth-date", "1990-03-19", "--group", "의료진"),
        ("e", "--birth-date", "1990-03-12", "--group", "care workers"),
        ("f", "--group", "의료진"),
        ("g", "--birth-date", "2000-01-15"),
        ("h", "--birth-date", "1985-07-07"),
    ):
        ok(cli("person", "add", person, *details))
    ok(cli("person", "forget", "g"))
    ok(cli("reserve", "--user", "a", "--slot", "1"))  # 1
    ok(cli("reserve", "--user", "d", "--slot", "1"))  # 2
    ok(cli("reserve", "--user", "e", "--slot", "3"))  # 3: Moderna, no window
    ok(cli("reserve", "--user", "f", "--slot", "1"))  # 4
    ok(cli("reserve", "--user", "h", "--slot", "1", "--override-eligibility", "clinical trial"))  # 5
    ok(cli("cancel", "5"))
    ok(cli("reserve", "--user", "walkin", "--slot", "1", "--override-eligibility", "walk-in"))  # 6
    time_machine.move_to(at("2030-03-05 10:00"), tick=False)
    ok(cli("administer", "1", "--lot", "L1"))
    ok(cli("administer", "4", "--lot", "L1"))
    ok(cli("administer", "6", "--lot", "L1"))
    ok(cli("reserve", "--user", "a", "--slot", "2", "--dose", "2"))  # 7
    return time_machine


def as_json(row: dict) -> dict:
    """A row of the page's uptake table as the report's JSON has it (shares in one decimal place
    on the page, to 4 in data-value)."""
    cells = row["cells"]
    line = {"window": row["name"], "vaccine": cells["vaccine"][0]}
    line["dose"] = None if cells["dose"][0] == "any" else int(cells["dose"][0])
    for field in ("registered", "booked", "vaccinated"):
        line[field] = int(cells[field][0].replace(",", ""))
    for field in ("booked_share", "vaccinated_share"):
        text, value = cells[field]
        line[field] = None if value is None else float(value)
        assert (text == "") == (value is None) and (value is None or text == f"{float(value) * 100:.1f}%")
    return {
        key: line[key]
        for key in (
            "window",
            "vaccine",
            "dose",
            "registered",
            "booked",
            "vaccinated",
            "booked_share",
            "vaccinated_share",
        )
    }


SCOPE = {"by": "window", "from": None, "to": None, "hospital": None, "vaccine": None}


def test_uptake_per_window_counts_the_people_each_matches(cohorts, cli):
    assert cli.json("report", "--by", "window") == {
        **SCOPE,
        "groups": [
            uptake("70-74세", "Pfizer", None, 2, 1, 1),
            uptake("의료진", "Pfizer", None, 3, 2, 1),
            uptake("2차 접종", "Pfizer", 2, 8, 1, 0),
            uptake("18-49 10부제", "Pfizer", 1, 3, 1, 0),
            uptake("빈 창", "AstraZeneca", None, 0, 0, 0),
        ],
        "total": None,
    }
    groups = cli.json("report", "--by", "window")["groups"]
    assert (groups[1]["booked_share"], groups[1]["vaccinated_share"]) == (0.6667, 0.3333)
    assert (groups[4]["booked_share"], groups[4]["vaccinated_share"]) == (None, None)
    # Dose 2 given: the dose-2 window counts a as vaccinated; the 70-74 window (every dose) still once.
    cohorts.move_to(at("2030-03-27 10:00"), tick=False)
    ok(cli("administer", "7", "--lot", "L2"))
    groups = cli.json("report", "--by", "window")["groups"]
    assert groups[0] == uptake("70-74세", "Pfizer", None, 2, 1, 1)
    assert groups[2] == uptake("2차 접종", "Pfizer", 2, 8, 1, 1)


def test_filters_narrow_the_bookings_and_the_windows(cohorts, cli):
    def lines(*options):
        data = cli.json("report", "--by", "window", *options)
        return [(g["window"], g["registered"], g["booked"], g["vaccinated"]) for g in data["groups"]]

    # Slots of 5 March only: a's dose 2 (27 March) is not counted; who is registered does not change.
    assert lines("--to", "2030-03-05") == [
        ("70-74세", 2, 1, 1),
        ("의료진", 3, 2, 1),
        ("2차 접종", 8, 0, 0),
        ("18-49 10부제", 3, 1, 0),
        ("빈 창", 0, 0, 0),
    ]
    assert lines("--hospital", "부산") == [
        ("70-74세", 2, 1, 0),
        ("의료진", 3, 0, 0),
        ("2차 접종", 8, 1, 0),
        ("18-49 10부제", 3, 0, 0),
        ("빈 창", 0, 0, 0),
    ]
    assert lines("--vaccine", "아스트라") == [("빈 창", 0, 0, 0)]
    assert cli.json("report", "--by", "window", "--vaccine", "janssen")["groups"] == []
    assert ok(cli("report", "--by", "window", "--vaccine", "janssen")).stdout == "No windows match.\n"


def test_the_table_fits_80_columns_with_korean_names(cohorts, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert ok(cli("report", "--by", "window")).stdout == (
        "Uptake by window                                          \n"
        "Window       Vaccine     Dose Registered Booked Vaccinated\n"
        "──────────────────────────────────────────────────────────\n"
        "70-74세      Pfizer       any          2 1  50%     1  50%\n"
        "의료진       Pfizer       any          3 2  66%     1  33%\n"
        "2차 접종     Pfizer         2          8 1  12%     0   0%\n"
        "18-49 10부제 Pfizer         1          3 1  33%     0   0%\n"
        "빈 창        AstraZeneca  any          0 0    -     0    -\n"
        "Shares are of registered: the people in the registry the window matches.\n"
        "Booked: holds a booking of its vaccine (its dose); vaccinated: was given it.\n"
    )


def test_the_page_shows_the_uptake_chart_and_table(cohorts, cli, tmp_path):
    page = tmp_path / "uptake.html"
    assert ok(cli("report", "--by", "window", "--html", str(page))).stdout == (
        f"Wrote the report to {page}: 5 windows.\n"
    )
    expected = cli.json("report", "--by", "window")["groups"]
    source = page.read_text(encoding="utf-8")
    parsed = Page(source)
    assert [as_json(row) for row in parsed.tables["uptake"]] == expected
    text = "".join(parsed.text)
    assert "Uptake by window" in text and "Fill rate by day" in text
    alt = parsed.labels[-1]  # the uptake chart: an inline SVG with role="img" and its alt text
    assert alt.startswith("Shares booked and vaccinated per window: 70-74세: 50.0% booked, 50.0% vaccinated of 2;")
    assert "의료진: 66.7% booked, 33.3% vaccinated of 3" in alt and alt.endswith("빈 창: nobody registered")
    assert "18-49 10부제" in text  # the chart's label, as SVG text, and the table's row
    # Every page shows uptake while there are windows; --json of the page is the report of --by.
    day_page = tmp_path / "day.html"
    assert cli.json("report", "--html", str(day_page))["by"] == "day"
    assert Page(day_page.read_text(encoding="utf-8")).tables.keys() == {"figures", "uptake"}


def test_a_store_without_windows_says_so_and_its_page_has_no_uptake(backend, cli, tmp_path):
    assert ok(cli("report", "--by", "window")).stdout == "No windows match.\n"
    assert cli.json("report", "--by", "window") == {**SCOPE, "groups": [], "total": None}
    ok(cli("slot", "add", "--date", "2099-01-05", "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "2"))
    page = tmp_path / "r.html"
    ok(cli("report", "--html", str(page)))
    assert "by-window" not in page.read_text() and Page(page.read_text()).tables.keys() == {"figures"}
    result = cli("report", "--by", "window", "--html", str(page), "--force")
    assert result.stdout == f"Wrote the report to {page}: no windows match.\n"
    assert "No windows match." in "".join(Page(page.read_text()).text)


def test_hostile_window_names_stay_text(backend, cli, tmp_path, monkeypatch):
    hostile = '<script>alert("x")</script> [bold]$x$'
    ok(cli("window", "add", hostile, "--vaccine", "Pfizer", "--group", "<b>", "--opens", "2030-03-01 00:00"))
    ok(cli("person", "add", "p", "--group", "<B>"))
    monkeypatch.setenv("COLUMNS", "80")
    out = ok(cli("report", "--by", "window")).stdout
    assert "[bold]$x$" in out and "\x1b" not in out
    page = tmp_path / "r.html"
    ok(cli("report", "--by", "window", "--html", str(page)))
    source = page.read_text()
    assert "<script" not in source and "&lt;script&gt;" in source
    parsed = Page(source)
    assert "script" not in parsed.tags
    assert parsed.tables["uptake"][0]["name"] == hostile
    assert "".join(parsed.text).count(hostile) == 2  # the table's row and the chart's label
    assert parsed.labels == [f"Shares booked and vaccinated per window: {hostile}: 0.0% booked, 0.0% vaccinated of 1"]
    assert json.loads(cli("report", "--by", "window", "--json").stdout)["groups"][0]["registered"] == 1
