"""The store's language: the one its notification messages are read in when the reader names none.

Kept in store_setting under "language"; a store without that row (every store made before it
existed) reads in English. No migration: the row is written by `vaxres db set-language` only.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from vaxres.errors import InvalidValue
from vaxres.validate import DEFAULT_LANGUAGE, parse_language

LANGUAGE_KEY = "language"


def read_language(conn: Connection) -> str:
    """The store's language; a value this vaxres does not know (written by hand) reads as English,
    so that a listing or a dispatcher never stops on it."""
    from vaxres.db.tables import setting_table

    value = conn.execute(select(setting_table.c.value).where(setting_table.c.key == LANGUAGE_KEY)).scalar()
    try:
        return parse_language(value) if value else DEFAULT_LANGUAGE
    except InvalidValue:
        return DEFAULT_LANGUAGE


def write_language(conn: Connection, language: str) -> None:
    from vaxres.db.tables import setting_table

    updated = conn.execute(
        setting_table.update().where(setting_table.c.key == LANGUAGE_KEY).values(value=language)
    ).rowcount
    if not updated:
        conn.execute(setting_table.insert().values(key=LANGUAGE_KEY, value=language))


def message_language(conn: Connection, chosen: str | None) -> str:
    """--lang or VAXRES_LANG when given (vaxres.settings.chosen_language), else the store's."""
    return chosen or read_language(conn)
