"""vaxres slot add | list | update"""

from typing import Annotated

import typer

from vaxres.cli import render
from vaxres.cli.common import JsonOption, open_store
from vaxres.cli.output import handles_errors, print_json, print_line

app = typer.Typer(help="Register slots and see what is left.", no_args_is_help=True)

@app.command("add")
@handles_errors
def add(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", metavar="YYYY-MM-DD", help="Day of the slot, today or later.")],
    hospital: Annotated[str, typer.Option("--hospital", metavar="TEXT", help="Hospital name.")],
    vaccine: Annotated[str, typer.Option("--vaccine", metavar="TEXT", help="Vaccine type.")],
    quantity: Annotated[str, typer.Option("--quantity", metavar="N", help="Doses, 1 to 1,000,000.")],
    json_out: JsonOption = False,
) -> None:
    """Register a slot: date, hospital, vaccine, doses."""
    from vaxres.booking.slots import add_slot

    slot = add_slot(open_store(ctx, create=True), date=date, hospital=hospital, vaccine=vaccine, quantity=quantity)
    if json_out:
        print_json(slot.as_json())
    else:
        print_line(render.slot_added(slot))


@app.command("list")
@handles_errors
def list_(
    ctx: typer.Context,
    date: Annotated[str | None, typer.Option("--date", metavar="YYYY-MM-DD", help="Only this day.")] = None,
    hospital: Annotated[
        str | None, typer.Option("--hospital", metavar="TEXT", help="Only this hospital (any case).")
    ] = None,
    vaccine: Annotated[str | None, typer.Option("--vaccine", metavar="TEXT", help="Only this vaccine (any case).")] = None,
    available: Annotated[bool, typer.Option("--available", help="Only slots with doses left.")] = False,
    json_out: JsonOption = False,
) -> None:
    """List slots with their remaining doses."""
    from vaxres.booking.queries import list_slots

    slots = list_slots(open_store(ctx), date=date, hospital=hospital, vaccine=vaccine, available=available)
    if json_out:
        print_json([slot.as_json() for slot in slots])
    elif not slots:
        print_line("No slots match.")
    else:
        render.slots_table(slots)


@app.command("update")
@handles_errors
def update(
    ctx: typer.Context,
    slot_id: Annotated[str, typer.Argument(metavar="SLOT_ID", help="The slot to change.")],
    quantity: Annotated[
        str, typer.Option("--quantity", metavar="N", help="New capacity; not below the doses already booked.")
    ],
    json_out: JsonOption = False,
) -> None:
    """Set a slot's capacity.

    Remaining doses move by the difference; the capacity never drops below what is booked.
    """
    from vaxres.booking.slots import update_slot

    change = update_slot(open_store(ctx), slot_id, quantity=quantity)
    if json_out:
        print_json(change.slot.as_json())
    else:
        print_line(render.slot_updated(change))
