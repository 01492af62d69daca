"""vaxres db path | info | current | upgrade | set-timezone | set-language | copy"""

from typing import Annotated

import typer

from vaxres.cli.common import JsonOption, db_target, open_store
from vaxres.cli.output import handles_errors, print_json, print_line

app = typer.Typer(
    help="The store: where it is, what it holds, its schema revision, time zone and language.", no_args_is_help=True
)


@app.command("path")
@handles_errors
def path(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Print the store in use (--db, else $VAXRES_DB, else the default file)."""
    from vaxres.settings import describe_target

    store = describe_target(db_target(ctx))
    if json_out:
        print_json({"store": store})
    else:
        print_line(store)


@app.command("info")
@handles_errors
def info(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Describe the store: path, backend, revision, time zone, language and what it holds."""
    from vaxres.admin.database import store_info

    report = store_info(open_store(ctx, migrate=False))
    if json_out:
        print_json(report.as_json())
        return
    revision = (
        f"{report.current} (head)"
        if report.current == report.head
        else (f"{report.current or 'empty'} (behind: this vaxres needs {report.head}; run `vaxres db upgrade`)")
    )
    lines = [("Store", report.store), ("Backend", report.backend), ("Revision", revision)]
    if report.timezone is not None:
        lines.append(("Time zone", f"{report.timezone} (today is {report.today} there)"))
        lines.append(("Language", f"{report.language} (of notification messages)"))
        lines.append(("Vaccines", f"{report.counts['vaccines']:,}"))
        lines.append(("Slots", f"{report.counts['slots']:,}"))
        lines.append(("Reservations", _by_status(report.counts["reservations"], report.reservations)))
        lines.append(("Outbox", _by_status(report.counts["outbox"], report.outbox)))
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        print_line(f"{label + ':':<{width + 1}} {value}")


def _by_status(total: int, by_status: dict[str, int]) -> str:
    parts = ", ".join(f"{count:,} {status.replace('_', '-')}" for status, count in by_status.items() if count)
    return f"{total:,}" + (f" ({parts})" if parts else "")


@app.command("set-timezone")
@handles_errors
def set_timezone(
    ctx: typer.Context,
    zone: Annotated[str, typer.Argument(metavar="ZONE", help="An IANA time zone: Asia/Seoul, Europe/Berlin, UTC...")],
    json_out: JsonOption = False,
) -> None:
    """Set the store's time zone: what "today" and "in the past" mean for every machine using it.

    Times in tables are shown in it; JSON times stay UTC (ISO 8601 with Z).
    """
    from vaxres.admin.database import set_timezone as set_store_timezone

    change = set_store_timezone(open_store(ctx), zone)
    if json_out:
        print_json(change.as_json())
    elif change.previous == change.timezone:
        print_line(f"The store's time zone is already {change.timezone}; nothing changed.")
    else:
        print_line(
            f"The store's time zone is now {change.timezone} (was {change.previous}); today there is {change.today}."
        )


@app.command("set-language")
@handles_errors
def set_language(
    ctx: typer.Context,
    language: Annotated[str, typer.Argument(metavar="ko|en", help="Korean or English.")],
    json_out: JsonOption = False,
) -> None:
    """Set the store's language: the one notification messages are listed and delivered in.

    Only the readable message changes (also for messages written before); the facts stay as they
    are. `--lang` and $VAXRES_LANG choose another for one command. A store never set is English.
    """
    from vaxres.admin.database import set_language as set_store_language

    change = set_store_language(open_store(ctx), language)
    if json_out:
        print_json(change.as_json())
    elif change.previous == change.language:
        print_line(f"The store's language is already {change.language}; nothing changed.")
    else:
        print_line(f"The store's language is now {change.language} (was {change.previous}).")


@app.command("current")
@handles_errors
def current(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Print the store's schema revision and the one this vaxres needs."""
    from vaxres.admin.database import current_revision

    report = current_revision(open_store(ctx, migrate=False))
    if json_out:
        print_json(report.as_json())
    elif report.up_to_date:
        print_line(f"{report.current} (head)")
    else:
        print_line(f"{report.current or 'empty'} (behind: this vaxres needs {report.head}; run `vaxres db upgrade`)")


@app.command("upgrade")
@handles_errors
def upgrade(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Migrate the store to this vaxres's schema (SQLite files are backed up first)."""
    from vaxres.admin.database import upgrade as upgrade_store

    report = upgrade_store(open_store(ctx, create=True, migrate=False))
    if json_out:
        print_json(report.as_json())
    elif report.before == report.after:
        print_line(f"{report.store} is already at {report.after} (head); nothing to do.")
    else:
        line = f"Upgraded {report.store} from {report.before or 'empty'} to {report.after}."
        if report.backup is not None:
            line += f" Backup: {report.backup}"
        print_line(line)
        for note in report.notes:
            print_line(f"  {note}")


@app.command("copy")
@handles_errors
def copy(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="TARGET", help="An empty store: a file path or a database URL.")],
    json_out: JsonOption = False,
) -> None:
    """Copy everything into an empty store (SQLite to PostgreSQL, or back).

    One transaction on the target; counts and the capacity invariant are checked before it commits.
    """
    from vaxres.admin.copy import copy as copy_store

    report = copy_store(open_store(ctx), open_store(ctx, target=target, create=True, option="TARGET"))
    if json_out:
        print_json(report.as_json())
    else:
        counts = report.counts
        print_line(
            f"Copied {counts['vaccine']} vaccines, {counts['slot']} slots, {counts['reservation']} reservations, "
            f"{counts['outbox']} outbox messages and {counts['delivery_target']} delivery targets "
            f"from {report.source} to {report.target}; "
            f"counts and capacity = remaining + doses taken verified."
        )
