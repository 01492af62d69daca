"""Options shared by every command and the one way a command opens its store."""

from typing import Annotated

import typer

from vaxres.cli.output import JSON_HELP, print_json_stream, print_jsonl, print_line

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]

# The options both long lists (`slot list`, `outbox list`) take.
DEFAULT_LIMIT = 50
LimitOption = Annotated[
    str | None,
    typer.Option(
        "--limit",
        metavar="N",
        help=f"Show at most N rows, 1 to 10,000 (default {DEFAULT_LIMIT}; --json and --jsonl: all).",
    ),
]
AfterOption = Annotated[
    str | None, typer.Option("--after", metavar="ID", help="Start after this row of the list (the next page).")
]
FromOption = Annotated[str | None, typer.Option("--from", metavar="YYYY-MM-DD", help="From this day on.")]
ToOption = Annotated[str | None, typer.Option("--to", metavar="YYYY-MM-DD", help="Up to this day, included.")]
# Matched as `slot list` matches them (booking/queries.py: hospital_keys, vaccine_keys).
HospitalTextOption = Annotated[
    str | None, typer.Option("--hospital", metavar="TEXT", help="Hospitals whose name contains TEXT (any case).")
]
VaccineTextOption = Annotated[
    str | None,
    typer.Option("--vaccine", metavar="TEXT", help="Vaccines whose name or an alias contains TEXT (any case)."),
]
JsonlOption = Annotated[bool, typer.Option("--jsonl", help="Print one JSON object a line, as each row is read.")]
# The commands that show or send notification messages; vaxres.settings.chosen_language reads it.
LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        metavar="ko|en",
        help="Language of the messages (default: $VAXRES_LANG, else the store's, set by `vaxres db set-language`).",
    ),
]

# A reservation number typed as -1 is a bad number (exit 2 with the rule), not an unknown option.
NUMBER_ARGUMENTS = {"ignore_unknown_options": True}


def db_target(ctx: typer.Context) -> str | None:
    return ctx.find_root().obj.db


def open_store(
    ctx: typer.Context,
    *,
    target: str | None = None,
    create: bool = False,
    migrate: bool = True,
    option: str | None = None,
):
    """The store named by --db (or `target`, for a command that names a second store, which
    errors call `option`), opened
    by vaxres.db.opening and upgraded when behind, its changes made by --actor (or VAXRES_ACTOR,
    or the login name). Only commands that write pass create=True: a
    mistyped path given to a command that reads is "not found", never a new empty store."""
    from vaxres.db.opening import open_store as open_named_store
    from vaxres.settings import chosen_actor, target_option

    actor = chosen_actor(ctx.find_root().obj.actor)  # checked before a store is made
    store = open_named_store(
        db_target(ctx) if target is None else target,
        create=create,
        migrate=migrate,
        on_created=_say_created,
        actor=actor,
        option=option or target_option(db_target(ctx)),
    )
    for note in store.upgrade_notes:
        print_line(f"Note: {note}", to_stderr=True)
    return store


def _say_created(store) -> None:
    print_line(
        f"Created the store {store.display} (time zone {store.zone.key}; `vaxres db set-timezone` changes it).",
        to_stderr=True,
    )


def print_list(*, json_out: bool, jsonl: bool, limit: str | None, page, stream, table, nothing: str) -> None:
    """The shape both long lists share. --json and --jsonl stream every row (or the first
    --limit) as they are read; people get one page of DEFAULT_LIMIT and a footer when more follow.

    `page(limit)` returns a listing Page; `stream(limit)` a context manager over the records.
    """
    from vaxres.errors import InvalidInput

    if json_out and jsonl:
        raise InvalidInput("give --json or --jsonl, not both")
    if json_out or jsonl:
        with stream(limit) as records:
            (print_json_stream if json_out else print_jsonl)(record.as_json() for record in records)
        return
    shown = page(DEFAULT_LIMIT if limit is None else limit)
    if not shown.rows:
        print_line(nothing)
        return
    table(shown.rows)
    if shown.more:
        print_line(
            f"Showing {len(shown.rows):,} of {shown.total:,}; use --limit, --after {shown.next_after} or filters for more."
        )


OverrideOption = Annotated[
    str | None,
    typer.Option(
        "--override-eligibility",
        metavar="REASON",
        help="Book whatever the eligibility windows say; the reason and the actor go to the audit trail.",
    ),
]
