"""vaxres vaccine list | add | update"""

from typing import Annotated

import typer

from vaxres.cli import render
from vaxres.cli.common import JsonOption, open_store
from vaxres.cli.output import handles_errors, print_json, print_line

app = typer.Typer(help="The vaccine catalog: names, aliases and dose series.", no_args_is_help=True)

AliasOption = Annotated[
    list[str] | None, typer.Option("--alias", metavar="ALIAS", help="Another name for it (repeat for more).")
]
IntervalOption = Annotated[
    str | None,
    typer.Option("--min-interval", metavar="DAYS", help="Least days between two doses (needed for 2 doses or more)."),
]


@app.command("list")
@handles_errors
def list_(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List the vaccines slots may name, with their aliases and series."""
    from vaxres.booking.vaccines import list_vaccines

    vaccines = list_vaccines(open_store(ctx))
    if json_out:
        print_json([v.as_json() for v in vaccines])
    elif not vaccines:
        print_line("The catalog is empty; add a vaccine with `vaxres vaccine add NAME --doses N`.")
    else:
        render.vaccines_table(vaccines)


@app.command("add")
@handles_errors
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The vaccine's name, as slots will show it.")],
    doses: Annotated[str, typer.Option("--doses", metavar="N", help="Doses in the primary series, 1 to 10.")],
    min_interval: IntervalOption = None,
    alias: AliasOption = None,
    json_out: JsonOption = False,
) -> None:
    """Add a vaccine to the catalog."""
    from vaxres.booking.vaccines import add_vaccine

    added = add_vaccine(open_store(ctx, create=True), name, doses=doses, min_interval=min_interval, aliases=alias or [])
    if json_out:
        print_json(added.as_json())
    else:
        print_line(f"Added {render.vaccine_line(added)}")


@app.command("update")
@handles_errors
def update(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The vaccine, by name or alias.")],
    doses: Annotated[
        str | None, typer.Option("--doses", metavar="N", help="Doses in the primary series, 1 to 10.")
    ] = None,
    min_interval: IntervalOption = None,
    alias: AliasOption = None,
    json_out: JsonOption = False,
) -> None:
    """Change a vaccine's series, or add aliases (the ones it has stay)."""
    from vaxres.booking.vaccines import update_vaccine

    changed = update_vaccine(
        open_store(ctx, create=True), name, doses=doses, min_interval=min_interval, aliases=alias or []
    )
    if json_out:
        print_json(changed.as_json())
    else:
        print_line(f"Updated {render.vaccine_line(changed)}")
