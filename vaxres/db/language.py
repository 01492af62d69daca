"""The store's language: the one its notification messages are read in when the reader names none.

Kept in store_setting under "language"; a store without that row (every store made before it
existed) reads in English. No migration: the row is written by `vaxres db set-language` only.
"""

from __future__ import annotations

from sqlalchemy import Connection

from vaxres.db.store_setting import read_setting, write_setting
from vaxres.errors import InvalidValue
from vaxres.validate import DEFAULT_LANGUAGE, parse_language

LANGUAGE_KEY = "language"


def read_language(conn: Connection) -> str:
    """The store's language; a value this vaxres does not know (written by hand) reads as English,
    so that a listing or a dispatcher never stops on it."""
    value = read_setting(conn, LANGUAGE_KEY)
    try:
        return parse_language(value) if value else DEFAULT_LANGUAGE
    except InvalidValue:
        return DEFAULT_LANGUAGE


def write_language(conn: Connection, language: str) -> None:
    write_setting(conn, LANGUAGE_KEY, language)


def message_language(conn: Connection, chosen: str | None) -> str:
    """--lang or VAXRES_LANG when given (vaxres.settings.chosen_language), else the store's."""
    return chosen or read_language(conn)
