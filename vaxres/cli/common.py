"""Options shared by every command and the one way a command opens its store."""

from typing import Annotated

import typer

from vaxres.cli.output import JSON_HELP, print_line

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]

# A reservation number typed as -1 is a bad number (exit 2 with the rule), not an unknown option.
NUMBER_ARGUMENTS = {"ignore_unknown_options": True}


def db_target(ctx: typer.Context) -> str | None:
    return ctx.find_root().obj.db


def open_store(ctx: typer.Context, *, target: str | None = None, create: bool = False, migrate: bool = True):
    """The store named by --db (or `target`, for a command that names a second store), opened
    by vaxres.db.opening and upgraded when behind. Only commands that write pass create=True: a
    mistyped path given to a command that reads is "not found", never a new empty store."""
    from vaxres.db.opening import open_store as open_named_store

    store = open_named_store(
        db_target(ctx) if target is None else target, create=create, migrate=migrate, on_created=_say_created
    )
    for note in store.upgrade_notes:
        print_line(f"Note: {note}", to_stderr=True)
    return store


def _say_created(store) -> None:
    print_line(
        f"Created the store {store.display} (time zone {store.zone.key}; `vaxres db set-timezone` changes it).",
        to_stderr=True,
    )
