"""How the store file is created, configured and upgraded on open."""

import os
import sqlite3
import stat

import pytest

from tests.helpers import count_rows, future
from vaxres.booking import reservations, slots
from vaxres.db import migrate, revisions
from vaxres.db.opening import open_store
from vaxres.errors import StoreUnusable


@pytest.mark.no_store
def test_a_new_store_is_private_wal_and_migrated(db_path):
    store = open_store(str(db_path))
    assert not db_path.exists()  # made on first use: a command that refuses its input leaves nothing
    assert store.schema_state().current == revisions.HEAD
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    assert store.schema_state().current == revisions.HEAD
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


def test_busy_timeout_comes_from_the_environment(db_path, monkeypatch):
    monkeypatch.setenv("VAXRES_BUSY_TIMEOUT", "2.5")
    store = open_store(str(db_path))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500


def test_a_store_behind_the_code_is_backed_up_then_upgraded_on_open(db_path):
    store = open_store(str(db_path))
    slot = slots.add_slot(store, date=future(), hospital="H", vaccine="Janssen", quantity=2)
    reservations.reserve(store, user="a", slot_id=slot.id)
    migrate.downgrade(store, "0001")
    store.dispose()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)

    reopened = open_store(str(db_path))
    assert reopened.schema_state().current == revisions.HEAD
    backups = list(db_path.parent.glob("vaxres.db.0001.*.bak"))
    assert len(backups) == 1
    assert stat.S_IMODE(os.stat(backups[0]).st_mode) == 0o600
    with sqlite3.connect(backups[0]) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
        assert conn.execute("SELECT COUNT(*) FROM reservation").fetchone() == (1,)
    assert count_rows(db_path, "reservation_view") == 1


def test_a_store_from_a_newer_vaxres_is_refused(db_path):
    open_store(str(db_path)).dispose()
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreUnusable, match="schema revision 9999, which this vaxres does not know"):
        open_store(str(db_path))


def test_no_tables_are_created_for_read_only_db_commands(tmp_path):
    from vaxres.errors import StoreNotFound

    with pytest.raises(StoreNotFound):
        open_store(str(tmp_path / "absent.db"), create=False)
    assert not (tmp_path / "absent.db").exists()
