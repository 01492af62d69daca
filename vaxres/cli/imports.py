"""vaxres import slots | reservations | persons"""

import gc
import sys
from typing import Annotated

import typer

from vaxres.cli.common import JsonOption, OverrideOption, open_store
from vaxres.cli.hints import next_step
from vaxres.cli.output import (
    handles_errors,
    print_json,
    print_line,
    print_table,
    report_error,
    rows_progress,
)

app = typer.Typer(help="Load slots, reservations or people from CSV files.", no_args_is_help=True)

FileArgument = Annotated[str, typer.Argument(metavar="FILE", help="CSV file, or - for standard input.")]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        metavar="NAME",
        help="File encoding, e.g. cp949 or utf-16 (default: detected: a byte-order mark, else UTF-8, else CP949).",
    ),
]
DelimiterOption = Annotated[
    str | None,
    typer.Option("--delimiter", metavar="CHAR", help="Field separator: ',', ';' or a tab (default: sniffed)."),
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Validate and report what would change; write nothing.")]
SkipInvalidOption = Annotated[
    bool, typer.Option("--skip-invalid", help="Load the valid rows even when some rows are invalid.")
]
RejectsOption = Annotated[
    str | None,
    typer.Option(
        "--rejects",
        metavar="PATH",
        help="Write refused and invalid rows, with line and reason columns, as CSV: in file order, in the file's encoding.",
    ),
]


ForceOption = Annotated[bool, typer.Option("--force", help="Replace the --rejects file if it exists.")]


def _options(encoding, delimiter, dry_run, skip_invalid, rejects, force, json_out, region="KR", override=None):
    from vaxres.imports.run import ImportOptions

    if delimiter in ("\\t", "tab", "TAB"):
        delimiter = "\t"
    show_progress = not json_out and sys.stderr.isatty()
    return ImportOptions(
        encoding=encoding,
        delimiter=delimiter,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        rejects=rejects,
        force=force,
        progress=rows_progress({"check": "Checking", "load": "Loading "}) if show_progress else None,
        next_step=next_step,
        region=region,
        override_eligibility=override,
    )


def _run(
    kind, ctx, file, encoding, delimiter, dry_run, skip_invalid, rejects, force, json_out, region="KR", override=None
):
    from vaxres.imports import run as imports
    from vaxres.imports.report import InvalidRows

    options = _options(encoding, delimiter, dry_run, skip_invalid, rejects, force, json_out, region, override)
    run = {"slots": imports.import_slots, "persons": imports.import_persons}.get(kind, imports.import_reservations)
    store = open_store(ctx, create=kind in ("slots", "persons") and not dry_run)
    # The objects start-up made (SQLAlchemy, Typer, Rich) live through the import. Frozen, the
    # cyclic collector stops rescanning them each time the rows' short-lived tuples trigger a
    # collection (about 0.3 s of a 1,000,000-row import); thawed afterwards, so that an
    # in-process caller (tests, an embedding program) keeps a normal collector.
    gc.freeze()
    try:
        summary = run(store, file, options)
    except InvalidRows as invalid:
        # The report is the result here: JSON summary on stdout, or the error line then the rows.
        _stop(options)
        report_error(invalid, json_out)
        if json_out:
            print_json(invalid.summary.as_json())
        else:
            _row_errors(invalid.summary)
        raise typer.Exit(invalid.exit_code) from None
    finally:
        gc.unfreeze()
        _stop(options)  # before any error line: printed under a live bar it would sit above its last frame
    if json_out:
        print_json(summary.as_json())
    else:
        _summary(summary)
    if summary.refused or summary.invalid:
        raise typer.Exit(1)


def _stop(options) -> None:
    stop = getattr(options.progress, "stop", None)
    if stop:
        stop()


def _summary(summary) -> None:
    """The summary table on stdout, then the first refused or invalid rows on stderr."""
    if summary.dry_run:
        print_line(
            f"Dry run of the {summary.kind} import from {summary.source} (read as {summary.encoding}): nothing was written."
        )
    else:
        print_line(f"Imported {summary.kind} from {summary.source} (read as {summary.encoding}).")
    print_table(None, ("outcome", "rows"), [(name, f"{count:,}") for name, count in summary.counts().items()])
    if summary.from_waitlist:
        print_line(f"{summary.from_waitlist:,} of the new doses went at once to people waiting.")
    if summary.rejects and (summary.refused or summary.invalid):
        print_line(f"Refused and invalid rows were written to {summary.rejects}.")
    _row_errors(summary)


def _row_errors(summary) -> None:
    for error in summary.errors:
        print_line(f"  {error.describe()}", to_stderr=True)
    if summary.unreported > 0:
        print_line(f"  ... and {summary.unreported:,} more (use --rejects PATH to get them all)", to_stderr=True)


@app.command("slots")
@handles_errors
def slots(
    ctx: typer.Context,
    file: FileArgument,
    encoding: EncodingOption = None,
    delimiter: DelimiterOption = None,
    dry_run: DryRunOption = False,
    skip_invalid: SkipInvalidOption = False,
    rejects: RejectsOption = None,
    force: ForceOption = False,
    json_out: JsonOption = False,
) -> None:
    """Register or update slots from CSV: date, hospital, vaccine, quantity.

    Vaccines are named as in the catalog, by name or alias. A row whose slot exists sets its
    capacity to the row's quantity. Any invalid row stops the import before anything is written,
    unless --skip-invalid. Exit 1 when a row was refused.
    """
    _run("slots", ctx, file, encoding, delimiter, dry_run, skip_invalid, rejects, force, json_out)


@app.command("reservations")
@handles_errors
def reservations(
    ctx: typer.Context,
    file: FileArgument,
    encoding: EncodingOption = None,
    delimiter: DelimiterOption = None,
    dry_run: DryRunOption = False,
    skip_invalid: SkipInvalidOption = False,
    rejects: RejectsOption = None,
    force: ForceOption = False,
    override_eligibility: OverrideOption = None,
    json_out: JsonOption = False,
) -> None:
    """Book from CSV: user, date, hospital, vaccine, optional dose.

    Each row books like `vaxres reserve`, in file order: an unknown slot, a past slot, the series
    rules (dose order, vaccine, interval, series length), the eligibility windows or a sold-out
    slot refuse that row only. Rows already held by the same user count as done. Exit 1 when a
    row was refused.
    """
    _run(
        "reservations",
        ctx,
        file,
        encoding,
        delimiter,
        dry_run,
        skip_invalid,
        rejects,
        force,
        json_out,
        override=override_eligibility,
    )


@app.command("persons")
@handles_errors
def persons(
    ctx: typer.Context,
    file: FileArgument,
    region: Annotated[
        str, typer.Option("--region", metavar="CC", help="Country a phone number without + is read in (default KR).")
    ] = "KR",
    encoding: EncodingOption = None,
    delimiter: DelimiterOption = None,
    dry_run: DryRunOption = False,
    skip_invalid: SkipInvalidOption = False,
    rejects: RejectsOption = None,
    force: ForceOption = False,
    json_out: JsonOption = False,
) -> None:
    """Register or update people from CSV: id, then any of name, rrn, birth_date, sex, phone,
    email, lang, guardian, groups (names separated by ';').

    Each value is checked as `vaxres person add` checks it. An id the registry has is updated
    with the row's non-empty cells, like `vaxres person update`. A number is kept only as a
    fingerprint: the --rejects file and the report show it masked (900512-1******). A guardian
    may be registered already or come on any row of the file. Any invalid row stops the import
    before anything is written, unless --skip-invalid. Exit 1 when a row was refused.
    """
    _run("persons", ctx, file, encoding, delimiter, dry_run, skip_invalid, rejects, force, json_out, region)
