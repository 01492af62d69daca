"""vaxres outbox list | show | deliver | retry | prune"""

from typing import Annotated

import typer

from vaxres.cli import render
from vaxres.cli.common import (
    NUMBER_ARGUMENTS,
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
from vaxres.cli.output import handles_errors, print_json, print_line

app = typer.Typer(help="Notifications written with every change.", no_args_is_help=True)


@app.command("list")
@handles_errors
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option("--status", metavar="pending|in_flight|delivered|failed", help="Only messages in this state."),
    ] = None,
    recipient: Annotated[
        str | None, typer.Option("--recipient", metavar="USER", help="Only messages to this person (* for everyone).")
    ] = None,
    event: Annotated[
        str | None, typer.Option("--event", metavar="EVENT", help="Only this event, e.g. ReservationConfirmed.")
    ] = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    after: AfterOption = None,
    limit: LimitOption = None,
    lang: LangOption = None,
    json_out: JsonOption = False,
    jsonl: JsonlOption = False,
) -> None:
    """List notification messages, oldest first (--from/--to are days of the store's time zone: `vaxres db info`).

    One line each, the message cut to fit: `vaxres outbox show ID` prints one whole.
    """
    from vaxres.outbox.queries import outbox_page, stream_outbox
    from vaxres.settings import chosen_language

    lang = chosen_language(lang)
    store = open_store(ctx)
    filters = dict(status=status, recipient=recipient, event=event, date_from=date_from, date_to=date_to, after=after)
    if not any(value is not None for value in filters.values()):
        nothing = "The outbox is empty."
    elif status is not None and not any(value is not None for key, value in filters.items() if key != "status"):
        nothing = f"No {status.strip().lower()} messages."
    else:
        nothing = "No messages match."
    print_list(
        json_out=json_out,
        jsonl=jsonl,
        limit=limit,
        page=lambda n: outbox_page(store, limit=n, lang=lang, **filters),
        stream=lambda n: stream_outbox(store, limit=n, lang=lang, **filters),
        table=render.outbox_table,
        nothing=nothing,
    )


@app.command("show", context_settings=NUMBER_ARGUMENTS)
@handles_errors
def show(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(metavar="ID", help="The message, as `outbox list` numbers it.")],
    lang: LangOption = None,
    json_out: JsonOption = False,
) -> None:
    """One message whole: its facts, delivery state, last error, message and payload."""
    from vaxres.outbox.queries import show_message
    from vaxres.settings import chosen_language

    lang = chosen_language(lang)
    store = open_store(ctx)
    message = show_message(store, message_id, lang=lang)
    if json_out:
        print_json(message.as_json())
    else:
        print_line(render.message_details(message, store.zone))


@app.command("deliver")
@handles_errors
def deliver(
    ctx: typer.Context,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="TARGET",
            help="http(s):// URL (one POST per message); smtp://[USER@]HOST[:PORT][?starttls=yes&from=ADDRESS] "
            "or smtps:// (one e-mail per message to a person; the password in VAXRES_SMTP_PASSWORD); "
            "a .jsonl path or file:PATH; or - for stdout. "
            "Delivering marks the messages delivered, also to - (to look at them, use `outbox list`).",
        ),
    ],
    watch: Annotated[bool, typer.Option("--watch", help="Keep delivering until SIGINT or SIGTERM.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", metavar="N", help="Send at most N messages.")] = None,
    max_attempts: Annotated[
        int, typer.Option("--max-attempts", metavar="N", help="Attempts before a message fails for good.")
    ] = 5,
    backoff: Annotated[
        float, typer.Option("--backoff", metavar="SECONDS", help="First retry delay; doubles per attempt.")
    ] = 10.0,
    cooldown: Annotated[
        float,
        typer.Option(
            "--cooldown", metavar="SECONDS", help="How long the circuit stays open after 5 failures in a row."
        ),
    ] = 30.0,
    lease: Annotated[
        float,
        typer.Option(
            "--lease",
            metavar="SECONDS",
            help="How long a claimed message is ours before another dispatcher may take it.",
        ),
    ] = 60.0,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", metavar="N", help="Connections used at once (more help with a distant, slow target)."
        ),
    ] = 2,
    connect_timeout: Annotated[
        float, typer.Option("--connect-timeout", metavar="SECONDS", help="Webhook or SMTP connect timeout.")
    ] = 3.0,
    read_timeout: Annotated[
        float, typer.Option("--read-timeout", metavar="SECONDS", help="Webhook or SMTP answer timeout.")
    ] = 10.0,
    lang: LangOption = None,
    json_out: JsonOption = False,
) -> None:
    """Deliver due notifications to a webhook, by e-mail, to a file or stdout.

    At least once, in id order per recipient, with retries and a circuit breaker shared through
    the store. Exit 75 when the target's circuit is open and due messages remain, or when the
    target cannot take anything now (a full disk). A delivered message is kept, marked
    delivered: it is the store's history (`vaxres log`) until `vaxres outbox prune` removes it.
    """
    from vaxres.errors import Unavailable
    from vaxres.outbox.dispatch import DeliverOptions, open_target
    from vaxres.outbox.dispatch import deliver as deliver_messages
    from vaxres.settings import chosen_language

    options = DeliverOptions(
        target=to,
        watch=watch,
        limit=limit,
        max_attempts=max_attempts,
        backoff=backoff,
        cooldown=cooldown,
        lease=lease,
        workers=workers,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        lang=chosen_language(lang),
    )
    sink = open_target(options)  # options, target and credentials: checked before the store is opened
    try:
        store = open_store(ctx)
    except BaseException:
        sink.close()
        raise
    if watch:
        _log_to_stderr()
    with _stop_on_signals() as stop:
        report = deliver_messages(store, options, stop=stop, sink=sink)
    summary_to_stderr = to == "-"  # stdout carries the messages themselves
    if json_out:
        print_json(report.as_json(), to_stderr=summary_to_stderr)
    else:
        print_line(
            f"Delivered {report.delivered} to {report.target}; {report.retried} will be retried later; "
            f"{report.failed} failed for good.",
            to_stderr=summary_to_stderr,
        )
    if report.unavailable is not None:
        raise Unavailable(
            f"{report.unavailable}; {report.due} due messages wait as pending; try again later",
            code="target_unavailable",
        )
    if report.circuit_open_until is not None and report.due:
        from vaxres.formats import iso_utc

        raise Unavailable(
            f"{report.target} keeps failing, so its circuit is open until {iso_utc(report.circuit_open_until)}; "
            f"{report.due} due messages wait; try again after that (or run with --watch)",
            code="circuit_open",
        )


