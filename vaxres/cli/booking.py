"""vaxres reserve | cancel | mypage"""

from typing import Annotated

import typer

from vaxres.cli import render
from vaxres.cli.common import NUMBER_ARGUMENTS, JsonOption, OverrideOption, open_store
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
    override_eligibility: OverrideOption = None,
    json_out: JsonOption = False,
) -> None:
    """Book one dose of a slot for a person.

    The slot's remaining doses drop in the same transaction; a confirmation goes to the outbox.
    """
    from vaxres.booking.reservations import reserve as reserve_dose

    booking = reserve_dose(
        open_store(ctx),
        user=user,
        slot_id=slot_id,
        date=date,
        hospital=hospital,
        vaccine=vaccine,
        dose=dose,
        override_eligibility=override_eligibility,
    )
    if json_out:
        print_json(booking.as_json())
    else:
        print_line(render.reserved(booking))


UserCheckOption = Annotated[
    str | None,
    typer.Option(
        "--user", metavar="ID", help="The person it should belong to: refused (not_owner) when it is not theirs."
    ),
]


@handles_errors
def cancel(
    ctx: typer.Context,
    reservation_id: Annotated[str, typer.Argument(metavar="RESERVATION_ID", help="The reservation number.")],
    user: UserCheckOption = None,
    json_out: JsonOption = False,
) -> None:
    """Cancel a reservation and return its dose.

    The person's later doses of the series are cancelled with it. The doses go back to their
    slots in the same transaction; a notice per booking goes to the outbox. A booking whose
    day has passed cannot be cancelled.
    """
    from vaxres.booking.reservations import cancel as cancel_reservation

    result = cancel_reservation(open_store(ctx), reservation_id, user=user)
    if json_out:
        print_json(result.as_json())
        return
    for booking in (result.reservation, *result.also_cancelled):
        print_line(render.cancelled(booking))
    for booking in result.from_waitlist:
        print_line(f"From the waitlist: {render.reserved(booking)}")


@handles_errors
def mypage(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(metavar="USER", help="The person's id.")],
    json_out: JsonOption = False,
) -> None:
    """Show a person's reservations and the dose they may book next."""
    from vaxres.booking.queries import my_page

    store = open_store(ctx)
    page = my_page(store, user)
    if json_out:
        print_json(page.as_json())
        return
    who = page.person
    if who is not None and who.forgotten_at is None:
        known = [who.name, who.masked_birth_date and f"born {who.masked_birth_date}", who.phone, who.email]
        if any(known):
            print_line(f"{page.user}: {', '.join(value for value in known if value)}")
    if not page.reservations:
        print_line(f"{page.user} has no reservations.")
    else:
        render.mypage_table(page.reservations, store.zone)
    if page.next_dose is not None:
        print_line(f"Next: {page.next_dose.describe()}.")
    for entry in page.waiting:
        print_line(f"Waiting: {entry.describe()} (entry {entry.id}, number {entry.position} in line).")


def register(app: typer.Typer) -> None:
    app.command("reserve")(reserve)
    app.command("cancel", context_settings=NUMBER_ARGUMENTS)(cancel)
    app.command("mypage")(mypage)
