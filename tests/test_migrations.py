"""Migrations: empty -> head equals the models, head -> base works, and a wheel can migrate."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import vaxres.db.tables  # noqa: F401
from tests.helpers import future
from vaxres.db import migrate, revisions
from vaxres.db.opening import open_store
from vaxres.db.tables import metadata

ROOT = Path(__file__).resolve().parent.parent


def test_schema_revisions_match_the_migration_scripts():
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    chain = [rev.revision for rev in reversed(list(scripts.walk_revisions()))]
    assert tuple(chain) == revisions.REVISIONS
    assert scripts.get_current_head() == revisions.HEAD


@pytest.mark.usefixtures("backend")
def test_upgrade_from_empty_matches_the_models(db_path):
    store = open_store(str(db_path))
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_the_active_booking_index_is_partial_on_postgresql_too():
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex

    from vaxres.db.tables import ACTIVE_BOOKING_INDEX, add_postgresql_predicates, reservation_table

    add_postgresql_predicates()
    [index] = [i for i in reservation_table.indexes if i.name == ACTIVE_BOOKING_INDEX]
    ddl = str(CreateIndex(index).compile(dialect=postgresql.dialect()))
    assert ddl.endswith("(user_id, dose) WHERE status IN ('reserved', 'administered')")


def test_downgrade_to_base_and_up_again(db_path):
    store = open_store(str(db_path))
    migrate.downgrade(store, "base")
    with store.engine.connect() as conn:
        names = {
            row[0] for row in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        }
    assert names == {"alembic_version", "sqlite_sequence"}  # SQLite's own table of AUTOINCREMENT counters stays
    assert store.schema_state().current is None
    before, after, backup, notes = migrate.upgrade(store)
    assert (before, after, backup, notes) == (None, revisions.HEAD, None, [])


@pytest.mark.skipif(shutil.which("uv") is None, reason="building the wheel needs uv on PATH")
def test_a_wheel_install_creates_and_migrates_a_store(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(["uv", "build", "--wheel", "--out-dir", str(dist), str(ROOT)], check=True, capture_output=True)
    [wheel] = dist.glob("vaxres-*.whl")
    venv = tmp_path / "venv"
    subprocess.run(["uv", "venv", "--python", sys.executable, str(venv)], check=True, capture_output=True)
    subprocess.run(
        ["uv", "pip", "install", "--python", str(venv / "bin" / "python"), str(wheel)], check=True, capture_output=True
    )
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["VAXRES_DB"] = str(tmp_path / "wheel.db")
    vaxres_bin = str(venv / "bin" / "vaxres")
    run = lambda *args: subprocess.run([vaxres_bin, *args], capture_output=True, text=True, env=env, cwd=tmp_path)  # noqa: E731

    located = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import vaxres.db.migrate as m; print(m.migrations_dir())"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert "site-packages/vaxres/_migrations" in located.stdout
    upgraded = run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"from empty to {revisions.HEAD}" in upgraded.stdout
    added = run("slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Janssen", "--quantity", "1")
    assert added.returncode == 0, added.stderr
    assert run("db", "current").stdout == f"{revisions.HEAD} (head)\n"


@pytest.mark.usefixtures("backend")
def test_upgrading_a_store_with_slots_puts_their_vaccines_in_the_catalog_and_says_so(cli, db_path):
    """0003 → 0004: slots naming a catalog vaccine by an alias take its name (unless that would
    collide with a slot that has it), and any other vaccine joins the catalog with 1 dose."""
    from sqlalchemy import text

    store = open_store(str(db_path), migrate=False)
    if store.schema_state().current is None:
        migrate.upgrade(store, "0003")
    else:  # PostgreSQL: the backend fixture made it at head
        migrate.downgrade(store, "0003")
    day = future()
    rows = [
        (1, "Seoul", "화이자"),
        (2, "Busan", "COMIRNATY"),
        (3, "Daegu", "Sputnik"),
        (4, "Ulsan", "sputnik"),
        (5, "Jeju", "Pfizer"),
        (6, "Jeju", "화이자"),
        (7, "Ulsan", "PFIZER"),
        (8, "Mokpo", "pfizer"),
    ]
    with store.write() as conn:
        for slot_id, hospital, vaccine in rows:
            conn.execute(
                text(
                    "INSERT INTO slot (id, date, hospital, vaccine, hospital_key, vaccine_key, capacity, remaining, "
                    "created_at, updated_at) VALUES (:id, :date, :h, :v, :hk, :vk, 5, 5, :now, :now)"
                ),
                {
                    "id": slot_id,
                    "date": day,
                    "h": hospital,
                    "v": vaccine,
                    "hk": hospital.casefold(),
                    "vk": vaccine.casefold(),
                    "now": "2026-11-01 00:00:00+00:00",
                },
            )
        if conn.dialect.name == "postgresql":  # the ids above were given by hand
            conn.execute(text("SELECT setval(pg_get_serial_sequence('slot', 'id'), :n)"), {"n": len(rows)})
    store.dispose()
    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.stderr
    notes = upgraded.stdout.splitlines()[1:]
    assert sorted(notes) == sorted(
        [
            "  1 slot named '화이자' now names the catalog vaccine Pfizer",
            "  1 slot named '화이자' kept that name: a Pfizer slot exists on the same day at the same hospital; "
            "it books as a 1-dose vaccine until you move its bookings",
            "  1 slot named 'COMIRNATY' now names the catalog vaccine Pfizer",
            "  added vaccine Sputnik (used by slots; 1 dose: change it with `vaxres vaccine update`)",
            "  2 slots spelling Pfizer in another case now name it as the catalog does",
            "  the store's time zone is now Etc/UTC (this machine's); `vaxres db set-timezone ZONE` changes it",
        ]
    )
    names = {s["id"]: s["vaccine"] for s in cli.json("slot", "list")}
    assert names[1] == names[2] == names[5] == names[7] == names[8] == "Pfizer" and names[3] == names[4] == "Sputnik"
    assert names[6] == "화이자"  # Jeju already has a Pfizer slot that day: left as it was
    catalog = {v["name"]: v for v in cli.json("vaccine", "list")}
    assert catalog["Sputnik"]["doses"] == 1 and catalog["Pfizer"]["doses"] == 2
    assert cli.json("reserve", "--user", "kim", "--slot", "3")["vaccine"] == "Sputnik"
    cli.json("reserve", "--user", "lee", "--slot", "7")
    later = cli.json(
        "slot", "add", "--date", future(40), "--hospital", "Seoul", "--vaccine", "Pfizer", "--quantity", "1"
    )
    assert cli.json("reserve", "--user", "lee", "--slot", str(later["id"]), "--dose", "2")["dose"] == 2


@pytest.mark.usefixtures("backend")
def test_upgrading_to_0009_lists_the_hospitals_of_existing_slots(cli, db_path):
    """0008 → 0009: the hospital table starts with every hospital the slots name, so `slot list
    --hospital` finds the slots of an upgraded store (first spelling kept, case folded)."""
    from sqlalchemy import text

    store = open_store(str(db_path), migrate=False)
    if store.schema_state().current is None:
        migrate.upgrade(store, "0008")
    else:
        migrate.downgrade(store, "0008")
    with store.write() as conn:
        for n, hospital in enumerate(["서울대병원", "Seoul National", "SEOUL NATIONAL", "Busan"], start=1):
            conn.execute(
                text(
                    "INSERT INTO slot (date, hospital, vaccine, hospital_key, vaccine_key, capacity, remaining, "
                    "created_at, updated_at) VALUES (:date, :h, 'Pfizer', :hk, 'pfizer', 5, 5, :now, :now)"
                ),
                {"date": future(n), "h": hospital, "hk": hospital.casefold(), "now": "2026-11-01 00:00:00+00:00"},
            )
    store.dispose()
    assert cli("db", "upgrade").exit_code == 0
    assert sorted(s["hospital"] for s in cli.json("slot", "list", "--hospital", "seoul")) == [
        "SEOUL NATIONAL",
        "Seoul National",
    ]
    assert [s["hospital"] for s in cli.json("slot", "list", "--hospital", "서울")] == ["서울대병원"]
    assert cli("db", "upgrade", "--help").exit_code == 0


def test_upgrading_to_0012_registers_every_person_a_booking_or_the_waitlist_names(cli, db_path):
    """0011 → 0012: each id in a reservation or on the waitlist becomes a bare person, once."""
    cli("slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Janssen", "--quantity", "5")
    for user in ("kim", "lee", "kim2"):
        assert cli("reserve", "--user", user, "--slot", "1").exit_code == 0
    assert cli("cancel", "3").exit_code == 0
    assert cli("waitlist", "join", "--user", "park", "--vaccine", "Pfizer").exit_code == 0
    assert cli("waitlist", "join", "--user", "kim", "--vaccine", "Pfizer", "--dose", "2").exit_code in (0, 1)
    store = open_store(str(db_path), migrate=False)
    migrate.downgrade(store, "0011")
    store.dispose()
    assert cli("db", "upgrade").exit_code == 0
    people = {p["id"]: p for p in cli.json("person", "list")["people"]}
    assert sorted(people) == ["kim", "kim2", "lee", "park"]
    assert all(p["name"] is None and p["created_at"] for p in people.values())
