"""The store's MetaData (its constraint naming convention) and the column shorthands every table
module declares its columns with."""

from typing import Any

from sqlalchemy import Column, Integer, MetaData, String

from vaxres.db.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def id_column() -> Column:
    return Column("id", Integer, primary_key=True)


def text_column(name: str, length: int, *, null: bool = False, **kwargs: Any) -> Column:
    return Column(name, String(length), nullable=null, **kwargs)


def when_column(name: str, *, null: bool = False) -> Column:
    return Column(name, UTCDateTime(), nullable=null)


def int_column(name: str, *args: Any, **kwargs: Any) -> Column:
    return Column(name, Integer, *args, nullable=False, **kwargs)
