"""vaxres slot add | list | update"""

from typing import Annotated

import typer

from vaxres.cli import render
from vaxres.cli.common import (
    AfterOption,
    FromOption,
    HospitalTextOption,
    JsonlOption,
    JsonOption,
    LimitOption,
    ToOption,
    VaccineTextOption,
    open_store,
    print_list,
)
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
    date_from: FromOption = None,
    date_to: ToOption = None,
    hospital: HospitalTextOption = None,
    vaccine: VaccineTextOption = None,
    available: Annotated[
        bool, typer.Option("--available", help="Only slots of today or later with doses left.")
    ] = False,
    after: AfterOption = None,
    limit: LimitOption = None,
    json_out: JsonOption = False,
    jsonl: JsonlOption = False,
) -> None:
    """List slots by date, hospital and vaccine, with their remaining doses."""
    from vaxres.booking.queries import slot_page, stream_slots

    store = open_store(ctx)
    filters = dict(
        date=date,
        date_from=date_from,
        date_to=date_to,
        hospital=hospital,
        vaccine=vaccine,
        available=available,
        after=after,
    )
    print_list(
        json_out=json_out,
        jsonl=jsonl,
        limit=limit,
        page=lambda n: slot_page(store, limit=n, **filters),
        stream=lambda n: stream_slots(store, limit=n, **filters),
        table=render.slots_table,
        nothing="No slots match.",
    )


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