@app.command("retry")
@handles_errors
def retry(
    ctx: typer.Context,
    ids: Annotated[list[str] | None, typer.Argument(metavar="ID...", help="Failed messages to send again.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed message.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Put failed messages back to pending, due now, with a fresh count of attempts."""
    from vaxres.outbox.retry import retry as retry_messages

    count = retry_messages(open_store(ctx), ids or [], all_failed=failed)
    if json_out:
        print_json({"pending_again": count})
    else:
        print_line(f"{count} message{'s' if count != 1 else ''} back to pending.")


@app.command("prune")
@handles_errors
def prune(
    ctx: typer.Context,
    before: Annotated[
        str,
        typer.Option(
            "--before",
            metavar="YYYY-MM-DD",
            help="Remove the delivered messages created before this day of the store's calendar (today at the latest).",
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say how many would be removed.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Remove old delivered messages, and with them their part of `vaxres log`.

    Only delivered messages go: pending, in-flight and failed ones are kept whatever their age,
    and so is everything created today. Nothing else ever deletes a message. Runs in short
    transactions of 5,000 messages, so other commands are not held up by a big prune.
    """
    from vaxres.outbox.prune import prune as prune_messages

    result = prune_messages(open_store(ctx), before, dry_run=dry_run)
    if json_out:
        print_json(result.as_json())
        return
    counted = f"{result.count:,} delivered message{'s' if result.count != 1 else ''}"
    day = result.before.isoformat()
    if result.dry_run:
        print_line(f"Would prune {counted} created before {day}; pending, in-flight and failed ones are kept.")
    else:
        print_line(f"Pruned {counted} created before {day}; pending, in-flight and failed ones are kept.")


class _stop_on_signals:
    """SIGINT/SIGTERM ask the dispatcher to finish the message in hand and stop."""

    def __enter__(self):
        import signal
        import threading

        self.stop = threading.Event()
        self.previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[sig] = signal.signal(sig, lambda *_: self.stop.set())
            except ValueError:  # not the main thread
                pass
        return self.stop

    def __exit__(self, *exc):
        import signal

        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _log_to_stderr() -> None:
    """A watching dispatcher runs for hours: what it lives through goes to stderr, one line each,
    in UTC. A target's answer is the target's text: escaped like any text from outside."""
    import logging
    import time

    from vaxres.cli.output import shown

    class OneLine(logging.Formatter):
        converter = time.gmtime  # type: ignore[assignment]

        def formatMessage(self, record: logging.LogRecord) -> str:
            record.message = shown(record.message).replace("\n", "\\n")
            return super().formatMessage(record)

    handler = logging.StreamHandler()
    handler.setFormatter(OneLine("%(asctime)s vaxres outbox: %(message)s", datefmt="%Y-%m-%dT%H:%M:%SZ"))
    logger = logging.getLogger("vaxres.outbox")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
