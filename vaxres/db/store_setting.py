"""The store's own settings (store_setting: key, value), read and written one key at a time;
vaxres.db.clock keeps the time zone there, vaxres.db.language the language."""

from __future__ import annotations

from sqlalchemy import Connection, select


def read_setting(conn: Connection, key: str) -> str | None:
    from vaxres.db.tables import setting_table

    return conn.execute(select(setting_table.c.value).where(setting_table.c.key == key)).scalar()


def write_setting(conn: Connection, key: str, value: str) -> None:
    from vaxres.db.tables import setting_table

    updated = conn.execute(setting_table.update().where(setting_table.c.key == key).values(value=value)).rowcount
    if not updated:
        conn.execute(setting_table.insert().values(key=key, value=value))
