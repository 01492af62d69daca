"""PostgreSQL connection failures: exit 75 only when trying again can help (a cron job retries
it), exit 2 or 3 with the cause when it cannot; one line on stderr, and never the password.

The cases that need the server are skipped without VAXRES_TEST_POSTGRES_URL; a refused port, a
silent listener, a bad host name and bad URLs need no server. The server here trusts every
login from 127.0.0.1, so a wrong password cannot be produced against it: that case (and the
server's other refusals) is checked with psycopg's own exception carrying libpq's real message,
as a scram-sha-256 server answers it.
"""

import json
import os
import socket

import pytest

from tests.helpers import PG_ENV, run_vaxres

PASSWORD = "s3cr3t-pw"
NO_SERVER = f"postgresql+psycopg://kim:{PASSWORD}@127.0.0.1"


def server_url(**parts) -> str:
    server = os.environ.get(PG_ENV)
    if not server:
        pytest.skip(f"set {PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/postgres to run this on PostgreSQL")
    from sqlalchemy.engine import make_url

    return make_url(server).set(password=PASSWORD, **parts).render_as_string(hide_password=False)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_one_line_without_password(result, exit_code: int) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == exit_code, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in output
    assert PASSWORD not in output


def check(url: str, exit_code: int, code: str, message: str, *args: str) -> None:
    """The text line and the --json object, from real processes."""
    command = args or ("slot", "list")
    text = run_vaxres("--db", url, *command)
    assert_one_line_without_password(text, exit_code)
    assert text.stderr == f"Error: {message}\n"
    as_json = run_vaxres("--db", url, *command, "--json")
    assert_one_line_without_password(as_json, exit_code)
    assert json.loads(as_json.stderr) == {"error": message, "code": code}


@pytest.mark.parametrize("command", [["slot", "list"], ["db", "upgrade"], ["db", "current"]], ids=" ".join)
def test_a_database_that_does_not_exist_is_not_found(command):
    url = server_url(database="vaxres_no_such_db")
    check(
        url,
        3,
        "store_not_found",
        "the database vaxres_no_such_db does not exist on 127.0.0.1:5432; "
        "create it (createdb vaxres_no_such_db) or name another --db",
        *command,
    )


def test_a_role_that_does_not_exist_is_refused_for_good():
    check(
        server_url(username="vaxres_nobody"),
        2,
        "store_login_refused",
        'PostgreSQL on 127.0.0.1:5432 refused the login of vaxres_nobody: role "vaxres_nobody" does not exist; '
        "check the user and password (in --db, ~/.pgpass or PGPASSWORD) and the server's pg_hba.conf",
    )


def test_the_urls_options_reach_the_server_and_a_bad_one_is_invalid_input():
    url = server_url() + "?options=-c%20vaxres_nosuch%3D1"
    check(
        url,
        2,
        "invalid_input",
        "--db postgresql+psycopg://postgres:***@127.0.0.1:5432/postgres?options=-c+vaxres_nosuch%3D1 "
        'has a bad connection setting: unrecognized configuration parameter "vaxres_nosuch"',
    )


def test_a_port_nothing_listens_on_is_worth_retrying():
    port = closed_port()
    check(
        f"{NO_SERVER}:{port}/vaxres",
        75,
        "store_unavailable",
        f"PostgreSQL on 127.0.0.1:{port} is not available now (Connection refused); try again shortly",
    )


def test_a_server_that_never_answers_times_out_as_the_url_says():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts the connection; nothing ever answers
        port = silent.getsockname()[1]
        check(
            f"{NO_SERVER}:{port}/vaxres?connect_timeout=2",
            75,
            "store_unavailable",
            f"PostgreSQL on 127.0.0.1:{port} is not available now (connection timeout expired); try again shortly",
        )


