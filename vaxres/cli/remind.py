"""vaxres remind"""

from typing import Annotated

import typer

from vaxres.cli import render
from vaxres.cli.common import NUMBER_ARGUMENTS, JsonOption, open_store
from vaxres.cli.output import handles_errors, print_json, print_line


@handles_errors
def remind(
    ctx: typer.Context,
    days_before: Annotated[
        str,
        typer.Option(
            "--days-before", metavar="N", help="Remind bookings from today up to N days ahead, 0 to 30 (0: today only)."
        ),
    ] = "1",
    json_out: JsonOption = False,
) -> None:
    """Write a ReservationReminder for each reserved booking within N days.

    Each booking is reminded once per day and N, however often this runs (hourly from cron, or
    beside `outbox deliver --watch`); a booking moved to another day is reminded again for it.
    Cancelled, administered, missed and past bookings are not reminded.
    """
    from vaxres.booking.reminders import remind as write_reminders

    result = write_reminders(open_store(ctx), days_before)
    if json_out:
        print_json(result.as_json())
    else:
        print_line(render.reminded(result))


def register(app: typer.Typer) -> None:
    app.command("remind", context_settings=NUMBER_ARGUMENTS)(remind)
