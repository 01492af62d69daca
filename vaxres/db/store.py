"""The Store: an engine from a URL, SQLite set up for safe concurrent writes, and connections and
transactions that translate the driver's failures into named errors (lock timeouts into
StoreBusy; PostgreSQL's in vaxres.db.failures). Which store to open, and when to create or
upgrade it, is decided in vaxres.db.opening.

Every write transaction on SQLite begins with BEGIN IMMEDIATE: a deferred transaction that reads
and then writes can fail with SQLITE_BUSY that no timeout cures.
"""

from __future__ import annotations

import copy
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, exists, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError, OperationalError

from vaxres.db import revisions
from vaxres.db.failures import BUSY_SQLSTATES, Target, translate
from vaxres.errors import InvalidInput, StoreBusy, StoreUnusable, Unavailable
from vaxres.settings import busy_timeout, hide_password
from vaxres.validate import parse_actor

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

_BEGIN_MODE = "vaxres_begin"
# Who makes the changes of a transaction: vaxres.outbox.events writes it into every message.
ACTOR_OPTION = "vaxres_actor"


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def behind(self) -> bool:
        return self.current != self.head


class Store:
    def __init__(self, url: str, *, timeout: float | None = None, actor: str | None = None, pool: int | None = None):
        try:
            self.url = make_url(url)
        except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
            shown = hide_password(url)
            detail = f" ({exc})" if not isinstance(exc, ArgumentError) else ""
            raise InvalidInput(f"--db {shown!r} is neither a file path nor a database URL{detail}") from None
        self.timeout = busy_timeout() if timeout is None else timeout
        self.upgrade_notes: list[str] = []  # what an upgrade on opening changed in the data, for the user
        self.created = False  # made by this opening: the CLI says so once
        self._zone: ZoneInfo | None = None
        self._actor: str | None = None if actor is None else parse_actor(actor)
        self._first_use: Callable[[], None] | None = None
        self._held: Connection | None = None
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.path = Path(self.url.database) if self.is_sqlite and self.url.database else None
        connect_args: dict = {"timeout": self.timeout} if self.is_sqlite else {}
        if self.url.get_backend_name() == "postgresql":
            connect_args = _postgres_connect_args(self.url, self.timeout)
        try:
            sized = {} if pool is None else {"pool_size": pool}  # connections kept open (`vaxres serve`)
            self.engine = create_engine(self.url, connect_args=connect_args, **sized)
        except ImportError as exc:
            hint = " (pip install 'vaxres[postgres]')" if self.url.get_backend_name() == "postgresql" else ""
            raise InvalidInput(
                f"--db {self.display} needs the database driver {exc.name!r}, which is not installed{hint}"
            ) from None
        except ArgumentError as exc:
            raise InvalidInput(f"--db {self.display} is not a database vaxres can use: {exc}") from None
        self.target = Target.of(self.url) if self.url.get_backend_name() == "postgresql" else None
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_on_connect)
            event.listen(self.engine, "begin", _sqlite_on_begin)

    def __repr__(self) -> str:
        return f"Store({self.display})"

    @property
    def display(self) -> str:
        return str(self.path) if self.path else hide_password(self.url.render_as_string(hide_password=True))

    def write(self) -> AbstractContextManager[Connection]:
        """One write transaction: committed when the block ends, rolled back on any error."""
        return self._begin(write=True)

    def read(self) -> AbstractContextManager[Connection]:
        return self._begin(write=False)

    @contextmanager
    def _begin(self, *, write: bool) -> Iterator[Connection]:
        if self._held is not None:  # a unit of work's transaction (see unit_of_work())
            yield self._held
            return
        with self.connect() as conn, self.transaction(conn, write=write):
            yield conn

    def acting(self, actor: str) -> Store:
        """This store (its engine, its pool) making its changes as `actor`: one per API request."""
        other = copy.copy(self)
        other._actor = parse_actor(actor)
        return other

    @contextmanager
    def unit_of_work(self) -> Iterator[tuple[Store, Connection]]:
        """One write transaction a use case joins instead of making its own: the caller's writes in
        `conn` (the API's answer kept for an Idempotency-Key) commit or roll back with the use case's."""
        with self.write() as conn:
            joined = copy.copy(self)
            joined._held = conn
            yield joined, conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection held across several transactions (the CSV import keeps its staging on it)."""
        if self._first_use is not None:
            prepare, self._first_use = self._first_use, None
            prepare()
        with self._translate_busy():
            try:
                conn = self.engine.connect()
            except DBAPIError as exc:
                raise self._translated(exc, connecting=True) or exc from None
            with conn:
                yield conn

    def before_first_use(self, prepare: Callable[[], None]) -> None:
        """Run `prepare` (create the file) when the store is first connected to, not before."""
        self._first_use = prepare

    @property
    def actor(self) -> str:
        """Who makes this store's changes: given when it is opened (the CLI's --actor, VAXRES_ACTOR
        or login name); else VAXRES_ACTOR or the process's login name, read at the first
        transaction. Every transaction carries it to the outbox writer."""
        if self._actor is None:
            from vaxres.settings import chosen_actor

            self._actor = chosen_actor(None)
        return self._actor

    @contextmanager
    def transaction(self, conn: Connection, *, write: bool) -> Iterator[Connection]:
        conn.execution_options(**{_BEGIN_MODE: "IMMEDIATE" if write else "DEFERRED", ACTOR_OPTION: self.actor})
        with self._translate_busy(), conn.begin():
            yield conn

    @contextmanager
    def _translate_busy(self) -> Iterator[None]:
        try:
            yield
        except DBAPIError as exc:
            # Constraint violations and the like are the caller's to name; only the store's own
            # state is translated here.
            translated = self._translated(exc, connecting=False)
            if translated is None:
                raise
            raise translated from None
        except Exception as exc:
            # The import's COPY speaks to psycopg directly: its errors are the driver's own.
            if self.target is None or not isinstance(exc, self.engine.dialect.loaded_dbapi.Error):
                raise
            translated = translate(exc, self.target, timeout=self.timeout, connecting=False)
            if translated is None:
                raise
            raise translated from None

    def _translated(self, exc: DBAPIError, *, connecting: bool) -> Exception | None:
        if self.target is not None:
            return translate(exc, self.target, timeout=self.timeout, connecting=connecting)
        if not isinstance(exc, DatabaseError) or (
            type(exc) is not DatabaseError and not isinstance(exc, OperationalError)
        ):
            return None
        if isinstance(exc, OperationalError) and is_busy_error(exc):
            return StoreBusy(
                f"store busy, try again shortly: another vaxres held the write lock for more than "
                f"{self.timeout:g} s, and nothing was written (VAXRES_BUSY_TIMEOUT sets the wait)"
            )
        return self._cannot_use(exc)

    def _cannot_use(self, exc: DatabaseError) -> Exception:
        """A store that will not work by trying again is exit 2, with what to do; others 75."""
        cause = str(exc.orig)
        if self.is_sqlite and any(text in cause for text in ("not a database", "malformed", "corrupt")):
            return StoreUnusable(
                f"{self.display} is not a usable SQLite store ({cause}); check it with "
                f"`sqlite3 {self.display} 'PRAGMA integrity_check'`, or restore a backup"
            )
        if self.is_sqlite and any(text in cause for text in ("readonly", "read-only", "unable to open")):
            return StoreUnusable(
                f"{self.display} cannot be opened for writing ({cause}); check the permissions of the file "
                f"and of its folder (SQLite writes a -wal and a -shm file beside it)"
            )
        return Unavailable(f"the store {self.display} cannot be used: {cause}")

    def schema_state(self) -> SchemaState:
        """Read the schema version without Alembic; raise StoreUnusable for a foreign database."""
        with self.read() as conn:
            tables = set(_table_names(conn, self.is_sqlite))
            if "alembic_version" not in tables:
                if tables - {"sqlite_sequence"}:
                    raise StoreUnusable(
                        f"{self.display} holds tables but is not a vaxres store; "
                        f"name another file with --db or VAXRES_DB"
                    )
                return SchemaState(None, revisions.HEAD)
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if current is not None and current not in revisions.REVISIONS:
            raise StoreUnusable(
                f"{self.display} is at schema revision {current}, which this vaxres does not know; "
                f"it was written by a newer vaxres: upgrade vaxres"
            )
        return SchemaState(current, revisions.HEAD)

    @property
    def zone(self) -> ZoneInfo:
        """The store's time zone (a ZoneInfo), read once per Store."""
        if self._zone is None:
            from vaxres.db.clock import read_zone

            with self.read() as conn:
                self._zone = read_zone(conn)
        return self._zone

    def today(self):
        """Today in the store's time zone: what "in the past" is measured against."""
        from vaxres.db.clock import today_in

        return today_in(self.zone)

    def holds_data(self) -> bool:
        """Whether any slot, reservation or message exists: the demo and `db copy` need an empty store."""
        from vaxres.db.tables import outbox_table, reservation_table, slot_table

        with self.read() as conn:
            return any(
                conn.execute(select(exists().select_from(table))).scalar()
                for table in (slot_table, reservation_table, outbox_table)
            )

    def dispose(self) -> None:
        self.engine.dispose()


