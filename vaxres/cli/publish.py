"""vaxres publish scheduling-links"""

from typing import Annotated

import typer

from vaxres.cli.common import JsonOption, open_store
from vaxres.cli.output import handles_errors, print_json, print_line

app = typer.Typer(help="Publish availability for vaccine finders (SMART Scheduling Links).", no_args_is_help=True)


@app.command("scheduling-links")
@handles_errors
def scheduling_links(
    ctx: typer.Context,
    output: Annotated[
        str, typer.Option("--output", metavar="DIR", help="The folder a web server serves (vaxres makes it a link).")
    ],
    base_url: Annotated[
        str, typer.Option("--base-url", metavar="URL", help="The URL DIR is served at, e.g. https://example.org/slots.")
    ],
    booking_url: Annotated[
        str | None,
        typer.Option("--booking-url", metavar="URL", help="Where people book; each Slot links to it with ?slot=ID."),
    ] = None,
    booking_phone: Annotated[
        str | None, typer.Option("--booking-phone", metavar="TEXT", help="The phone number people book by.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Write the slots from today on as SMART Scheduling Links into DIR, whole or not at all.

    DIR/$bulk-publish (the manifest), locations.ndjson (one Location per hospital),
    schedules.ndjson (one Schedule per hospital and vaccine, with its CVX code and doses) and
    slots.ndjson (one Slot per slot: free or busy, the doses left, the day in the store's time
    zone). Readers see the previous publication or this one, never a mix; the same data gives
    the same files. See docs/interop.md.
    """
    from vaxres.exports.scheduling import PublishOptions, publish

    options = PublishOptions.parse(
        output=output, base_url=base_url, booking_url=booking_url, booking_phone=booking_phone
    )
    result = publish(open_store(ctx), options)
    if json_out:
        print_json(
            {
                "output": str(options.output),
                "folder": str(result.folder),
                "changed": result.changed,
                "locations": result.locations,
                "schedules": result.schedules,
                "slots": result.slots,
                "transaction_time": result.transaction_time,
                "manifest": f"{options.base_url}/$bulk-publish",
            }
        )
        return
    counts = ", ".join(
        f"{n:,} {noun if n == 1 else noun + 's'}"
        for n, noun in ((result.locations, "location"), (result.schedules, "schedule"), (result.slots, "slot"))
    )
    if result.changed:
        print_line(f"Published {counts} to {options.output} (transactionTime {result.transaction_time}).")
    else:
        print_line(f"Nothing changed: {options.output} already holds these {counts}.")
