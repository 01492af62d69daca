import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vaxres.cli import app

VAXRES = str(Path(sys.executable).with_name("vaxres"))


def future(days: int = 7) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


@pytest.fixture(autouse=True)
def isolated_state(tmp_path, monkeypatch):
    """All state goes under tmp_path: VAXRES_DB redirects the store, XDG_DATA_HOME the default."""
    monkeypatch.setenv("VAXRES_DB", str(tmp_path / "vaxres.db"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("VAXRES_BUSY_TIMEOUT", raising=False)


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "vaxres.db"


@pytest.fixture
def store(db_path):
    from vaxres.store import open_store

    opened = open_store(str(db_path))
    yield opened
    opened.dispose()


class Cli:
    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        return self.runner.invoke(app, list(args), input=input, prog_name="vaxres")

    def json(self, *args: str):
        result = self(*args, "--json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cli() -> Cli:
    return Cli()


def run_vaxres(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [VAXRES, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def invariant_violations(db_path: Path) -> list[tuple]:
    """Slots where capacity != remaining + active reservations (empty when the store is sound)."""
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            """
            SELECT s.id, s.capacity, s.remaining, COUNT(r.id)
            FROM slot s LEFT JOIN reservation r ON r.slot_id = s.id AND r.status = 'reserved'
            GROUP BY s.id
            HAVING s.capacity != s.remaining + COUNT(r.id)
            """
        ).fetchall()


def count_rows(db_path: Path, table: str, where: str = "1=1") -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}").fetchone()[0]
