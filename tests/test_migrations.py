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
from sqlmodel import SQLModel

import vaxres.db.tables  # noqa: F401
from tests.helpers import future
from vaxres.db import migrate, revisions
from vaxres.db.opening import open_store

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
        assert compare_metadata(context, SQLModel.metadata) == []


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
        names = {row[0] for row in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    assert names == {"alembic_version"}
    assert store.schema_state().current is None
    before, after, backup = migrate.upgrade(store)
    assert (before, after, backup) == (None, revisions.HEAD, None)


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
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert "site-packages/vaxres/_migrations" in located.stdout
    upgraded = run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"from empty to {revisions.HEAD}" in upgraded.stdout
    added = run("slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Janssen", "--quantity", "1")
    assert added.returncode == 0, added.stderr
    assert run("db", "current").stdout == f"{revisions.HEAD} (head)\n"
