"""vaxres reschedule | administer | close-day | show"""

from typing import Annotated

import typer

from vaxres.cli import render
from vaxres.cli.booking import UserCheckOption
from vaxres.cli.common import NUMBER_ARGUMENTS, JsonOption, LangOption, OverrideOption, open_store
from vaxres.cli.output import handles_errors, print_json, print_line

ReservationArgument = Annotated[str, typer.Argument(metavar="RESERVATION_ID", help="The reservation number.")]


@handles_errors
def reschedule(
    ctx: typer.Context,
    reservation_id: ReservationArgument,
    slot_id: Annotated[str | None, typer.Option("--slot", metavar="SLOT_ID", help="The new slot, by id.")] = None,
    date: Annotated[
        str | None, typer.Option("--date", metavar="YYYY-MM-DD", help="Day of the new slot (instead of --slot).")
    ] = None,
    hospital: Annotated[
        str | None, typer.Option("--hospital", metavar="TEXT", help="Hospital of the new slot (default: the same).")
    ] = None,
    vaccine: Annotated[
        str | None, typer.Option("--vaccine", metavar="TEXT", help="Vaccine of the new slot (default: the same).")
    ] = None,
    user: UserCheckOption = None,
    override_eligibility: OverrideOption = None,
    json_out: JsonOption = False,
) -> None:
    """Move a booking to another slot, keeping its number.

    One transaction: the new slot gives a dose, the old one gets it back. When the new slot is
    refused (sold out, past, series rules), nothing changes.
    """
    from vaxres.booking.reschedule import reschedule as move

    result = move(
        open_store(ctx),
        reservation_id,
        slot_id=slot_id,
        date=date,
        hospital=hospital,
        vaccine=vaccine,
        user=user,
        override_eligibility=override_eligibility,
    )
    if json_out:
        print_json(result.as_json())
    else:
        print_line(render.rescheduled(result))


@handles_errors
def administer(
    ctx: typer.Context,
    reservation_id: ReservationArgument,
    lot: Annotated[str | None, typer.Option("--lot", metavar="LOT", help="The vaccine lot (batch) number.")] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires", metavar="YYYY-MM-DD", help="The lot's expiry; a lot expired before today is refused."
        ),
    ] = None,
    site: Annotated[
        str | None, typer.Option("--site", metavar="left-arm|right-arm", help="Where it was given.")
    ] = None,
    route: Annotated[
        str | None, typer.Option("--route", metavar="im|sc|id", help="Intramuscular, subcutaneous or intradermal.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Record that the dose was given, on the booking's day or after."""
    from vaxres.booking.dose_facts import DoseFacts
    from vaxres.booking.lifecycle import administer as record

    facts = DoseFacts.parse(expires=expires, site=site, route=route)
    booking = record(open_store(ctx), reservation_id, lot=lot, facts=facts)
    if json_out:
        print_json({**booking.as_json(), **facts.as_json()})
    else:
        print_line(render.administered(booking))


@handles_errors
def close_day(
    ctx: typer.Context,
    date: Annotated[
        str | None, typer.Argument(metavar="[DATE]", help="The last day to close, YYYY-MM-DD (default: yesterday).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Mark bookings still reserved on DATE or earlier as no-shows.

    Each gets a ReservationMissed message; their doses do not return to the slot. Running it
    again changes nothing.
    """
    from vaxres.booking.lifecycle import close_day as close

    result = close(open_store(ctx), date)
    if json_out:
        print_json(result.as_json())
    else:
        print_line(render.closed_day(result))


@handles_errors
def show(
    ctx: typer.Context, reservation_id: ReservationArgument, lang: LangOption = None, json_out: JsonOption = False
) -> None:
    """Show one reservation with its whole history."""
    from vaxres.booking.queries import show as history
    from vaxres.settings import chosen_language

    lang = chosen_language(lang)
    store = open_store(ctx)
    result = history(store, reservation_id, lang=lang)
    if json_out:
        print_json(result.as_json())
    else:
        render.history_table(result, store.zone)


def register(app: typer.Typer) -> None:
    app.command("reschedule", context_settings=NUMBER_ARGUMENTS)(reschedule)
    app.command("administer", context_settings=NUMBER_ARGUMENTS)(administer)
    app.command("close-day")(close_day)
    app.command("show", context_settings=NUMBER_ARGUMENTS)(show)
