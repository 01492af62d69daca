"""The `vaxres` command: parse, call one service function, render. No SQL and no rules here."""

import importlib
import sys
from typing import Annotated

import typer
import typer.core

from vaxres import __version__
from vaxres.cli.output import print_json, print_line


class OneLineUsageErrors(typer.core.TyperGroup):
    """A usage error is one line on stderr like every other error ("Error: missing option
    '--user'; see `vaxres reserve --help`"), or one JSON object with --json, exit 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        given = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except KeyboardInterrupt:
            sys.exit(130)
        except Exception as error:
            if type(error).__name__ == "Abort":
                sys.exit(130)
            if not (hasattr(error, "format_message") and hasattr(error, "exit_code")):
                raise
            if type(error).__name__ == "NoArgsIsHelpError":
                error.show()  # type: ignore[attr-defined]
                sys.exit(error.exit_code)
            message = usage_message(error)
            if "--json" in given:
                print_json({"error": message, "code": "usage"}, to_stderr=True)
            else:
                print_line(f"Error: {message}", to_stderr=True)
            sys.exit(error.exit_code)
        sys.exit(result if isinstance(result, int) else 0)


def usage_message(error) -> str:
    """The parser's sentence in the house style: lower case, no final period, and where to look."""
    text = " ".join(error.format_message().split()).rstrip(".")
    if text[:1].isupper() and text[1:2].islower():
        text = text[0].lower() + text[1:]
    ctx = getattr(error, "ctx", None)
    return f"{text}; see `{ctx.command_path} --help`" if ctx is not None else text


def new_app() -> typer.Typer:
    return typer.Typer(
        name="vaxres",
        cls=OneLineUsageErrors,
        help="Vaccine slots, reservations and their notifications.\n\n"
        "Exit codes: 0 done, 1 refused by a rule, 2 invalid input, 3 not found, 75 busy (try again).",
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        add_completion=False,
    )


class Settings:
    """Root options every command can read through ctx (no dataclass: it slows `--help`)."""

    __slots__ = ("db", "actor")

    def __init__(self, db: str | None, actor: str | None = None):
        self.db = db
        self.actor = actor


def _show_version(value: bool) -> None:
    if value:
        print(f"vaxres {__version__}")
        raise typer.Exit()


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
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor",
            metavar="NAME",
            help="Who makes the changes, recorded with each one (see `vaxres log`). "
            "Default: $VAXRES_ACTOR, else the login name.",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    ctx.obj = Settings(db=db_target, actor=actor)


# Each command's module, in the order `vaxres --help` lists them: groups (a Typer app of their
# own) by their name, single commands through the module's register().
GROUPS = {
    "vaccine": "vaccine",
    "slot": "slot",
    "import": "imports",
    "outbox": "outbox",
    "waitlist": "waitlist",
    "person": "person",
    "window": "window",
    "db": "db",
    "export": "export",
    "publish": "publish",
    "token": "token",
}
COMMANDS = {
    "reserve": "booking",
    "cancel": "booking",
    "mypage": "booking",
    "reschedule": "lifecycle",
    "administer": "lifecycle",
    "close-day": "lifecycle",
    "show": "lifecycle",
    "remind": "remind",
    "log": "log",
    "report": "report",
    "demo": "demo",
    "serve": "serve",
}
ROOT_OPTIONS_WITH_VALUE = ("--db", "--actor")


def build_app(command: str | None = None) -> typer.Typer:
    """The app with every command, or with only `command` when one is named: a command's process
    never builds the other forty (their options, their help) it will not run."""
    built = new_app()
    built.callback()(root)
    if command in GROUPS:
        built.add_typer(importlib.import_module(f"vaxres.cli.{GROUPS[command]}").app, name=command)
    elif command in COMMANDS:
        importlib.import_module(f"vaxres.cli.{COMMANDS[command]}").register(built)
    else:
        for name, module in GROUPS.items():
            built.add_typer(importlib.import_module(f"vaxres.cli.{module}").app, name=name)
        for module in dict.fromkeys(COMMANDS.values()):
            importlib.import_module(f"vaxres.cli.{module}").register(built)
    return built


def invoked_command(args: list[str]) -> str | None:
    """The command named on the command line, past the root options; None for `--help`, `--version`, nothing."""
    given = iter(args)
    for arg in given:
        if arg in ROOT_OPTIONS_WITH_VALUE:
            next(given, None)
        elif arg.startswith("-"):
            if arg.split("=", 1)[0] not in ROOT_OPTIONS_WITH_VALUE:
                return None
        else:
            return arg
    return None


def __getattr__(name: str):
    """`vaxres.cli.app`: the whole app, for the tests' CliRunner and `typer vaxres.cli utils docs`."""
    if name == "app":
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(name)


def __dir__() -> list[str]:
    return sorted({*globals(), "app"})  # so that `typer vaxres.cli utils docs` finds the app


def main() -> None:
    """The console script."""
    build_app(invoked_command(sys.argv[1:]))(prog_name="vaxres")