def test_a_host_name_that_does_not_resolve_is_unusable():
    host = "no-such-host.invalid"
    try:
        socket.getaddrinfo(host, 5432)
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_AGAIN:
            pytest.skip("no name server answers here: that is the retryable case, not this one")
    result = run_vaxres("--db", f"postgresql+psycopg://kim:{PASSWORD}@{host}/vaxres", "slot", "list")
    assert_one_line_without_password(result, 2)
    assert result.stderr.startswith(f"Error: the host name {host} does not resolve (failed to resolve host")
    assert result.stderr.endswith("); check the host in --db\n")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            f"{NO_SERVER}:5432/vaxres?bogus=1",
            "--db postgresql+psycopg://kim:***@127.0.0.1:5432/vaxres?bogus=1 has a bad connection setting: "
            'invalid connection option "bogus"',
        ),
        (
            f"{NO_SERVER}:99999/vaxres",
            "--db postgresql+psycopg://kim:***@127.0.0.1:99999/vaxres has a bad connection setting: "
            'invalid port number: "99999"',
        ),
        (
            f"{NO_SERVER}:abc/vaxres",
            "--db 'postgresql+psycopg://kim:***@127.0.0.1:abc/vaxres' is neither a file path nor a database URL "
            "(invalid literal for int() with base 10: 'abc')",
        ),
        # libpq echoes a bad value: the password, wherever it appears, is never shown.
        (
            f"{NO_SERVER}:5432/vaxres?sslmode={PASSWORD}",
            "--db postgresql+psycopg://kim:***@127.0.0.1:5432/vaxres?sslmode=*** has a bad connection setting: "
            'invalid sslmode value: "***"',
        ),
        (
            f"postgresql+psycopg://kim@127.0.0.1:5432/vaxres?password={PASSWORD}&bogus=1",
            "--db postgresql+psycopg://kim@127.0.0.1:5432/vaxres?bogus=1&password=*** has a bad connection setting: "
            'invalid connection option "bogus"',
        ),
    ],
    ids=["unknown-option", "port-out-of-range", "port-not-a-number", "echoed-password", "password-in-query"],
)
def test_a_bad_url_is_invalid_input(url, message):
    check(url, 2, "invalid_input", message)


@pytest.mark.parametrize(
    "command",
    [
        ["db", "current"],
        ["db", "upgrade"],
        ["slot", "list"],
        ["reserve", "--user", "kim", "--slot", "1"],
        ["mypage", "kim"],
        ["vaccine", "list"],
        ["outbox", "deliver", "--to", "-"],
        ["import", "slots", "-"],
        ["demo"],
    ],
    ids=lambda command: "-".join(command[:2]),
)
def test_every_commands_first_connection_says_try_again(cli, command):
    port = closed_port()
    url = f"{NO_SERVER}:{port}/vaxres"
    result = cli("--db", url, *command, input="date,hospital,vaccine,quantity\n")
    assert result.exit_code == 75, result.output
    assert result.stderr == (
        f"Error: PostgreSQL on 127.0.0.1:{port} is not available now (Connection refused); try again shortly\n"
    )
    assert PASSWORD not in result.output


def test_db_copy_names_the_target_that_fails(cli, tmp_path):
    """The source (the SQLite store of VAXRES_DB) opens; the target cannot be reached."""
    port = closed_port()
    cli.json("slot", "list")
    result = cli("db", "copy", f"{NO_SERVER}:{port}/vaxres")
    assert result.exit_code == 75
    assert result.stderr == (
        f"Error: PostgreSQL on 127.0.0.1:{port} is not available now (Connection refused); try again shortly\n"
    )
    missing = cli("db", "copy", server_url(database="vaxres_no_such_db"), "--json")
    assert missing.exit_code == 3 and json.loads(missing.stderr)["code"] == "store_not_found"
    from_missing = cli("--db", server_url(database="vaxres_no_such_db"), "db", "copy", str(tmp_path / "copy.db"))
    assert from_missing.exit_code == 3 and "does not exist on 127.0.0.1:5432" in from_missing.stderr
    assert not (tmp_path / "copy.db").exists()
    assert PASSWORD not in missing.output + from_missing.output


def test_db_path_hides_a_password_given_as_a_query_parameter(cli):
    result = cli("--db", f"postgresql+psycopg://kim@db.internal/vaxres?password={PASSWORD}", "db", "path")
    assert result.stdout == "postgresql+psycopg://kim@db.internal/vaxres?password=***\n"


