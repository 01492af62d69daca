"""vaxres reserve | cancel | mypage"""

from typing import Annotated

import typer

from vaxres.cli import render
from vaxres.cli.common import JsonOption, open_store
from vaxres.cli.output import handles_errors, print_json, print_line


@handles_errors
def reserve(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", metavar="ID", help="The person booking.")],
    slot_id: Annotated[
        str | None, typer.Option("--slot", metavar="SLOT_ID", help="The slot, by id (or give date, hospital, vaccine).")
    ] = None,
    date: Annotated[str | None, typer.Option("--date", metavar="YYYY-MM-DD", help="Day of the slot.")] = None,
    hospital: Annotated[str | None, typer.Option("--hospital", metavar="TEXT", help="Hospital of the slot.")] = None,
    vaccine: Annotated[str | None, typer.Option("--vaccine", metavar="TEXT", help="Vaccine of the slot.")] = None,
    dose: Annotated[str, typer.Option("--dose", metavar="N", help="Which dose (1st, 2nd, ...), 1 to 10.")] = "1",
    json_out: JsonOption = False,
) -> None:
    """Book one dose of a slot for a person.

    The slot's remaining doses drop in the same transaction; a confirmation goes to the outbox.
    """
    from vaxres.booking.reservations import reserve as reserve_dose

    booking = reserve_dose(
        open_store(ctx), user=user, slot_id=slot_id, date=date, hospital=hospital, vaccine=vaccine, dose=dose
    )
    if json_out:
        print_json(booking.as_json())
    else:
        print_line(render.reserved(booking))


@handles_errors
def cancel(
    ctx: typer.Context,
    reservation_id: Annotated[str, typer.Argument(metavar="RESERVATION_ID", help="The reservation number.")],
    json_out: JsonOption = False,
) -> None:
    """Cancel a reservation and return its dose.

    The dose goes back to the slot in the same transaction; a notice goes to the outbox.
    """
    from vaxres.booking.reservations import cancel as cancel_reservation

    booking = cancel_reservation(open_store(ctx), reservation_id)
    if json_out:
        print_json(booking.as_json())
    else:
        print_line(render.cancelled(booking))


@handles_errors
def mypage(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(metavar="USER", help="The person's id.")],
    json_out: JsonOption = False,
) -> None:
    """Show a person's reservations, newest first."""
    from vaxres.booking.queries import my_page

    bookings = my_page(open_store(ctx), user)
    if json_out:
        print_json([booking.as_json() for booking in bookings])
    elif not bookings:
        print_line(f"{user.strip()} has no reservations.")
    else:
        render.mypage_table(bookings)


def register(app: typer.Typer) -> None:
    app.command("reserve")(reserve)
    app.command("cancel")(cancel)
    app.command("mypage")(mypage)
