"""vaxres export slots | reservations | outbox | waitlist | persons | immunizations | patients | appointments"""

import gc
import signal
import sys
from typing import Annotated

import typer

from vaxres.cli.common import FromOption, LangOption, ToOption, open_store
from vaxres.cli.output import handles_errors, print_line, quiet_when_the_reader_leaves, rows_progress

app = typer.Typer(
    help="Write slots, reservations, messages, the waitlist or people as CSV or JSONL (the CSV of slots and "
    "reservations imports again as it is); doses given, people and bookings as FHIR R4 ndjson.",
    no_args_is_help=True,
)

FormatOption = Annotated[
    str, typer.Option("--format", metavar="csv|jsonl", help="CSV with the import's headers, or one JSON object a line.")
]
OutputOption = Annotated[
    str,
    typer.Option(
        "--output",
        metavar="FILE",
        help="The file to write, created readable by you only, whole or not at all; - for standard output.",
    ),
]
ExcelOption = Annotated[
    bool,
    typer.Option(
        "--excel",
        help="For Excel: UTF-8 with a byte-order mark, CRLF line ends, and a ' before any cell "
        "starting with = + - @ so that no formula runs (such a cell no longer imports as stored).",
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace the --output file if it exists.")]


def _run(ctx, kind, *, format, output, excel, force, date_from, date_to, statuses=None, lang=None) -> None:
    from dataclasses import replace

    from vaxres.exports.run import ExportOptions, export
    from vaxres.exports.sources import ExportFilter
    from vaxres.settings import chosen_language

    options = ExportOptions.parse(format=format, output=output, excel=excel, force=force)
    f = ExportFilter.parse(kind, date_from=date_from, date_to=date_to, statuses=statuses, lang=chosen_language(lang))
    store = open_store(ctx)
    # Data on a terminal and a bar on the same terminal would mix: the bar only when the rows go elsewhere.
    bar = _progress_bar() if sys.stderr.isatty() and not (options.to_stdout and sys.stdout.isatty()) else None
    gc.freeze()  # see cli/imports.py: the collector stops rescanning start-up objects per batch
    # A `kill` (SIGTERM) ends the export as Ctrl-C does, through the clean-up that removes the
    # temporary file, rather than leaving it behind.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        with quiet_when_the_reader_leaves():
            summary = export(store, kind, replace(options, progress=bar), f)
    finally:
        signal.signal(signal.SIGTERM, previous)
        gc.unfreeze()
        if bar is not None:
            bar.stop()
    if not options.to_stdout:
        print_line(f"Exported {summary.described} to {summary.output}.")
    if summary.uncoded:
        doses = f"{summary.uncoded:,} dose{'s' if summary.uncoded != 1 else ''}"
        print_line(
            f"Note: {doses} of a vaccine without CVX, SNOMED CT or ATC code, exported with the vaccine's name as "
            f"text only; add the codes with `vaxres vaccine update NAME --cvx CODE`",
            to_stderr=True,
        )
    if summary.beyond_excel:
        print_line(
            f"Note: Excel shows the first 1,048,575 rows of a sheet; this file has {summary.rows:,} "
            f"(narrow it with --from/--to)",
            to_stderr=True,
        )


def _terminated(signum, _frame) -> None:
    raise SystemExit(128 + signum)


def _progress_bar():
    """Rows written, rows/s and the time left, on stderr; gone when the export ends."""
    bar = rows_progress({"export": "Exporting"})

    def update(rows: int, total: int | None) -> None:
        bar("export", rows, rows, total)

    update.stop = bar.stop  # type: ignore[attr-defined]
    return update


@app.command("slots")
@handles_errors
def slots(
    ctx: typer.Context,
    format: FormatOption = "csv",
    output: OutputOption = "-",
    excel: ExcelOption = False,
    date_from: FromOption = None,
    date_to: ToOption = None,
    force: ForceOption = False,
) -> None:
    """Write the slots, as `vaxres import slots` reads them back.

    In the order of `slot list`: date, hospital, vaccine, quantity (the capacity), remaining, id.
    --from/--to: the slot's day.
    """
    _run(ctx, "slots", format=format, output=output, excel=excel, force=force, date_from=date_from, date_to=date_to)


@app.command("reservations")
@handles_errors
def reservations(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="reserved, administered, cancelled, no_show or all; repeat it or separate with commas "
            "(default: reserved,administered: the bookings an import of the file books again).",
        ),
    ] = None,
    format: FormatOption = "csv",
    output: OutputOption = "-",
    excel: ExcelOption = False,
    date_from: FromOption = None,
    date_to: ToOption = None,
    force: ForceOption = False,
) -> None:
    """Write the bookings, as `vaxres import reservations` books them again.

    In the order they were made: user, date, hospital, vaccine, dose, status, id, slot_id,
    reserved_at, cancelled_at, administered_at, lot. --from/--to: the slot's day.
    """
    _run(
        ctx, "reservations", format=format, output=output, excel=excel, force=force,
        date_from=date_from, date_to=date_to, statuses=status,
    )  # fmt: skip