REFUSALS = {
    "wrong-password": (
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
        'FATAL:  password authentication failed for user "kim"',
        2,
        "store_login_refused",
        'refused the login of kim: password authentication failed for user "kim"; ',
    ),
    "no-password": (
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: fe_sendauth: no password supplied',
        2,
        "store_login_refused",
        "refused the login of kim: fe_sendauth: no password supplied; ",
    ),
    "pg_hba": (
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  no pg_hba.conf entry '
        'for host "127.0.0.1", user "kim", database "vaxres", no encryption',
        2,
        "store_login_refused",
        'refused the login of kim: no pg_hba.conf entry for host "127.0.0.1", ',
    ),
    "too-many-clients": (
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  sorry, too many clients already',
        75,
        "store_unavailable",
        "is not available now (sorry, too many clients already); try again shortly",
    ),
    "starting-up": (
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
        "FATAL:  the database system is starting up",
        75,
        "store_unavailable",
        "is not available now (the database system is starting up); try again shortly",
    ),
    "name-server-down": (
        "failed to resolve host 'db.internal': [Errno -3] Temporary failure in name resolution",
        75,
        "store_unavailable",
        "Temporary failure in name resolution); try again shortly",
    ),
    "several-addresses": (
        'connection failed: connection to server at "::1", port 5432 failed: FATAL:  password authentication failed '
        'for user "kim"\nMultiple connection attempts failed. All failures were:\n'
        "- host: 'localhost', port: '5432', hostaddr: '127.0.0.1': connection failed: connection to server at "
        '"127.0.0.1", port 5432 failed: Connection refused\n\tIs the server running on that host and accepting '
        "TCP/IP connections?\n- host: 'localhost', port: '5432', hostaddr: '::1': connection failed: connection to "
        'server at "::1", port 5432 failed: FATAL:  password authentication failed for user "kim"',
        2,
        "store_login_refused",
        'refused the login of kim: password authentication failed for user "kim"; ',
    ),
    "echoed-password": (
        f'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  password '
        f'authentication failed for user "kim" (password {PASSWORD})',
        2,
        "store_login_refused",
        "(password ***); ",
    ),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_the_servers_answers_at_login_are_classified(cli, monkeypatch, case):
    """psycopg raises OperationalError with libpq's text and no SQLSTATE for all of these."""
    import psycopg

    message, exit_code, code, part = REFUSALS[case]

    def refuse(*_args, **_kwargs):
        raise psycopg.OperationalError(message)

    monkeypatch.setattr(psycopg, "connect", refuse)
    result = cli("--db", f"{NO_SERVER}:5432/vaxres", "slot", "list", "--json")
    assert result.exit_code == exit_code
    error = json.loads(result.stderr)
    assert error["code"] == code and part in error["error"]
    assert "127.0.0.1:5432" in error["error"] and PASSWORD not in result.output


@pytest.mark.parametrize(
    ("error", "exit_code", "code", "start"),
    [
        ("InvalidPassword", 2, "store_login_refused", "PostgreSQL on db.internal:5433 refused the login of kim: "),
        ("InvalidCatalogName", 3, "store_not_found", "the database named in --db does not exist on db.internal:5433"),
        ("TooManyConnections", 75, "store_unavailable", "PostgreSQL on db.internal:5433 is not available now"),
    ],
)
def test_a_sqlstate_at_login_decides_when_there_is_one(cli, monkeypatch, error, exit_code, code, start):
    import psycopg.errors

    def refuse(*_args, **_kwargs):
        raise getattr(psycopg.errors, error)(f"the server's words, {PASSWORD}")

    monkeypatch.setattr(psycopg, "connect", refuse)
    result = cli("--db", f"postgresql+psycopg://kim:{PASSWORD}@db.internal:5433/vaxres", "slot", "list", "--json")
    assert result.exit_code == exit_code
    assert json.loads(result.stderr)["code"] == code
    assert json.loads(result.stderr)["error"].startswith(start) and PASSWORD not in result.output


@pytest.mark.parametrize(
    ("error", "exit_code", "code", "start"),
    [
        ("AdminShutdown", 75, "store_unavailable", "PostgreSQL on db.internal:5433 is not available now"),
        ("CannotConnectNow", 75, "store_unavailable", "PostgreSQL on db.internal:5433 is not available now"),
        ("LockNotAvailable", 75, "busy", "store busy, try again shortly"),
        ("SerializationFailure", 75, "busy", "store busy, try again shortly"),
        ("DeadlockDetected", 75, "busy", "store busy, try again shortly"),
        ("InsufficientPrivilege", 2, "store_unusable", "the PostgreSQL role kim on db.internal:5433 may not use"),
    ],
)
def test_a_sqlstate_in_a_session_decides(error, exit_code, code, start):
    """Mid-session failures carry a SQLSTATE: a lost server, a lock wait, a missing privilege."""
    import psycopg.errors
    from sqlalchemy import exc

    from vaxres.db.store import Store

    store = Store(f"postgresql+psycopg://kim:{PASSWORD}@db.internal:5433/vaxres")
    orig = getattr(psycopg.errors, error)(f"the server's words, {PASSWORD}")
    wrapper = exc.ProgrammingError if error == "InsufficientPrivilege" else exc.OperationalError
    # Through SQLAlchemy, and straight from psycopg as the import's COPY meets it.
    for raising in (wrapper("SELECT 1", {}, orig), orig):
        with pytest.raises(Exception) as raised, store._translate_busy():
            raise raising
        assert (raised.value.exit_code, raised.value.code) == (exit_code, code)
        assert raised.value.message.startswith(start) and PASSWORD not in raised.value.message


def test_a_constraint_violation_is_left_to_the_caller():
    import psycopg.errors
    from sqlalchemy import exc

    from vaxres.db.store import Store

    store = Store(f"postgresql+psycopg://kim:{PASSWORD}@db.internal/vaxres")
    with pytest.raises(exc.IntegrityError), store._translate_busy():
        raise exc.IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key value"))
    with pytest.raises(psycopg.errors.UniqueViolation), store._translate_busy():
        raise psycopg.errors.UniqueViolation("duplicate key value")
