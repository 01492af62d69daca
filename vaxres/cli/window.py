"""vaxres window add | list | show | close"""

from typing import Annotated

import typer

from vaxres.cli.common import JsonOption, open_store
from vaxres.cli.output import handles_errors, print_json, print_line, print_table
from vaxres.cli.render import minute

app = typer.Typer(
    help="Eligibility windows: who may book a vaccine, and when (times in the store's time zone).",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(metavar="NAME", help="The window's name, e.g. 18-49.")]


@app.command("add")
@handles_errors
def add(
    ctx: typer.Context,
    name: Name,
    vaccine: Annotated[str, typer.Option("--vaccine", metavar="NAME", help="The vaccine it opens (name or alias).")],
    opens: Annotated[
        str, typer.Option("--opens", metavar='"YYYY-MM-DD HH:MM"', help="When it opens, in the store's time zone.")
    ],
    dose: Annotated[
        str | None, typer.Option("--dose", metavar="N", help="Only this dose of the series (default: every dose).")
    ] = None,
    born_from: Annotated[
        str | None, typer.Option("--born-from", metavar="YYYY-MM-DD", help="Only people born on this day or later.")
    ] = None,
    born_to: Annotated[
        str | None, typer.Option("--born-to", metavar="YYYY-MM-DD", help="Only people born on this day or earlier.")
    ] = None,
    age_min: Annotated[
        str | None, typer.Option("--age-min", metavar="N", help="Only people N or older on --age-on.")
    ] = None,
    age_max: Annotated[
        str | None, typer.Option("--age-max", metavar="N", help="Only people N or younger on --age-on.")
    ] = None,
    age_on: Annotated[
        str | None,
        typer.Option("--age-on", metavar="YYYY-MM-DD", help="The day ages are counted on (default: the opening day)."),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option("--group", metavar="G", help="Only people in this group (repeat: in any of them)."),
    ] = None,
    closes: Annotated[
        str | None,
        typer.Option("--closes", metavar='"YYYY-MM-DD HH:MM"', help="When it closes (default: never)."),
    ] = None,
    rotation: Annotated[
        str | None,
        typer.Option(
            "--rotation",
            metavar="birth-digit",
            help="Day d admits people whose day of birth ends in d's last digit (10부제); needs --each.",
        ),
    ] = None,
    each: Annotated[
        str | None,
        typer.Option(
            "--each", metavar="HH:MM-HH:MM", help="A rotation's daily window: 20:00-18:00 runs to 18:00 the next day."
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Open a vaccine (or one dose) to the people a window matches, from --opens to --closes.

    A vaccine no window names is open to everyone; once one does, a booking needs a window that
    matches the person and is open at that moment.
    """
    from vaxres.booking.windows import add_window

    added = add_window(
        open_store(ctx),
        name,
        vaccine=vaccine,
        opens=opens,
        dose=dose,
        born_from=born_from,
        born_to=born_to,
        age_min=age_min,
        age_max=age_max,
        age_on=age_on,
        groups=group or [],
        closes=closes,
        rotation=rotation,
        each=each,
    )
    if json_out:
        print_json(added.as_json())
    else:
        print_line(f"Added window {added.name}: {summary(added)}.")


@app.command("list")
@handles_errors
def list_(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List the eligibility windows, by opening time."""
    from vaxres.booking.windows import list_windows

    windows = list_windows(open_store(ctx))
    if json_out:
        print_json([window.as_json() for window in windows])
    elif not windows:
        print_line("No eligibility windows: every vaccine is open to everyone.")
    else:
        print_table(
            f"Eligibility windows (times in {windows[0].zone.key})",
            ["Name", "Vaccine", "Dose", "Who", "Opens", "Closes"],
            [(w.name, w.vaccine, w.dose or "all", who(w), minute(w.opens_at, w.zone), closes_text(w)) for w in windows],
            compact=True,
        )


@app.command("show")
@handles_errors
def show(ctx: typer.Context, name: Name, json_out: JsonOption = False) -> None:
    """Show one window."""
    from vaxres.booking.windows import show_window

    window = show_window(open_store(ctx), name)
    if json_out:
        print_json(window.as_json())
        return
    first, last = window.birth_range()
    rows = [
        ("name", window.name),
        ("vaccine", window.vaccine),
        ("dose", window.dose or "every dose"),
        ("born", f"{first or 'any day'} to {last or 'any day'}" if first or last else "any day"),
        ("ages", ages(window)),
        ("groups", ", ".join(window.groups) or "anyone"),
        ("opens", minute(window.opens_at, window.zone)),
        ("closes", closes_text(window)),
        ("rotation", rotation_text(window)),
        ("time zone", window.zone.key),
    ]
    print_table(None, ["field", "value"], rows)


@app.command("close")
@handles_errors
def close(
    ctx: typer.Context,
    name: Name,
    at: Annotated[
        str | None, typer.Option("--at", metavar='"YYYY-MM-DD HH:MM"', help="When it closes (default: now).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Close a window now, or at --at; the bookings it admitted stay."""
    from vaxres.booking.windows import close_window

    closed = close_window(open_store(ctx), name, at=at)
    if json_out:
        print_json(closed.as_json())
    else:
        print_line(f"Window {closed.name} closes {closes_text(closed)}.")


def closes_text(window) -> str:
    return "never" if window.closes_at is None else minute(window.closes_at, window.zone)


def ages(window) -> str:
    if window.age_min is None and window.age_max is None:
        return "any age"
    low = "" if window.age_min is None else f"{window.age_min}"
    high = "" if window.age_max is None else f"{window.age_max}"
    return f"{low}–{high} on {window.age_on}"


def who(window) -> str:
    """'born 1972-01-01…2003-12-31, 의료진, birth digit 20:00-18:00': whom a window admits, short."""
    parts = []
    first, last = window.birth_range()
    if first and last:
        parts.append(f"born {first} to {last}")
    elif first or last:
        parts.append(f"born from {first}" if first else f"born by {last}")
    if window.groups:
        parts.append(", ".join(window.groups))
    if window.rotation:
        parts.append(rotation_text(window))
    return "; ".join(parts) or "everyone"


def rotation_text(window) -> str:
    if window.rotation is None:
        return "none"
    start, end = window.each
    return f"birth digit, {start:%H:%M}-{end:%H:%M}"


def summary(window) -> str:
    dose = "every dose" if window.dose is None else f"dose {window.dose}"
    return (
        f"{window.vaccine} ({dose}) for {who(window)}, from {minute(window.opens_at, window.zone)} "
        f"to {closes_text(window)} ({window.zone.key})"
    )
