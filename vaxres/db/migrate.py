"""Alembic, imported only when a store is created, behind the code, or asked about."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from vaxres.db.backup import backup_sqlite
from vaxres.db.store import Store


def migrations_dir() -> Path:
    """Inside a wheel the migrations ship as vaxres/_migrations; in the source tree they are top level."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "_migrations"
    return packaged if packaged.is_dir() else package.parent / "migrations"


def alembic_config(store: Store | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if store is not None:
        url = store.url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(store: Store, revision: str = "head") -> tuple[str | None, str, Path | None, list[str]]:
    """Upgrade in one write transaction; return (from, to, backup path, what the migrations noted
    about the data they changed)."""
    state = store.schema_state()
    before = state.current
    backup = None
    if store.is_sqlite and before is not None and state.behind:
        assert store.path is not None
        backup = backup_sqlite(store.path, before)
    config = alembic_config(store)
    with store.write() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    notes = list(config.attributes.get("notes", [])) if before is not None else []  # a new store has no history
    after = store.schema_state().current
    assert after is not None, "an upgraded store has a revision"
    return before, after, backup, notes


def downgrade(store: Store, revision: str) -> None:
    config = alembic_config(store)
    with store.write() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
