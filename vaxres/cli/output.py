"""Everything the CLI prints: JSON for scripts, Rich tables or one line for people, errors on stderr.

Rich is imported only when a table is drawn, SQLAlchemy never: `vaxres --help` stays fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer

from vaxres.errors import VaxresError

JSON_HELP = "Print JSON on stdout (errors as a JSON object on stderr)."


def print_json(data: Any, *, to_stderr: bool = False) -> None:
    """Results go to stdout, indented; on stderr JSON stays on one line, like every diagnostic."""
    import json
    import re

    text = json.dumps(data, ensure_ascii=False, indent=None if to_stderr else 2)
    if re.search("[\ud800-\udfff]", text):
        # A lone surrogate (a value read with --encoding utf-7, say) cannot be written as UTF-8.
        text = json.dumps(data, indent=None if to_stderr else 2)
    (sys.stderr if to_stderr else sys.stdout).write(text + "\n")


def print_json_stream(items: Iterable[Any]) -> None:
    """The text print_json writes for a list, written item by item as they come: a list of a
    million rows is never held in memory."""
    import json

    with quiet_when_the_reader_leaves():
        write, opened = sys.stdout.write, False
        for item in items:
            write(",\n  " if opened else "[\n  ")
            write(json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n  "))
            opened = True
        write("\n]\n" if opened else "[]\n")


def print_jsonl(items: Iterable[Any]) -> None:
    """One compact JSON object a line, written as each comes."""
    import json

    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with quiet_when_the_reader_leaves():
        write = sys.stdout.write
        for item in items:
            write(encode(item) + "\n")


class quiet_when_the_reader_leaves:
    """`vaxres slot list --jsonl | head` closes the pipe early: stop writing, no traceback, exit 1
    (as the command line does for the tables)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None or not issubclass(kind, BrokenPipeError):
            return
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # what is left in the buffer goes nowhere
        raise typer.Exit(1)


def print_line(text: str, *, to_stderr: bool = False) -> None:
    """One line for people; the values in it are shown as text (see shown())."""
    (sys.stderr if to_stderr else sys.stdout).write(shown(text) + "\n")


def report_error(error: VaxresError, json_out: bool) -> None:
    from vaxres.cli.hints import explain

    if json_out:
        print_json({"error": explain(error), "code": error.code}, to_stderr=True)
    else:
        print_line(f"Error: {explain(error)}", to_stderr=True)


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


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    compact: bool = False,
    cut: Collection[str] = (),
) -> None:
    """Every cell and the title are plain text: a name like `x[/]` or `[link=...]` is shown as
    typed, never read as Rich markup, and control characters are shown escaped.

    A column that wraps is at least as wide as its longest word (up to WORD_LIMIT cells), so
    names wrap between words, never inside one ("예방접종센터"), as long as the table fits.
    `compact`: a rule under the header and two spaces between columns, no box (a long list in 80
    columns). `cut`: the columns whose cells stay on one line, cut with "…" to fit; when a table
    has some, only they give way and every other column keeps its width.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=sys.stdout)
    one_line = [column in cut for column in columns]
    cells = [
        [
            Text("" if cell is None else shown(str(cell)), no_wrap=short, overflow="ellipsis" if short else None)
            for cell, short in zip(row, one_line)
        ]
        for row in rows
    ]
    wraps = [not short and column not in _NO_WRAP and not cut for column, short in zip(columns, one_line)]
    widths = [
        longest_word(row[index].plain for row in cells)
        if wraps[index]
        else max([len(column)] + [row[index].cell_len for row in cells])
        for index, column in enumerate(columns)
    ]
    gaps = 2 * len(columns) if compact else 3 * len(columns) + 1
    keep_words = sum(widths) + gaps <= console.width  # else fold, rather than cut the table off
    style: dict[str, Any] = (
        dict(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True) if compact else {}
    )
    table = Table(title=None if title is None else Text(shown(title)), title_justify="left", **style)
    for index, column in enumerate(columns):
        table.add_column(
            column,
            justify="right" if column in _NUMERIC else "left",
            overflow="ellipsis" if one_line[index] else "fold",
            no_wrap=column in _NO_WRAP or (bool(cut) and not one_line[index]),
            min_width=widths[index] if keep_words and wraps[index] else None,
        )
    for row in cells:
        table.add_row(*row)
    console.print(table)


WORD_LIMIT = 20


def longest_word(texts: Iterable[str]) -> int:
    """The cells of the longest word in the texts, at most WORD_LIMIT: the narrowest a column of
    names gets, so that a name wraps between words and never inside one (a Korean name too)."""
    from rich.cells import cell_len

    longest = 0
    for text in texts:
        for word in text.split():
            longest = max(longest, min(cell_len(word), WORD_LIMIT))
            if longest == WORD_LIMIT:
                return longest
    return longest


def console_width() -> int:
    """The width Rich draws tables at: the terminal's, or COLUMNS."""
    from rich.console import Console

    return Console(file=sys.stdout).width


def shown(text: str) -> str:
    """Text as it may reach a terminal: control, format (bidi, zero-width) and separator
    characters other than the line breaks vaxres itself puts in cells are written as escapes."""
    if text.isprintable() or all(ch.isprintable() or ch == "\n" for ch in text):  # the first: C speed
        return text
    return "".join(ch if ch.isprintable() or ch == "\n" else ch.encode("unicode_escape").decode("ascii") for ch in text)


_NO_WRAP = {"Event", "Status", "Date", "Created", "Next attempt", "When", "From", "To"}
_NUMERIC = {
    "ID",
    "No.",
    "Entry",
    "Line",
    "Capacity",
    "Remaining",
    "Left",
    "Booked",
    "Dose",
    "Doses",
    "Ref",
    "Attempts",
    "rows",
}


@contextmanager
def working(description: str, *, quiet: bool = False) -> Iterator[None]:
    """A spinner with the time spent, on stderr while a long read runs (a report over millions
    of bookings is one statement: there is no count to show progress against). Only on a
    terminal, and never with --json (`quiet`), as the imports' progress bars."""
    if quiet or not sys.stderr.isatty():
        yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn(description), TimeElapsedColumn(), console=Console(stderr=True), transient=True
    ) as spinner:
        spinner.add_task(description, total=None)
        yield


def rows_progress(labels: dict[str, str]) -> Callable[[str, int, int, int | None], None]:
    """A Rich progress bar on stderr for each phase of a long job (`labels`: phase → what it
    says): rows, rows per second and the time left; gone when the job ends. Call it with
    (phase, rows, completed, total), completed and total in rows or bytes; `.stop()` at the end."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TextColumn("{task.fields[rate]:,.0f} rows/s"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}
    started: dict[str, float] = {}

    def update(phase: str, rows: int, completed: int, total: int | None) -> None:
        if not tasks:
            bar.start()
        if phase not in tasks:
            tasks[phase] = bar.add_task(labels[phase], total=total, rows=0, rate=0.0)
            started[phase] = time.monotonic()
        elapsed = max(time.monotonic() - started[phase], 1e-6)
        bar.update(tasks[phase], completed=completed, total=total, rows=rows, rate=rows / elapsed)

    update.stop = bar.stop  # type: ignore[attr-defined]
    return update
