"""The `vaxres` command: parse, call one service function, render. No SQL and no rules here."""

import sys
from typing import Annotated

import typer

from vaxres import __version__
from vaxres.cli import booking, db, demo, imports, lifecycle, outbox, slot, vaccine
from vaxres.cli.output import print_json

app = typer.Typer(
    name="vaxres",
    help="Vaccine slots, reservations and their notifications.\n\n"
    "Exit codes: 0 done, 1 refused by a rule, 2 invalid input, 3 not found, 75 busy (try again).",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class Settings:
    """Root options every command can read through ctx (no dataclass: it slows `--help`)."""

    __slots__ = ("db",)

    def __init__(self, db: str | None):
        self.db = db


def _show_version(value: bool) -> None:
    if value:
        print(f"vaxres {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db_target: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="TARGET",
            help="Store to use: a SQLite file path or a SQLAlchemy URL. "
            "Default: $VAXRES_DB, else vaxres.db in the user data folder (see `vaxres db path`).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    ctx.obj = Settings(db=db_target)


app.add_typer(vaccine.app, name="vaccine")
app.add_typer(slot.app, name="slot")
app.add_typer(imports.app, name="import")
app.add_typer(outbox.app, name="outbox")
app.add_typer(db.app, name="db")
booking.register(app)
lifecycle.register(app)
demo.register(app)


def main() -> None:
    """The console script. With --json, a usage error too is one JSON object on stderr."""
    if "--json" not in sys.argv[1:]:
        app(prog_name="vaxres")
        return
    try:
        result = app(prog_name="vaxres", standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        # Usage errors from the argument parser carry an exit code and a message of their own.
        if not (hasattr(error, "format_message") and hasattr(error, "exit_code")):
            raise
        print_json({"error": error.format_message(), "code": "usage"}, to_stderr=True)
        sys.exit(error.exit_code)
    sys.exit(result if isinstance(result, int) else 0)
