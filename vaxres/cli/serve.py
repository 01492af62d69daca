"""vaxres serve"""

from typing import Annotated

import typer

from vaxres.cli.common import open_store
from vaxres.cli.output import handles_errors, print_line

SQLITE_INFLIGHT = 2  # measured best (benchmarks/bench_serve.py): more only wait in SQLite's busy handler
SERVER_INFLIGHT = 8


def _count(value: str | None, option: str, *, low: int = 1, high: int = 10_000) -> int | None:
    from vaxres.errors import InvalidValue

    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise InvalidValue(option, value, f"must be a whole number from {low} to {high:,}")
    return number


def _seconds(value: str) -> float:
    from vaxres.errors import InvalidValue

    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 60:
        raise InvalidValue("--queue-timeout", value, "must be a number of seconds from 0 to 60")
    return seconds


@handles_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[str, typer.Option("--port", metavar="N", help="Port to listen on.")] = "8000",
    workers: Annotated[str, typer.Option("--workers", metavar="N", help="Worker processes.")] = "1",
    max_inflight: Annotated[
        str | None,
        typer.Option(
            "--max-inflight",
            metavar="N",
            help="At most N changes under way at once in each worker (default: 2 on SQLite, whose writes take "
            "turns on one file, 8 on PostgreSQL).",
        ),
    ] = None,
    queue: Annotated[
        str,
        typer.Option(
            "--queue", metavar="N", help="Up to N more changes wait their turn; one more is answered 503 at once."
        ),
    ] = "128",
    queue_timeout: Annotated[
        str,
        typer.Option(
            "--queue-timeout", metavar="SECONDS", help="A change waits at most this long, then is answered 503."
        ),
    ] = "1",
) -> None:
    """Serve the booking API over HTTP (see docs/serve.md): the same rules and store as the commands.

    Each worker lets in --max-inflight changes at once and --queue more waiting at most
    --queue-timeout seconds; beyond that a change is answered 503 with Retry-After at once, so
    a rush gets quick refusals, never a hang (reads: 16 at once, the same queue; docs/serve.md).

    Needs the `serve` extra (pip install 'vaxres[serve]'). Callers need a token (`vaxres token add`).
    Put TLS in front of it (a reverse proxy) anywhere but on this machine.
    """
    import os

    from vaxres.errors import InvalidInput

    port_number = _count(port, "--port", high=65535)
    worker_count = _count(workers, "--workers", high=64)
    limits = (
        _count(max_inflight, "--max-inflight", high=1000),
        _count(queue, "--queue", low=0),
        _seconds(queue_timeout),
    )
    try:
        import uvicorn

        from vaxres.api.app import LIMITS_ENV
        from vaxres.api.protocol import BoundedHttpTools
    except ImportError as missing:
        raise InvalidInput(f"vaxres serve needs {missing.name!r}: pip install 'vaxres[serve]'") from None
    store = open_store(ctx, create=True)
    store.schema_state()  # made and upgraded here, once, before any worker starts
    os.environ["VAXRES_DB"] = str(store.path) if store.path else store.url.render_as_string(hide_password=False)
    inflight = limits[0] or (SQLITE_INFLIGHT if store.is_sqlite else SERVER_INFLIGHT)
    os.environ[LIMITS_ENV] = ",".join(str(limit) for limit in (inflight, *limits[1:]))
    store.dispose()
    print_line(f"Serving {store.display} on http://{host}:{port_number} (Ctrl-C stops).", to_stderr=True)
    uvicorn.run(
        "vaxres.api.app:from_environment",
        factory=True,
        host=host,
        port=port_number or 8000,
        workers=worker_count,
        log_level="warning",
        http=BoundedHttpTools,  # httptools, with the request's head bounded (vaxres/api/protocol.py)
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
