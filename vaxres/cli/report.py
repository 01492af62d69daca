"""vaxres report"""

from __future__ import annotations

from typing import Annotated

import typer

from vaxres.cli.common import FromOption, HospitalTextOption, JsonOption, ToOption, VaccineTextOption, open_store
from vaxres.cli.output import console_width, handles_errors, longest_word, print_json, print_line, shown, working

WIDE = 100  # columns from which the table has room for wider gaps and a longer bar


@handles_errors
def report(
    ctx: typer.Context,
    date_from: FromOption = None,
    date_to: ToOption = None,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            metavar="day|hospital|vaccine|window",
            help="One line per day (the default), hospital or vaccine; window: uptake per eligibility window.",
        ),
    ] = "day",
    hospital: HospitalTextOption = None,
    vaccine: VaccineTextOption = None,
    html: Annotated[
        str | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Write the report as one self-contained HTML page (charts of the fill rate by day and by "
            "hospital, the table, the uptake by window while there are windows) instead of printing the "
            "table; never over a file without --force.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the --html file if it exists.")] = False,
    json_out: JsonOption = False,
) -> None:
    """How full the slots are: per day, hospital or vaccine, the capacity, the bookings by status,
    the doses left, the fill rate and the people waiting, with a total.

    Fill rate = booked ÷ capacity, where booked = reserved + administered + no-show (the doses
    taken out of the slots; a cancelled booking gave its dose back). Waiting counts the waitlist
    entries a freed dose of the line would be offered to: by vaccine, the entry's vaccine; by
    day, entries whose days include it; by hospital, entries whose hospital text the hospital's
    name contains (entries naming no hospital are counted apart). The total counts each entry
    once. Days are the store's days. The table calls administered "Given" and remaining "Left".

    --by window: per eligibility window, the people registered it matches, those holding a booking
    of its vaccine (its dose), those given it, and both shares of the registered.
    """
    options = dict(by=by, date_from=date_from, date_to=date_to, hospital=hospital, vaccine=vaccine)
    if html is not None:
        from vaxres.reports.page import write_page

        store = open_store(ctx)
        with working("Reading the store and drawing the charts", quiet=json_out):
            result = write_page(store, html, force=force, **options)
        if json_out:
            print_json(result.as_json())
        else:
            print_line(f"Wrote the report to {html}: {_extent(result)}.")
        return
    from vaxres.reports.uptake import UptakeReport
    from vaxres.reports.uptake import report as read

    counting = "people" if str(by).strip().lower() == "window" else "slots"
    with working(f"Counting the {counting} and bookings", quiet=json_out):
        result = read(open_store(ctx), **options)
    if json_out:
        print_json(result.as_json())
    elif isinstance(result, UptakeReport):
        from vaxres.cli.report_windows import uptake_table

        uptake_table(result)
    elif not result.lines:
        print_line("No slots match.")
    else:
        report_table(result)


def _extent(result) -> str:
    count = len(result.lines)
    if not count:
        return f"no {'windows' if result.scope.by == 'window' else 'slots'} match"
    unit = result.scope.by
    return f"{count:,} {unit}{'s' if count != 1 else ''}"


COLUMNS = ("Capacity", "Reserved", "Given", "No-show", "Cancelled", "Left", "Waiting")
DAY_WIDTH = 10
NAME_WIDTH = 10  # the narrowest a hospital's or vaccine's column gets before the bar gives way
BAR_WIDTH = (6, 20)  # the bar's cells: at least (while a name has room), at most


def report_table(result) -> None:
    """One line per group, then the total under a rule, each with its fill rate as a bar. The
    numbers keep their width; in a narrow terminal the gaps are one space, the bar gives way
    down to BAR_WIDTH[0] cells, then a name wraps between words, then the bar again, down to one
    cell, before a word (of up to 20 cells, output.WORD_LIMIT) would be cut."""
    import sys

    from rich import box
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    width = console_width()
    gap = 2 if width >= WIDE else 1
    names = [shown(line.name) for line in result.lines]
    words = max(1, longest_word(names))
    rows = [_numbers(line.figures) for line in result.lines]
    total = _numbers(result.total)
    widths = [max(len(header), *(len(row[i]) for row in [*rows, total])) for i, header in enumerate(COLUMNS)]
    room = width - sum(widths) - len("100% ") - gap * (len(COLUMNS) + 1)  # for the name and the bar
    if result.scope.by == "day":
        label = DAY_WIDTH
        bar = max(1, min(BAR_WIDTH[1], room - label))
    else:
        longest = max(cell_len(name) for name in names)
        bar = max(BAR_WIDTH[0], min(BAR_WIDTH[1], room - longest))
        # Never narrower than the longest word while the bar can give way down to one cell.
        label = max(NAME_WIDTH, min(words, room - 1), min(longest, room - bar))
        bar = max(1, min(bar, room - label))
    table = Table(
        title=Text(shown(result.scope.describe("Report"))),
        title_justify="left",
        box=box.SIMPLE,
        show_edge=False,
        show_footer=True,
        pad_edge=False,
        collapse_padding=True,
        padding=(0, gap - 1),
    )
    table.add_column(
        result.scope.by.capitalize(),
        footer="Total",
        min_width=min(words, label),
        max_width=label,
        overflow="fold",
        no_wrap=result.scope.by == "day",
    )
    for header, cell, cells in zip(COLUMNS, total, widths):
        table.add_column(header, footer=cell, justify="right", no_wrap=True, min_width=cells)
    table.add_column("Fill", footer=_fill(result.total.fill_rate, bar), no_wrap=True, min_width=len("100% ") + bar)
    for name, numbers, line in zip(names, rows, result.lines):
        table.add_row(Text(name), *numbers, _fill(line.figures.fill_rate, bar))
    Console(file=sys.stdout).print(table)
    if result.any_hospital:
        print_line(f"Also waiting, for any hospital: {result.any_hospital:,} (in the total).")
    print_line("Fill = (reserved + given + no-show) ÷ capacity; left = doses not booked.")


def _numbers(f) -> tuple[str, ...]:
    return tuple(
        f"{n:,}" for n in (f.capacity, f.reserved, f.administered, f.no_show, f.cancelled, f.remaining, f.waiting)
    )


BLOCKS = " ▏▎▍▌▋▊▉█"


def _fill(rate: float | None, width: int):
    """' 63% ██████▎···': the rate in whole percent and a bar in eighths of a cell, both rounded
    down, so that 100% and a full bar mean no dose is left."""
    import math

    from rich.text import Text

    if rate is None:
        return Text("")
    eighths = math.floor(rate * width * 8)
    whole, part = divmod(eighths, 8)
    bar = "█" * whole + (BLOCKS[part] if part else "")
    text = Text(f"{math.floor(rate * 100):3d}% ")
    text.append(bar, style="green")
    text.append("·" * (width - len(bar)), style="dim")
    return text


def register(app: typer.Typer) -> None:
    app.command("report")(report)
