"""vaxres waitlist join | list | leave"""

from typing import Annotated

import typer

from vaxres.cli import render
from vaxres.cli.common import NUMBER_ARGUMENTS, JsonOption, open_store
from vaxres.cli.output import handles_errors, print_json, print_line

app = typer.Typer(help="Wait for a dose: booked in join order when a matching dose is freed.", no_args_is_help=True)


@app.command("join")
@handles_errors
def join(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", metavar="ID", help="The person waiting.")],
    vaccine: Annotated[str, typer.Option("--vaccine", metavar="TEXT", help="Vaccine, by name or alias.")],
    hospital: Annotated[
        str | None,
        typer.Option("--hospital", metavar="TEXT", help="Only hospitals whose name contains this (any case)."),
    ] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", metavar="YYYY-MM-DD", help="First day that suits (default: today).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", metavar="YYYY-MM-DD", help="Last day that suits (default: any).")
    ] = None,
    dose: Annotated[str, typer.Option("--dose", metavar="N", help="Dose number of the series, 1 to 10.")] = "1",
    json_out: JsonOption = False,
) -> None:
    """Wait for a dose of a vaccine; a matching dose free right now is booked at once.

    The same rules as `vaxres reserve` apply: a dose held already, or a series the range can never
    fit, is refused.
    """
    from vaxres.booking.waitlist import join as join_waitlist

    joined = join_waitlist(
        open_store(ctx), user=user, vaccine=vaccine, hospital=hospital, date_from=date_from, date_to=date_to, dose=dose
    )
    if json_out:
        print_json(joined.as_json())
    else:
        print_line(render.joined(joined))


@app.command("list")
@handles_errors
def list_(
    ctx: typer.Context,
    vaccine: Annotated[str | None, typer.Option("--vaccine", metavar="TEXT", help="Only this vaccine.")] = None,
    hospital: Annotated[
        str | None, typer.Option("--hospital", metavar="TEXT", help="Only entries naming a hospital containing this.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """List the people waiting, in join order, with their place in line."""
    from vaxres.booking.waitlist import list_waiting

    entries = list_waiting(open_store(ctx), vaccine=vaccine, hospital=hospital)
    if json_out:
        print_json([e.as_json() for e in entries])
    elif not entries:
        print_line("Nobody is waiting.")
    else:
        render.waitlist_table(entries)


@app.command("leave", context_settings=NUMBER_ARGUMENTS)
@handles_errors
def leave(
    ctx: typer.Context,
    entry_id: Annotated[str, typer.Argument(metavar="ENTRY_ID", help="The waitlist entry.")],
    user: Annotated[
        str | None, typer.Option("--user", metavar="ID", help="Refuse unless the entry is this person's.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Stop waiting."""
    from vaxres.booking.waitlist import leave as leave_waitlist

    entry = leave_waitlist(open_store(ctx), entry_id, user=user)
    if json_out:
        print_json(entry.as_json())
    else:
        print_line(f"{entry.user} no longer waits for {entry.describe()} (entry {entry.id}).")
