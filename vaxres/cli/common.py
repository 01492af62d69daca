"""Options shared by every command and the way a command finds its store."""

from typing import Annotated

import typer

from vaxres.cli.output import JSON_HELP

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def db_target(ctx: typer.Context) -> str | None:
    return ctx.find_root().obj.db


def open_store(ctx: typer.Context):
    from vaxres.store import open_store

    return open_store(db_target(ctx))
