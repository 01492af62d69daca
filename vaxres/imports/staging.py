"""Valid rows between the two passes of an import, numbered in file order, outside the store's
own tables: a private temporary database ATTACHed to the import's SQLite connection, or a
temporary table filled with COPY on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Column, Connection, Date, Integer, MetaData, Select, String, Table, Text, insert, select

from vaxres.db import bulk
from vaxres.db.store import Store, driver_of
from vaxres.imports.rows import CELL_SEPARATOR

IMPORT_CACHE_KIB = 49_152  # SQLite page cache of the import's connection: keeps the slot index hot
STAGING_CACHE_KIB = 16_384
IMPORT_CHECKPOINT_PAGES = 25_000  # checkpoint the WAL every ~100 MB instead of every 4 MB while importing


class Staging:
    """Valid rows between the two passes: a table in a private temporary database attached to the
    import's SQLite connection (a temporary table on other backends), numbered in file order."""

    BATCH = 20_000

    def __init__(self, store: Store, conn: Connection, columns: tuple[Column, ...] | None = None):
        """`columns`: the staged values of another kind of row (people), in the order its tuples
        hold them; by default a StagedRow's."""
        self.conn = conn
        self.sqlite = store.is_sqlite
        # The parsed dates as the staging table takes them: ISO text through SQLite's INSERTs,
        # dates through PostgreSQL's COPY.
        self.dates_as_text = self.sqlite
        self._store = store
        if self.sqlite:
            driver = driver_of(conn)
            driver.execute(f"PRAGMA main.cache_size = -{IMPORT_CACHE_KIB}")
            driver.execute(f"PRAGMA main.wal_autocheckpoint = {IMPORT_CHECKPOINT_PAGES}")
            self._attach()
        schema = "vaxres_staging" if self.sqlite else "pg_temp"
        if columns is None:
            columns = (
                Column("line", Integer, nullable=False),
                Column("user_id", String),
                Column("date", Date, nullable=False),
                Column("hospital", String, nullable=False),
                Column("vaccine", String, nullable=False),
                Column("hospital_key", String, nullable=False),
                Column("vaccine_key", String, nullable=False),
                Column("number", Integer, nullable=False),
                Column("cells", Text, nullable=False),
            )
        columns = tuple(column._copy() for column in columns)  # a Column belongs to one Table
        self.table = Table("import_rows", MetaData(schema=schema), Column("n", Integer, primary_key=True), *columns)
        # the staged values, in the order a row's tuple holds them (a StagedRow's fields by default)
        self.columns = [column.name for column in columns if not column.info.get("later")]
        self._create()

    def _attach(self) -> None:
        driver = driver_of(self.conn)
        driver.execute("ATTACH DATABASE '' AS vaxres_staging")
        driver.execute("PRAGMA vaxres_staging.journal_mode = OFF")
        driver.execute("PRAGMA vaxres_staging.synchronous = OFF")
        driver.execute(f"PRAGMA vaxres_staging.cache_size = -{STAGING_CACHE_KIB}")

    def _create(self) -> None:
        with self._store.transaction(self.conn, write=False):
            self._drop_table()
            self.table.create(self.conn)

    def _drop_table(self) -> None:
        if self.conn.dialect.name == "postgresql":
            # The inspector looks for a schema named pg_temp and never finds the session's own.
            self.conn.exec_driver_sql("DROP TABLE IF EXISTS pg_temp.import_rows")
        else:
            self.table.drop(self.conn, checkfirst=True)

    def clear(self) -> None:
        """Empty again, numbering from 1 (a file read again in another encoding). On SQLite a new
        attached database: the first reading's has no journal, so the rollback that ended that
        reading left it in an undefined state."""
        if self.sqlite:
            driver_of(self.conn).execute("DETACH DATABASE vaxres_staging")
            self._attach()
        self._create()

    def fill(self, rows: Iterator[tuple], batch_size: int | None = None) -> int:
        """Stage the rows; return how many (they are numbered 1..n in file order). `batch_size`:
        rows per INSERT batch (smaller keeps a producer in another process busy meanwhile)."""
        size = batch_size or self.BATCH
        count = 0
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= size:
                count += self._insert(batch)
                batch = []
        if batch:
            count += self._insert(batch)
        return count

    def _insert(self, batch: list[tuple]) -> int:
        if self.conn.dialect.name == "postgresql":
            # COPY: PostgreSQL's bulk path, on the import's own connection and transaction.
            driver = driver_of(self.conn)
            with (
                driver.cursor() as cursor,
                cursor.copy(f"COPY pg_temp.import_rows ({', '.join(self.columns)}) FROM STDIN") as copy,
            ):
                for values in batch:
                    copy.write_row(values)
        else:
            bulk.insert_rows(self.conn, self.table, self.columns, batch)
        return len(batch)

    def rows(self, low: Any, high: Any, *extra, join=None) -> Select:
        """The staged rows low..high in file order, as StagedRow's fields plus `extra` columns."""
        st = self.table.c
        query = select(*(st[name] for name in self.columns), *extra)
        if join is not None:
            query = query.select_from(join)
        return query.where(st.n.between(low, high)).order_by(st.n)

    def drop(self) -> None:
        try:
            if self.sqlite:
                driver = driver_of(self.conn)
                driver.execute("DETACH DATABASE vaxres_staging")
                driver.execute("PRAGMA main.wal_autocheckpoint = 1000")
            else:
                with self.conn.begin():
                    self._drop_table()
                    self.conn.exec_driver_sql("DROP TABLE IF EXISTS pg_temp.import_groups")  # GroupSets'
        except Exception:  # the connection is being discarded anyway; the data is temporary
            pass


class GroupSets:
    """The distinct groups values of a file's staged rows (a handful for a million people), each
    split into its (key, name) rows beside the staged rows, so the loader inserts the new people's
    groups by one INSERT ... SELECT a chunk instead of reading the rows back into Python."""

    def __init__(self, table: Table):
        self.table = table

    @classmethod
    def staged(cls, conn: Connection, staging: Staging, values: set[str] | None) -> GroupSets | None:
        """None when the parser kept no list of the values (too many): the loader splits them."""
        if values is None:
            return None
        table = Table(
            "import_groups",
            MetaData(schema="vaxres_staging" if staging.sqlite else "pg_temp"),
            Column("groups", Text, nullable=False),
            Column("position", Integer, nullable=False),
            Column("group_key", String, nullable=False),
            Column("name", String, nullable=False),
        )
        if staging.sqlite:
            table.drop(conn, checkfirst=True)
        else:
            conn.exec_driver_sql("DROP TABLE IF EXISTS pg_temp.import_groups")
        table.create(conn)
        rows = [
            {"groups": value, "position": position, "group_key": name.casefold(), "name": name}
            for value in sorted(values)
            for position, name in enumerate(value.split(CELL_SEPARATOR))
        ]
        if rows:
            conn.execute(insert(table), rows)
        index = "CREATE INDEX {}import_groups_groups ON {}import_groups (groups)"
        if staging.sqlite:
            conn.exec_driver_sql(index.format("vaxres_staging.", ""))
        else:
            conn.exec_driver_sql(index.format("", "pg_temp."))
        return cls(table)
