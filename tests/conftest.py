import os
import shutil

import pytest

from tests.helpers import PG_ENV, Cli, postgres_database


def pytest_sessionfinish(session, exitstatus):
    """One style for every error a test made vaxres print (see tests/helpers.error_style_problem)."""
    from tests.helpers import ERRORS_SEEN, error_style_problem

    problems = [
        (test, message, problem) for message, test in ERRORS_SEEN.items() if (problem := error_style_problem(message))
    ]
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line(f"\n{len(problems)} error messages break the house style:", red=True)
        for test, message, problem in problems:
            reporter.write_line(f"  {problem}: {message!r}  ({test})")
        session.exitstatus = 1


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "no_store: VAXRES_DB names a file that does not exist yet (the default: an empty store there)"
    )
    config.addinivalue_line("markers", "real_database_clock: close-day reads PostgreSQL's own now()")
    config.addinivalue_line("markers", "slow: many real processes at once (deselect with -m 'not slow')")
    config.addinivalue_line(
        "markers",
        "one_backend: checks rendering, argument parsing or text, not SQL: its PostgreSQL copy is not generated",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    """A test marked one_backend, or one that needs sqlite_only, runs on SQLite alone: no
    PostgreSQL copy is generated (a copy would make a database only to skip or to
    repeat what SQLite shows). Whatever exercises SQL, locks, transactions, dates or ordering
    keeps both copies."""
    if "backend" in metafunc.fixturenames and (
        metafunc.definition.get_closest_marker("one_backend") is not None or "sqlite_only" in metafunc.fixturenames
    ):
        metafunc.definition.add_marker(pytest.mark.parametrize("backend", ["sqlite"], indirect=True))


@pytest.fixture
def shared_id_key(request, monkeypatch):
    """A PostgreSQL store needs VAXRES_ID_KEY (a SQLite one makes a key file)."""
    if "backend" in request.fixturenames and request.getfixturevalue("backend") == "postgresql":
        monkeypatch.setenv("VAXRES_ID_KEY", "a key for the tests that is long enough")


@pytest.fixture(params=["here", "worker"])
def both_readings(request, monkeypatch):
    """The first pass of `import persons` both ways: in the import's own process, and by the
    worker process a large file gets (vaxres/imports/reader.py), which must come to the same."""
    if request.param == "worker":
        from vaxres.imports import reader

        monkeypatch.setattr(reader, "WORKER_MIN_BYTES", 0)
    return request.param


@pytest.fixture(scope="session")
def empty_store_file(tmp_path_factory):
    """One migrated, empty SQLite store, copied for each test: migrating anew costs ~0.1 s a test."""
    from vaxres.db.opening import open_store

    path = tmp_path_factory.mktemp("template") / "vaxres.db"
    store = open_store(str(path))
    store.schema_state()
    store.dispose()
    return path


@pytest.fixture(autouse=True)
def record_start_day(monkeypatch):
    """Record the day each test begins on, read by helpers.start_day()."""
    import datetime as dt

    from tests import helpers

    monkeypatch.setattr(helpers, "_started_on", dt.date.today())


@pytest.fixture(autouse=True)
def isolated_state(tmp_path, monkeypatch, request, empty_store_file):
    """All state goes under tmp_path: VAXRES_DB redirects the store, XDG_DATA_HOME the default.
    The store there exists and is empty, as after `vaxres db upgrade`, unless the test is
    marked no_store (commands that read refuse a missing store; commands that write create it)."""
    if request.node.get_closest_marker("no_store") is None:
        shutil.copyfile(empty_store_file, tmp_path / "vaxres.db")
    monkeypatch.setenv("VAXRES_DB", str(tmp_path / "vaxres.db"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("VAXRES_BUSY_TIMEOUT", raising=False)
    monkeypatch.delenv("VAXRES_LANG", raising=False)
    monkeypatch.delenv("VAXRES_ACTOR", raising=False)


@pytest.fixture(scope="session")
def migrated_postgres():
    """One PostgreSQL database upgraded to head, made once: each test's store is a copy of it
    (CREATE DATABASE ... TEMPLATE, a third of the time of creating and upgrading one)."""
    with postgres_database() as url:
        from vaxres.admin.database import upgrade
        from vaxres.db.opening import open_store

        store = open_store(url, migrate=False)
        upgrade(store)
        store.dispose()  # a template must have no session open
        yield url.rsplit("/", 1)[1]


@pytest.fixture(params=["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"])
def backend(request, monkeypatch):
    """Run a test on SQLite, and also on a PostgreSQL database of its own when PG_ENV names a server
    (without it the [postgresql] copies are not generated at all)."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    with postgres_database(template=request.getfixturevalue("migrated_postgres")) as url:
        monkeypatch.setenv("VAXRES_DB", url)
        yield "postgresql"


@pytest.fixture(autouse=True)
def database_clock_follows_the_machine(monkeypatch, request):
    """Tests move this process's clock with time_machine, but PostgreSQL's now() stays put: close-day
    would refuse the moved machine's days as a clock disagreement (as it must in use). So the
    database's clock is read as this process's, unless a test is marked real_database_clock."""
    if request.node.get_closest_marker("real_database_clock") is not None:
        return
    import datetime as dt

    from vaxres.db import clock

    monkeypatch.setattr(
        clock, "database_now", lambda conn: dt.datetime.now(dt.UTC) if conn.dialect.name == "postgresql" else None
    )


@pytest.fixture
def empty_postgres():
    with postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_only():
    """The test checks something only SQLite files have: its PostgreSQL copy is not generated
    (pytest_generate_tests)."""


@pytest.fixture
def db_path(request, tmp_path):
    """The store under test: a Path for SQLite, the URL (a str) for PostgreSQL."""
    if "backend" in request.fixturenames and request.getfixturevalue("backend") == "postgresql":
        return os.environ["VAXRES_DB"]
    return tmp_path / "vaxres.db"


@pytest.fixture
def store(db_path):
    from vaxres.db.opening import open_store

    opened = open_store(str(db_path))
    yield opened
    opened.dispose()


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture
def api(store):
    """`vaxres serve`'s app over the test's store (tests/api_helpers.Api), a token per role."""
    from fastapi.testclient import TestClient

    from tests.api_helpers import Api
    from vaxres.access.tokens import add_token
    from vaxres.api.app import create_app

    tokens = {role: add_token(store, role, role=role).token for role in ("reader", "operator", "admin")}
    with TestClient(create_app(store), raise_server_exceptions=False) as client:
        yield Api(client, tokens)
