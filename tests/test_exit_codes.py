"""Exit codes that agree with the docs and with each other (issue 12, "Stores and errors")."""

import json

import pytest

from tests.helpers import future

pytestmark = pytest.mark.usefixtures("backend")


def error(result) -> tuple[int, str]:
    return result.exit_code, json.loads(result.stderr)["code"]


def test_a_past_slot_is_refused_the_same_way_by_id_and_by_date(cli, db_path):
    from tests.helpers import query

    cli.json("slot", "add", "--date", future(), "--hospital", "Seoul", "--vaccine", "Janssen", "--quantity", "2")
    query(db_path, "UPDATE slot SET date = '2020-01-01'")
    assert error(cli("reserve", "--user", "kim", "--slot", "1", "--json")) == (1, "slot_in_past")
    by_date = [
        "reserve",
        "--user",
        "kim",
        "--date",
        "2020-01-01",
        "--hospital",
        "Seoul",
        "--vaccine",
        "Janssen",
        "--json",
    ]
    assert error(cli(*by_date)) == (1, "slot_in_past")


def test_an_unknown_slot_is_not_found_before_any_rule(cli):
    cli.json("slot", "add", "--date", future(), "--hospital", "Seoul", "--vaccine", "Janssen", "--quantity", "2")
    cli.json("reserve", "--user", "kim", "--slot", "1")
    assert error(cli("reserve", "--user", "kim", "--slot", "999", "--json")) == (3, "slot_not_found")


@pytest.mark.one_backend
@pytest.mark.parametrize(
    "command", [["cancel", "-1"], ["show", "-1"], ["administer", "-7"], ["reschedule", "-1", "--slot", "2"]]
)
def test_a_negative_reservation_number_is_an_invalid_id(cli, command):
    result = cli(*command, "--json")
    assert error(result) == (2, "invalid_input")
    assert json.loads(result.stderr)["error"].startswith("reservation id must be a whole number from 1")


def test_deliver_with_a_limit_reports_what_is_still_due(cli, tmp_path):
    for n in range(4):
        cli.json("slot", "add", "--date", future(), "--hospital", f"H{n}", "--vaccine", "Janssen", "--quantity", "1")
    report = json.loads(cli("outbox", "deliver", "--to", str(tmp_path / "out.jsonl"), "--limit", "1", "--json").stdout)
    assert (report["delivered"], report["due"]) == (1, 3)
