"""Numbers that users and receivers see never come back (issue 26): a message's number is its
webhook-id, a waitlist entry's number is what `waitlist leave` and the audit log name. Pruning
every message, or every entry leaving, must not hand an old number to a new row; nor must an
upgrade from revision 0010 or a `db copy` into a new store."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import text

from tests.helpers import future, query
from vaxres.db import migrate, revisions
from vaxres.db.opening import open_store

pytestmark = pytest.mark.usefixtures("backend")


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


def add_slot(cli, days: int = 9) -> int:
    return cli.json(
        "slot", "add", "--date", future(days), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "1"
    )["id"]


def message_ids(db) -> list[int]:
    return [row[0] for row in query(db, "SELECT id FROM outbox ORDER BY id")]


def delivered_ids(path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def prune_everything(cli, tmp_path, time_machine) -> None:
    ok(cli("outbox", "deliver", "--to", str(tmp_path / "sent.jsonl")))
    time_machine.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    ok(cli("outbox", "prune", "--before", dt.date.today().isoformat()))


def test_a_new_message_never_gets_the_webhook_id_of_a_pruned_one(cli, db_path, tmp_path, time_machine):
    for days in (9, 10, 11):
        add_slot(cli, days)
    prune_everything(cli, tmp_path, time_machine)
    assert message_ids(db_path) == []
    add_slot(cli, 12)
    ok(cli("outbox", "deliver", "--to", str(tmp_path / "sent.jsonl")))
    sent = delivered_ids(tmp_path / "sent.jsonl")
    assert len(sent) == 4 and len(set(sent)) == 4, sent
    assert message_ids(db_path) == [4]


def test_a_stale_waitlist_leave_never_removes_a_strangers_entry(cli, db_path):
    first = cli.json("waitlist", "join", "--user", "kim", "--vaccine", "Moderna")["waiting"]["id"]
    ok(cli("waitlist", "leave", str(first)))
    second = cli.json("waitlist", "join", "--user", "lee", "--vaccine", "Moderna")["waiting"]["id"]
    assert second > first
    stale = cli("waitlist", "leave", str(first))
    assert (stale.exit_code, stale.stderr) == (
        3,
        f"Error: there is no waitlist entry {first}; see `vaxres waitlist list`\n",
    )
    assert [(entry["id"], entry["user"]) for entry in cli.json("waitlist", "list")] == [(second, "lee")]
    entries = [
        (e["event"], e["about"]["id"], e["recipient"]) for e in cli.json("log") if e["event"].startswith("Waitlist")
    ]
    assert entries == [
        ("WaitlistJoined", first, "kim"),
        ("WaitlistLeft", first, "kim"),
        ("WaitlistJoined", second, "lee"),
    ]


@pytest.mark.usefixtures("sqlite_only")
def test_an_upgrade_from_0010_starts_the_counters_above_every_number_still_known(cli, db_path, tmp_path, time_machine):
    """A store that pruned and emptied its waitlist before 0011: the outbox counter starts above
    its highest message, the waitlist's above the highest entry its messages name."""
    add_slot(cli, 9)
    kim = cli.json("waitlist", "join", "--user", "kim", "--vaccine", "Moderna")["waiting"]["id"]
    lee = cli.json("waitlist", "join", "--user", "lee", "--vaccine", "Moderna")["waiting"]["id"]
    ok(cli("waitlist", "leave", str(kim)))
    ok(cli("waitlist", "leave", str(lee)))  # the last message names the highest entry
    highest_message = message_ids(db_path)[-1]
    query(db_path, f"DELETE FROM outbox WHERE id < {highest_message}")  # as a prune would
    store = open_store(str(db_path))
    migrate.downgrade(store, "0010")  # the old tables: max(id) + 1, from an empty waitlist
    store.dispose()
    assert query(db_path, "SELECT COUNT(*) FROM waitlist") == [(0,)]

    upgraded = ok(cli("db", "upgrade"))
    assert f"from 0010 to {revisions.HEAD}" in upgraded.stdout
    assert cli.json("waitlist", "join", "--user", "park", "--vaccine", "Moderna")["waiting"]["id"] == lee + 1
    prune_everything(cli, tmp_path, time_machine)
    add_slot(cli, 12)
    assert message_ids(db_path) == [highest_message + 2]  # park's WaitlistJoined took highest + 1


def test_db_copy_keeps_the_counters_of_the_store_it_copies(
    cli, db_path, tmp_path, time_machine, empty_postgres, backend
):
    """SQLite to PostgreSQL, or PostgreSQL to SQLite: the new store goes on numbering where the old one
    stopped, even when the rows with the highest numbers are gone."""
    entry = cli.json("waitlist", "join", "--user", "kim", "--vaccine", "Moderna")["waiting"]["id"]
    ok(cli("waitlist", "leave", str(entry)))
    add_slot(cli, 9)
    highest_message = message_ids(db_path)[-1]
    prune_everything(cli, tmp_path, time_machine)
    assert message_ids(db_path) == []
    target = empty_postgres if backend == "sqlite" else str(tmp_path / "copy.db")
    if backend == "sqlite":
        ok(cli("--db", target, "db", "upgrade"))
    ok(cli("db", "copy", target))

    copied = open_store(target)
    with copied.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM waitlist")).scalar() == 0
    copied.dispose()
    assert (
        cli.json("--db", target, "waitlist", "join", "--user", "lee", "--vaccine", "Moderna")["waiting"]["id"]
        == entry + 1
    )
    assert message_ids(target if backend == "sqlite" else tmp_path / "copy.db") == [highest_message + 1]


def test_slots_reservations_and_vaccines_are_never_deleted():
    """Their numbers cannot come back only because no row of them ever goes (0011 gives AUTOINCREMENT
    to the tables that do lose rows): `db copy`, which clears a new store's default catalog, is the one
    exception. A change that deletes them must give them AUTOINCREMENT too."""
    from pathlib import Path

    import vaxres

    pattern = re.compile(r"delete\((slot|reservation|vaccine)_table|DELETE FROM (slot|reservation|vaccine)\b", re.I)
    package = Path(vaxres.__file__).parent
    deleting = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    )
    assert deleting == ["admin/copy.py"]
