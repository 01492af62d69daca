"""vaxres outbox list"""

from typing import Annotated

import typer

from vaxres.cli.common import JsonOption, open_store
from vaxres.cli import render
from vaxres.cli.output import handles_errors, print_json, print_line

app = typer.Typer(help="Notifications written with every change.", no_args_is_help=True)


@app.command("list")
@handles_errors
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", metavar="pending|delivered|failed", help="Only messages in this state.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """List notification messages, oldest first."""
    from vaxres.read import list_outbox

    messages = list_outbox(open_store(ctx), status=status)
    if json_out:
        print_json([message.as_json() for message in messages])
    elif not messages:
        print_line("The outbox is empty." if status is None else f"No {status.strip().lower()} messages.")
    else:
        render.outbox_table(messages)
