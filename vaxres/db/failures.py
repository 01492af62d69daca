"""What a PostgreSQL failure means for whoever runs vaxres, above all a cron job: exit 75 only
when trying again can help (the server is down, full or busy), exit 2 or 3 with the cause when
it cannot (a wrong password, a missing database, a typo in the URL).

psycopg reports a failed connection with no SQLSTATE and libpq's message, so the SQLSTATE is
used when there is one and the message otherwise. No password ever reaches a message.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from sqlalchemy.engine import URL

from vaxres.errors import (
    InvalidInput,
    StoreBusy,
    StoreLoginRefused,
    StoreNotFound,
    StoreUnavailable,
    StoreUnusable,
    Unavailable,
    VaxresError,
)
from vaxres.settings import hide_password

BUSY_SQLSTATES = ("55P03", "40001", "40P01")  # lock timeout, serialization failure, deadlock

_MISSING_DATABASE = re.compile(r'database "(?P<name>[^"]*)" does not exist')
_LOGIN_REFUSED = re.compile(
    r'password authentication failed|role "[^"]*" does not exist|no pg_hba\.conf entry|pg_hba\.conf rejects'
    r"|authentication failed for user|no password supplied|is not permitted to log in"
    r"|permission denied for database|password is required"
)
_NO_SUCH_HOST = re.compile(r"could not translate host name|failed to resolve host")
_NAME_LOOKUP_LATER = re.compile(r"Temporary failure in name resolution")
_BAD_SETTING = re.compile(
    r'^(invalid (?!response)|missing "=" after|unterminated quoted string|bad value for|unrecognized )'
)
_WRONG_SETUP = re.compile(r"does not support SSL|certificate|sslmode value .* invalid when SSL support")
_TRY_AGAIN = re.compile(
    r"Connection refused|timeout expired|timed out|too many (connections|clients)|starting up|shutting down"
    r"|in recovery mode|not yet accepting connections|not accepting connections|closed the connection"
    r"|Network is unreachable|No route to host|Connection reset|terminating connection"
    r"|could not (receive|send) data|SSL SYSCALL error|server conn crashed|the connection is (closed|lost)",
    re.IGNORECASE,
)
_CAUSE_PREFIX = re.compile(
    r'^(?:connection (?:failed|is bad): )?(?:connection to server (?:at "[^"]*"(?: \([^)]*\))?, port \d+'
    r'|on socket "[^"]*") failed: )?(?:FATAL: +|ERROR: +)?'
)


@dataclass(frozen=True)
class Target:
    """Where vaxres tried to connect, as it may be shown, and the secrets that must never be."""

    display: str
    server: str
    host: str
    user: str
    secrets: tuple[str, ...]

    @classmethod
    def of(cls, url: URL) -> Target:
        host = _one(url.host or url.query.get("host") or os.environ.get("PGHOST"))
        port = _one(url.port or url.query.get("port") or os.environ.get("PGPORT") or 5432)
        user = _one(url.username or url.query.get("user") or os.environ.get("PGUSER")) or getpass.getuser()
        given = [
            str(secret)
            for secret in (url.password, *_many(url.query.get("password")), os.environ.get("PGPASSWORD"))
            if secret
        ]
        secrets = {form for secret in given for form in (secret, quote(secret, safe=""), quote_plus(secret))}
        return cls(
            display=hide_password(url.render_as_string(hide_password=True)),
            server=f"{host}:{port}" if host else f"the local server (port {port})",
            host=host or "localhost",
            user=user,
            secrets=tuple(sorted(secrets, key=len, reverse=True)),
        )

    def scrub(self, text: str) -> str:
        """libpq may echo parts of the connection settings; the password is taken out of any text."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def translate(exc: Exception, target: Target, *, timeout: float, connecting: bool) -> VaxresError | None:
    """The named error for a driver error, or None for one that is the caller's to name (a
    constraint violation) or a bug. Every failure to connect is translated; in a transaction,
    the lock waits, a lost server and missing privileges are."""
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None) or ""
    text = str(orig)
    operational = _is_operational(exc)
    error = _connecting(text, sqlstate, target) if connecting else None
    if error is None and (connecting or operational or sqlstate == "42501"):
        error = _in_session(text, sqlstate, target, timeout)
    if error is None and (connecting or operational):
        error = Unavailable(f"the store {target.display} cannot be used: {_one_line(text)}")
    if error is None:
        return None
    error.message = target.scrub(error.message)
    error.args = (error.message,)
    return error


