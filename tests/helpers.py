"""Plain helpers shared by the tests: paths, dates, SQL on either backend, the CLI runners.

Fixtures live in tests/conftest.py; tests import these with `from tests.helpers import ...`.
"""

import contextlib
import datetime as dt
import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vaxres.cli import app

VAXRES = str(Path(sys.executable).with_name("vaxres"))

PG_ENV = "VAXRES_TEST_POSTGRES_URL"


_started_on: dt.date | None = None


def start_day() -> dt.date:
    """The day the running test began on (recorded by conftest's autouse fixture), not the day the
    module was imported: a run that crosses midnight would otherwise mix two days in one test."""
    return _started_on or dt.date.today()


def future(days: int = 7) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def years_ago(years: int) -> str:
    """A birth date `years` years before today (the 28th at most, so every year has it)."""
    today = dt.date.today()
    return today.replace(year=today.year - years, day=min(today.day, 28)).isoformat()


@contextlib.contextmanager
def postgres_database(template: str | None = None):
    """A new PostgreSQL database of the test's own (empty, or a copy of `template`), dropped
    afterwards."""
    server = os.environ.get(PG_ENV)
    if not server:
        pytest.skip(f"set {PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/postgres to run this on PostgreSQL")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"vaxres_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def query(db, sql: str, params: dict | None = None) -> list[tuple]:
    """Run SQL on the store under test, either backend; rows as tuples."""
    if isinstance(db, Path):
        with sqlite3.connect(db) as conn:
            return [tuple(row) for row in conn.execute(sql, params or {}).fetchall()]
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(db, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params or {})
            return [tuple(row) for row in result.fetchall()] if result.returns_rows else []
    finally:
        engine.dispose()


def records(db, sql: str) -> list[dict]:
    if isinstance(db, Path):
        with sqlite3.connect(db) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql)]
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(db, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def snapshot(db) -> dict:
    return {t: query(db, f"SELECT * FROM {t} ORDER BY id") for t in ("slot", "reservation", "outbox")}


# Every error line any test made vaxres print: conftest checks their style when the session ends.
ERRORS_SEEN: dict[str, str] = {}
# Ordinary words that would start a message capitalised ("There is no ..."): errors read as one
# style, "Error: there is no slot 42; see ...", lower case and without a final period.
_WORDS = {
    "a",
    "an",
    "another",
    "cannot",
    "copy",
    "could",
    "error",
    "give",
    "invalid",
    "it",
    "line",
    "missing",
    "no",
    "not",
    "nothing",
    "please",
    "store",
    "that",
    "the",
    "there",
    "this",
    "unknown",
}


def note_errors(stderr: str, test: str) -> None:
    for line in stderr.splitlines():
        if line.startswith("Error: "):
            ERRORS_SEEN.setdefault(line[len("Error: ") :], test)
        elif line.startswith('{"error": '):
            try:
                ERRORS_SEEN.setdefault(json.loads(line)["error"], test)
            except (ValueError, KeyError, TypeError):
                pass


def error_style_problem(message: str) -> str | None:
    first = message.split(" ", 1)[0]
    if first[:1].isupper() and first[1:].islower() and first.lower() in _WORDS:
        return "starts with a capital letter"
    if message.endswith(".") and not message.endswith("..."):
        return "ends with a period"
    if re.search(r"[a-z]\. [A-Z][a-z]+ ", message):
        return "has a second sentence (join clauses with '; ')"
    if not message.strip() or message != message.strip():
        return "is empty or has spaces around it"
    return None


class Cli:
    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        result = self.runner.invoke(app, list(args), input=input, prog_name="vaxres")
        note_errors(result.stderr, os.environ.get("PYTEST_CURRENT_TEST", ""))
        return result

    def json(self, *args: str):
        result = self(*args, "--json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)


def run_vaxres(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [VAXRES, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    note_errors(result.stderr, os.environ.get("PYTEST_CURRENT_TEST", ""))
    return result


def invariant_violations(db) -> list[tuple]:
    """Slots where capacity != remaining + the reservations that took a dose of it (reserved,
    administered or no-show), or remaining < 0: empty when the store is sound."""
    return query(
        db,
        """
        SELECT s.id, s.capacity, s.remaining, COUNT(r.id)
        FROM slot s LEFT JOIN reservation r
          ON r.slot_id = s.id AND r.status IN ('reserved', 'administered', 'no_show')
        GROUP BY s.id, s.capacity, s.remaining
        HAVING s.capacity != s.remaining + COUNT(r.id) OR s.remaining < 0
        """,
    )


def count_rows(db, table: str, where: str = "1=1") -> int:
    return query(db, f"SELECT COUNT(*) FROM {table} WHERE {where}")[0][0]


@contextlib.contextmanager
def mounted_tmpfs(folder: Path, size: str, *, otherwise: str = ""):
    """A real tmpfs of `size` on `folder`, unmounted afterwards; the test is skipped when not root
    or when mounting is not allowed here (`otherwise` says what covers the case then)."""
    folder.mkdir(exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip(f"mounting a tmpfs needs root{otherwise}")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)