def insert_on_conflict(bind: Connection | Engine, table):
    """The dialect's own INSERT into `table`, the one with ON CONFLICT (SQLite and PostgreSQL
    spell it alike); PostgreSQL's module is loaded only when used."""
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def conflicts_draw_ids(bind: Connection | Engine) -> bool:
    """Whether every row offered to insert_on_conflict() draws an id from the table's sequence,
    kept or not, and costs more than a plain INSERT: PostgreSQL's ON CONFLICT makes a speculative
    insertion per row (about 60 % dearer); SQLite's costs nothing extra and draws nothing."""
    return bind.dialect.name == "postgresql"


def parameter_batches(items: list, size: int = 5000):
    """A long IN list in pieces: SQLite allows at most 32,766 parameters in one statement."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def is_busy_error(exc: OperationalError) -> bool:
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        return "locked" in str(orig) or "busy" in str(orig)
    return getattr(orig, "sqlstate", None) in BUSY_SQLSTATES


def _postgres_connect_args(url, timeout: float) -> dict:
    """The same wait for a lock as SQLite's busy timeout, then "busy, try again"; a connection
    given up after 10 s unless the URL or PGCONNECT_TIMEOUT says otherwise, and the URL's own
    options kept."""
    lock = f"-c lock_timeout={int(timeout * 1000)}"
    options = url.query.get("options") or os.environ.get("PGOPTIONS")
    args: dict = {"options": f"{options} {lock}" if isinstance(options, str) and options else lock}
    if "connect_timeout" not in url.query and not os.environ.get("PGCONNECT_TIMEOUT"):
        args["connect_timeout"] = 10
    return args


def driver_of(conn: Connection) -> Any:
    """The DBAPI connection under `conn` (sqlite3 or psycopg), for what only the driver does:
    pragmas, ATTACH, COPY, a raw cursor."""
    driver = conn.connection.driver_connection
    assert driver is not None, "a live connection has its driver's"
    return driver


def _table_names(conn: Connection, is_sqlite: bool) -> list[str]:
    if is_sqlite:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    return list(conn.execute(text(sql)).scalars())


def _sqlite_on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    # Take BEGIN away from the driver so that _sqlite_on_begin decides how each transaction starts.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA synchronous = FULL")
    mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    if mode.lower() != "wal":
        cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(_BEGIN_MODE, "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")
