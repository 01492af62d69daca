"""SQL that SQLite and PostgreSQL spell differently, written once: each construct here compiles to
the dialect's spelling (SQLAlchemy's `@compiles`, as Alembic does for its DDL), so the capabilities
build one statement for both backends instead of asking which one they are talking to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement


class contains(FunctionElement[bool]):
    """`needle` occurs in `haystack` as typed (no LIKE wildcards): instr() / strpos()."""

    type = Boolean()
    inherit_cache = True
    name = "contains"


@compiles(contains)
def _contains(element: contains, compiler: Any, **kw: Any) -> str:
    haystack, needle = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(strpos({haystack}, {needle}) > 0)"


@compiles(contains, "sqlite")
def _contains_sqlite(element: contains, compiler: Any, **kw: Any) -> str:
    haystack, needle = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(instr({haystack}, {needle}) > 0)"


class json_object(FunctionElement[Any]):
    """A JSON object of key, value, key, value...: json_build_object() / json_object()."""

    type = JSON()
    inherit_cache = True
    name = "json_object"


@compiles(json_object)
def _json_object(element: json_object, compiler: Any, **kw: Any) -> str:
    return f"json_build_object({compiler.process(element.clause_expr.element, **kw)})"


@compiles(json_object, "sqlite")
def _json_object_sqlite(element: json_object, compiler: Any, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clause_expr.element, **kw)})"


class json_true(ColumnElement[bool]):
    """JSON `true` as a value of a json_object (SQLite would otherwise store the integer 1)."""

    type = Boolean()
    inherit_cache = True


@compiles(json_true)
def _json_true(element: json_true, compiler: Any, **kw: Any) -> str:
    return "true"


@compiles(json_true, "sqlite")
def _json_true_sqlite(element: json_true, compiler: Any, **kw: Any) -> str:
    return "json('true')"


class date_text(FunctionElement[str]):
    """A date column as `YYYY-MM-DD` in a json_object: SQLite keeps dates as that text already,
    but typed DATE it would go through as is; PostgreSQL's json_build_object writes it so."""

    type = String()
    inherit_cache = True
    name = "date_text"


@compiles(date_text)
def _date_text(element: date_text, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clause_expr.element, **kw)


@compiles(date_text, "sqlite")
def _date_text_sqlite(element: date_text, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clause_expr.element, **kw)} AS VARCHAR)"


class days_between(FunctionElement[int]):
    """Whole days from `earlier` to `later` (two dates): date subtraction / julianday()."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"({later} - {earlier})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


class unindexed(FunctionElement[Any]):
    """The same value, but SQLite uses no index of the column for it (`+column`): where walking an
    index would read a big table at random. PostgreSQL's planner decides from statistics."""

    inherit_cache = True
    name = "unindexed"

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _unindexed(element: unindexed, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clause_expr.element, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    return f"+{compiler.process(element.clause_expr.element, **kw)}"


class json_number_is(ColumnElement[bool]):
    """A JSON document's `key` holds this whole number. PostgreSQL compares it as text: a cast of
    an odd value written by another tool would fail the whole query."""

    type = Boolean()
    inherit_cache = False  # holds plain attributes; used by one rare query (`log --slot`)

    def __init__(self, document: ColumnElement[Any], key: str, number: int):
        self.document, self.key, self.number = document, key, number


@compiles(json_number_is)
def _json_number_is(element: json_number_is, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.document[element.key].as_string() == str(element.number), **kw)


@compiles(json_number_is, "sqlite")
def _json_number_is_sqlite(element: json_number_is, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.document[element.key].as_integer() == element.number, **kw)


class json_parsed(FunctionElement[Any]):
    """JSON text (a staged column) as a JSON value inside json_object: json() / CAST AS json."""

    type = JSON()
    inherit_cache = True
    name = "json_parsed"


@compiles(json_parsed)
def _json_parsed(element: json_parsed, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clause_expr.element, **kw)} AS json)"


@compiles(json_parsed, "sqlite")
def _json_parsed_sqlite(element: json_parsed, compiler: Any, **kw: Any) -> str:
    return f"json({compiler.process(element.clause_expr.element, **kw)})"