@app.command("outbox")
@handles_errors
def outbox(
    ctx: typer.Context,
    format: FormatOption = "csv",
    output: OutputOption = "-",
    excel: ExcelOption = False,
    date_from: FromOption = None,
    date_to: ToOption = None,
    lang: LangOption = None,
    force: ForceOption = False,
) -> None:
    """Write the notification messages, oldest first.

    id, created_at, event, recipient, correlation_id, status, attempts, next_attempt_at,
    delivered_at, last_error, actor, message, payload (JSON). --from/--to: the day a message was
    written, in the store's time zone.
    """
    _run(
        ctx,
        "outbox",
        format=format,
        output=output,
        excel=excel,
        force=force,
        date_from=date_from,
        date_to=date_to,
        lang=lang,
    )


@app.command("waitlist")
@handles_errors
def waitlist(
    ctx: typer.Context,
    format: FormatOption = "csv",
    output: OutputOption = "-",
    excel: ExcelOption = False,
    date_from: FromOption = None,
    date_to: ToOption = None,
    force: ForceOption = False,
) -> None:
    """Write the people waiting, in join order.

    id, user, dose, vaccine, hospital, from, to, joined_at, position (in the vaccine's queue).
    --from/--to: the entries whose range of days overlaps them.
    """
    _run(ctx, "waitlist", format=format, output=output, excel=excel, force=force, date_from=date_from, date_to=date_to)


@app.command("persons")
@handles_errors
def persons(
    ctx: typer.Context,
    format: FormatOption = "csv",
    output: OutputOption = "-",
    excel: ExcelOption = False,
    date_from: FromOption = None,
    date_to: ToOption = None,
    force: ForceOption = False,
) -> None:
    """Write the people of the registry, in id order; never a resident registration number.

    id, name, birth_date, sex, phone, email, lang, guardian, groups (names joined by ';'),
    rrn_masked, created_at, updated_at, forgotten_at. --from/--to: the day they were registered (UTC).
    """
    _run(ctx, "persons", format=format, output=output, excel=excel, force=force, date_from=date_from, date_to=date_to)


FhirFormatOption = Annotated[
    str, typer.Option("--format", metavar="fhir", help="FHIR R4 resources, one a line (ndjson, as FHIR Bulk Data).")
]


@app.command("immunizations")
@handles_errors
def immunizations(
    ctx: typer.Context,
    format: FhirFormatOption = "fhir",
    output: OutputOption = "-",
    date_from: FromOption = None,
    date_to: ToOption = None,
    force: ForceOption = False,
) -> None:
    """Write every dose given as a FHIR R4 Immunization, one a line.

    Coded with the catalog's CVX, SNOMED CT and ATC codes (the vaccine's name as text); the
    person as a Patient reference, the time with the store's offset, lot, expiry, site, route,
    the hospital, the dose in its series. A note on stderr counts the doses whose vaccine has no
    code. --from/--to: the slot's day. See docs/interop.md.
    """
    _run(
        ctx,
        "immunizations",
        format=format,
        output=output,
        excel=False,
        force=force,
        date_from=date_from,
        date_to=date_to,
    )


@app.command("patients")
@handles_errors
def patients(
    ctx: typer.Context,
    format: FhirFormatOption = "fhir",
    output: OutputOption = "-",
    date_from: FromOption = None,
    date_to: ToOption = None,
    force: ForceOption = False,
) -> None:
    """Write the people as FHIR R4 Patients, one a line: name, birth date, gender, phone, e-mail.

    Never a resident registration number, not even masked. --from/--to: the day they were
    registered (UTC).
    """
    _run(ctx, "patients", format=format, output=output, excel=False, force=force, date_from=date_from, date_to=date_to)


@app.command("appointments")
@handles_errors
def appointments(
    ctx: typer.Context,
    format: FhirFormatOption = "fhir",
    output: OutputOption = "-",
    date_from: FromOption = None,
    date_to: ToOption = None,
    force: ForceOption = False,
) -> None:
    """Write the bookings and the waitlist as FHIR R4 Appointments, one a line.

    booked (reserved), fulfilled (administered), cancelled, noshow, and waitlist (with the
    requested days). --from/--to: the slot's day, or the entry's days overlapping them.
    """
    _run(
        ctx,
        "appointments",
        format=format,
        output=output,
        excel=False,
        force=force,
        date_from=date_from,
        date_to=date_to,
    )
