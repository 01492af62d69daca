"""Everything the CLI prints: JSON for scripts, Rich tables or one line for people, errors on stderr.

Rich is imported only when a table is drawn, SQLAlchemy never: `vaxres --help` stays fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import typer

from vaxres.errors import VaxresError

JSON_HELP = "Print JSON on stdout (errors as a JSON object on stderr)."


def print_json(data: Any, *, to_stderr: bool = False) -> None:
    """Results go to stdout, indented; on stderr JSON stays on one line, like every diagnostic."""
    import json

    if to_stderr:
        sys.stderr.write(json.dumps(data, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def print_line(text: str, *, to_stderr: bool = False) -> None:
    (sys.stderr if to_stderr else sys.stdout).write(text + "\n")


def report_error(error: VaxresError, json_out: bool) -> None:
    if json_out:
        print_json({"error": error.message, "code": error.code}, to_stderr=True)
    else:
        print_line(f"Error: {error.message}", to_stderr=True)


def handles_errors(command: Callable[..., None]) -> Callable[..., None]:
    """Turn a domain error into its one-line report and documented exit code."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except VaxresError as error:
            report_error(error, bool(kwargs.get("json_out")))
            raise typer.Exit(error.exit_code) from None

    return run


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(
            column,
            justify="right" if column in _NUMERIC else "left",
            overflow="fold",
            no_wrap=column in _NO_WRAP,
        )
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console(file=sys.stdout).print(table)


_NO_WRAP = {"Event", "Status", "Date", "Created", "Next attempt", "When"}
_NUMERIC = {"ID", "No.", "Capacity", "Remaining", "Booked", "Dose", "Doses", "Ref", "Attempts", "rows"}
