"""vaxres log"""

from typing import Annotated

import typer

from vaxres.cli import render
from vaxres.cli.common import (
    AfterOption,
    FromOption,
    JsonlOption,
    JsonOption,
    LangOption,
    LimitOption,
    ToOption,
    open_store,
    print_list,
)
from vaxres.cli.output import handles_errors


@handles_errors
def log(
    ctx: typer.Context,
    reservation: Annotated[
        str | None, typer.Option("--reservation", metavar="ID", help="Only the changes of this reservation.")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", "--person", metavar="ID", help="Only the changes about this person.")
    ] = None,
    slot: Annotated[
        str | None,
        typer.Option("--slot", metavar="ID", help="Only this slot: its registration, updates and every booking in it."),
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", metavar="NAME", help="Only the changes this actor made (as recorded).")
    ] = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    after: AfterOption = None,
    limit: LimitOption = None,
    lang: LangOption = None,
    json_out: JsonOption = False,
    jsonl: JsonlOption = False,
) -> None:
    """The store's history: every change, oldest first, with when, who made it and what it was.

    Read from the outbox, where each change writes its message in its own transaction, signed
    by `vaxres --actor NAME` (or $VAXRES_ACTOR, or the login name; "unknown" for changes made
    before vaxres recorded it). Days of --from/--to are the store's; times in tables are in its
    time zone, in JSON in UTC. Delivering a message keeps it: the history stays until
    `vaxres outbox prune` removes old delivered messages.
    """
    from vaxres.admin.log import log_page, stream_log
    from vaxres.settings import chosen_language

    lang = chosen_language(lang)
    store = open_store(ctx)
    filters = dict(
        reservation=reservation, user=user, slot=slot, actor=actor, date_from=date_from, date_to=date_to, after=after
    )
    filtered = any(value is not None for key, value in filters.items() if key != "after")
    print_list(
        json_out=json_out,
        jsonl=jsonl,
        limit=limit,
        page=lambda n: log_page(store, limit=n, lang=lang, **filters),
        stream=lambda n: stream_log(store, limit=n, lang=lang, **filters),
        table=lambda entries: render.log_table(entries, store.zone),
        nothing="No changes match." if filtered else "No changes recorded yet.",
    )


def register(app: typer.Typer) -> None:
    app.command("log")(log)
