"""PostgreSQL specifics: explicit migrations, the lock wait, and moving a store with `db copy`."""

from tests.helpers import count_rows, future, invariant_violations, run_vaxres
from vaxres.access.tokens import find_token
from vaxres.db.columns import metadata
from vaxres.db.revisions import HEAD
from vaxres.db.store import Store


def test_a_postgres_store_is_never_migrated_implicitly(cli, empty_postgres):
    result = cli("--db", empty_postgres, "slot", "list")
    assert result.exit_code == 2
    assert result.stderr.endswith(f"is at schema revision none, the code needs {HEAD}: run `vaxres db upgrade`\n")
    assert cli("--db", empty_postgres, "db", "upgrade").exit_code == 0
    assert cli("--db", empty_postgres, "slot", "list", "--json").stdout == "[]\n"


def test_reserve_exits_75_while_another_session_holds_the_slot_table(cli, empty_postgres):
    from sqlalchemy import create_engine, text

    assert cli("--db", empty_postgres, "db", "upgrade").exit_code == 0
    cli.json(
        "--db",
        empty_postgres,
        "slot",
        "add",
        "--date",
        future(),
        "--hospital",
        "H",
        "--vaccine",
        "Janssen",
        "--quantity",
        "3",
    )
    engine = create_engine(empty_postgres)
    with engine.connect() as holder:
        holder.execute(text("LOCK TABLE slot IN ACCESS EXCLUSIVE MODE"))
        result = run_vaxres(
            "--db", empty_postgres, "reserve", "--user", "a", "--slot", "1", env={"VAXRES_BUSY_TIMEOUT": "1"}
        )
        holder.rollback()
    engine.dispose()
    assert result.returncode == 75, result.stderr
    assert result.stderr.startswith("Error: store busy, try again shortly")
    assert cli.json("--db", empty_postgres, "mypage", "a")["reservations"] == []


def test_copy_sqlite_to_postgres_and_back_answers_the_same(cli, tmp_path, empty_postgres):
    db_path = tmp_path / "vaxres.db"
    cli.json("demo")  # fills the SQLite store named by VAXRES_DB
    cli.json("outbox", "deliver", "--to", str(tmp_path / "sent.jsonl"), "--limit", "3")
    # A ward whose id comes before their guardian's, as the copy reads people (in id order).
    cli("person", "add", "zz-mother", "--name", "어머니", "--birth-date", "1980-01-01", "--group", "staff")
    cli("person", "add", "aa-child", "--birth-date", "2020-01-01", "--guardian", "zz-mother")
    refused = cli("db", "copy", empty_postgres)
    assert refused.exit_code == 2 and "run `vaxres db upgrade`" in refused.stderr
    assert cli("--db", empty_postgres, "db", "upgrade").exit_code == 0

    cli("db", "set-timezone", "Africa/Abidjan")  # UTC all year, as the demo's days expect, but not this machine's name
    cli(
        "window",
        "add",
        "18-49",
        "--vaccine",
        "Novavax",
        "--born-from",
        "1972-01-01",
        "--group",
        "의료진",
        "--opens",
        "2020-01-01 20:00",
    )
    token = cli("token", "add", "kiosk", "--role", "operator").stdout.strip().splitlines()[-1]
    copied = cli.json("db", "copy", empty_postgres)
    assert cli.json("--db", empty_postgres, "db", "info")["timezone"] == "Africa/Abidjan"
    tables = {table.name for table in metadata.sorted_tables}  # every table of the store
    assert copied["copied"] == {table: count_rows(db_path, table) for table in tables}
    assert copied["copied"]["api_token"] == 1
    copy = Store(empty_postgres)
    found = find_token(copy, token)  # the operator's token opens the API of the copy too
    copy.dispose()
    assert found is not None and (found.name, found.role) == ("kiosk", "operator")
    assert copied["copied"]["vaccine"] == 5 and copied["copied"]["delivery_target"] == 1
    for args in (
        ["mypage", "alice"],
        ["slot", "list"],
        ["outbox", "list"],
        ["vaccine", "list"],
        ["window", "list"],
        ["show", "1"],
        ["person", "list"],
        ["person", "show", "aa-child"],
        ["token", "list"],
    ):
        assert cli(*args).stdout == cli("--db", empty_postgres, *args).stdout
        assert cli.json(*args) == cli.json("--db", empty_postgres, *args)
    assert invariant_violations(empty_postgres) == []

    again = cli("db", "copy", empty_postgres)
    assert again.exit_code == 1
    assert "already holds data" in again.stderr

    # New rows continue the numbering after the copy; and the way back works too.
    booked = cli.json("--db", empty_postgres, "reserve", "--user", "zoe", "--slot", "1")
    assert booked["id"] == copied["copied"]["reservation"] + 1
    added = cli.json("--db", empty_postgres, "vaccine", "add", "Sputnik", "--doses", "1")
    assert added["name"] == "Sputnik"
    back = tmp_path / "back.db"
    assert cli.json("--db", empty_postgres, "db", "copy", str(back))["copied"]["reservation"] == booked["id"]
    assert cli.json("--db", str(back), "mypage", "zoe") == cli.json("--db", empty_postgres, "mypage", "zoe")
