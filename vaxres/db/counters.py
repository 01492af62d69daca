"""The counter behind each table's numbers (SQLite's sqlite_sequence, PostgreSQL's sequences), read
and carried on by `db copy`, so a number someone has seen is never given again (issue 26)."""

from __future__ import annotations

from sqlalchemy import Connection, Table, func, select, text


def highest_number(conn: Connection, table: Table) -> int | None:
    """The highest number the store has given in `table`: its counter, which remembers rows since
    deleted (pruned messages, waitlist entries gone), else its highest row."""
    name = table.name
    if conn.dialect.name == "postgresql":
        counter = f"SELECT pg_sequence_last_value(pg_get_serial_sequence('{name}', 'id')::regclass)"
    else:
        counter = f"SELECT (SELECT seq FROM sqlite_sequence WHERE name = '{name}')"
    numbers = [conn.execute(text(counter)).scalar(), conn.execute(select(func.max(table.c.id))).scalar()]
    return max((n for n in numbers if n is not None), default=None)


def continue_numbering(conn: Connection, table: Table, highest: int | None) -> None:
    """Make the new store's next number in `table` follow `highest`: a number a receiver or a
    person has seen is never given again (issue 26)."""
    name = table.name
    if conn.dialect.name == "postgresql":
        sequence = f"pg_get_serial_sequence('{name}', 'id')"
        conn.execute(
            text(f"SELECT setval({sequence}, :n, :called)"), {"n": highest or 1, "called": highest is not None}
        )
    elif highest is not None and table.dialect_options["sqlite"]["autoincrement"]:
        params = {"name": name, "seq": highest}
        if (
            conn.execute(text("UPDATE sqlite_sequence SET seq = MAX(seq, :seq) WHERE name = :name"), params).rowcount
            == 0
        ):
            conn.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :seq)"), params)
