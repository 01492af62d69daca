"""`vaxres report --by window`: the uptake table (reports/uptake.py has what each figure counts)."""

from __future__ import annotations

import math

from vaxres.cli.output import console_width, longest_word, print_line, shown

WIDE = 100  # as report.WIDE: from here the gaps are two spaces
NOTES = (
    "Shares are of registered: the people in the registry the window matches.",
    "Booked: holds a booking of its vaccine (its dose); vaccinated: was given it.",
)


def uptake_table(result) -> None:
    """One line per window: its vaccine and dose, the people registered it matches, then booked
    and vaccinated, each with its share in whole percent rounded down (100% means everyone).
    Numbers keep their width; the window's and vaccine's names wrap between words."""
    import sys

    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if not result.lines:
        print_line("No windows match.")
        return
    gap = 2 if console_width() >= WIDE else 1
    windows = [shown(line.name) for line in result.lines]
    vaccines = [shown(line.vaccine) for line in result.lines]
    table = Table(
        title=Text(shown(result.scope.describe("Uptake"))),
        title_justify="left",
        box=box.SIMPLE,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        padding=(0, gap - 1),
    )
    rows = [
        (
            "any" if line.dose is None else str(line.dose),
            f"{line.figures.registered:,}",
            _with_share(line.figures.booked, line.figures.booked_share),
            _with_share(line.figures.vaccinated, line.figures.vaccinated_share),
        )
        for line in result.lines
    ]
    headers = ("Dose", "Registered", "Booked", "Vaccinated")
    widths = [max(len(header), *(len(row[n]) for row in rows)) for n, header in enumerate(headers)]
    # Numbers keep their width; names wrap between words while the room lets them, else anywhere.
    room = console_width() - sum(widths) - gap * 5
    named = min(longest_word(vaccines), max(1, room // 2))
    table.add_column("Window", min_width=max(1, min(longest_word(windows), room - named)), overflow="fold")
    table.add_column("Vaccine", min_width=named, overflow="fold")
    for header, cells in zip(headers, widths):
        table.add_column(header, justify="right", no_wrap=True, min_width=cells)
    for window, vaccine, numbers in zip(windows, vaccines, rows):
        table.add_row(Text(window), Text(vaccine), *numbers)
    Console(file=sys.stdout).print(table)
    for note in NOTES:
        print_line(note)


def _with_share(count: int, share: float | None) -> str:
    """'980  81%': the count and its share in whole percent rounded down; '0    -' without a share."""
    return f"{count:,} {'   -' if share is None else f'{math.floor(share * 100):3d}%'}"