def _connecting(text: str, sqlstate: str, target: Target) -> VaxresError | None:
    """What only a new connection meets: the wrong database, user, host or setting."""
    causes = _causes(text)
    missing = _MISSING_DATABASE.search(text)
    if sqlstate == "3D000" or missing:
        name = missing.group("name") if missing else "named in --db"
        return StoreNotFound(
            f"the database {name} does not exist on {target.server}; create it (createdb {name}) or name another --db"
        )
    if sqlstate.startswith("28") or _LOGIN_REFUSED.search(text):
        return StoreLoginRefused(
            f"PostgreSQL on {target.server} refused the login of {target.user}: "
            f"{_first(causes, _LOGIN_REFUSED)}; check the user and password (in --db, ~/.pgpass or PGPASSWORD) "
            f"and the server's pg_hba.conf"
        )
    if _NO_SUCH_HOST.search(text) and not _NAME_LOOKUP_LATER.search(text):
        return StoreUnusable(
            f"the host name {target.host} does not resolve ({_first(causes, _NO_SUCH_HOST)}); check the host in --db"
        )
    bad = [cause for cause in causes if _BAD_SETTING.search(cause)]
    if bad:
        return InvalidInput(f"--db {target.display} has a bad connection setting: {bad[0]}")
    if _WRONG_SETUP.search(text):
        return StoreUnusable(
            f"cannot connect to PostgreSQL on {target.server}: {_first(causes, _WRONG_SETUP)}; "
            f"check the connection settings in --db (sslmode, certificates)"
        )
    return None


def _in_session(text: str, sqlstate: str, target: Target, timeout: float) -> VaxresError | None:
    """What any statement may meet: a lock not obtained, a server gone or full, a privilege missing."""
    if sqlstate in BUSY_SQLSTATES:
        return StoreBusy(
            f"store busy, try again shortly: another vaxres held the write lock for more than "
            f"{timeout:g} s, and nothing was written (VAXRES_BUSY_TIMEOUT sets the wait)"
        )
    if sqlstate == "42501":
        return StoreUnusable(
            f"the PostgreSQL role {target.user} on {target.server} may not use the store: {_first(_causes(text))}; "
            f"grant it the privileges on the vaxres tables"
        )
    if sqlstate[:2] in ("08", "53", "57") or _TRY_AGAIN.search(text) or _NO_SUCH_HOST.search(text):
        return StoreUnavailable(
            f"PostgreSQL on {target.server} is not available now ({_first(_causes(text))}); try again shortly"
        )
    return None


def _is_operational(exc: Exception) -> bool:
    """SQLAlchemy's wrapper or the driver's own error (DB-API names): the connection or server failed."""
    return any(kind.__name__ in ("OperationalError", "InterfaceError") for kind in type(exc).__mro__)


def _causes(text: str) -> list[str]:
    """libpq's reasons, one per attempt, without the 'connection to server at ... failed:' and
    'FATAL:' prefixes, the hints on their own lines, or psycopg's list of every attempt."""
    causes: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("Is the server running", "Multiple connection attempts")):
            continue
        line = re.sub(r"^- host: .*?, port: .*?, hostaddr: .*?: ", "", line)
        cause = _CAUSE_PREFIX.sub("", line).strip()
        if cause and cause not in causes:
            causes.append(cause)
    return causes


def _first(causes: list[str], pattern: re.Pattern | None = None) -> str:
    matching = [cause for cause in causes if pattern is None or pattern.search(cause)]
    return (matching or causes or ["no reason given"])[0]


def _one_line(text: str) -> str:
    return "; ".join(_causes(text)) or text.strip()


def _one(value: object) -> str | None:
    """One query value: a host or port given twice (several hosts) is shown as libpq lists them."""
    if value is None or value == "":
        return None
    return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def _many(value: object) -> tuple:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)
