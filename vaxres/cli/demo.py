"""vaxres demo"""

import shlex

import typer

from vaxres.cli import render
from vaxres.cli.common import JsonOption, LangOption, db_target, open_store
from vaxres.cli.hints import explain
from vaxres.cli.output import handles_errors, print_json, print_line


def _outcome_line(outcome) -> str:
    from vaxres.booking.lifecycle import ClosedDay
    from vaxres.booking.model import SlotRecord
    from vaxres.booking.reschedule import Rescheduled
    from vaxres.booking.reservations import Cancellation
    from vaxres.booking.waitlist import Joined
    from vaxres.db.tables import ReservationStatus
    from vaxres.errors import VaxresError

    if isinstance(outcome, VaxresError):
        return f"refused (exit {outcome.exit_code}, {outcome.code}): {explain(outcome)}"
    if isinstance(outcome, SlotRecord):
        return render.slot_added(outcome)
    if isinstance(outcome, Cancellation):
        return "\n  ".join(
            [render.cancelled(outcome.reservation)]
            + [f"From the waitlist: {render.reserved(b)}" for b in outcome.from_waitlist]
        )
    if isinstance(outcome, Joined):
        return render.joined(outcome)
    if isinstance(outcome, Rescheduled):
        return render.rescheduled(outcome)
    if isinstance(outcome, ClosedDay):
        return render.closed_day(outcome)
    if outcome.status == ReservationStatus.ADMINISTERED:
        return render.administered(outcome)
    return render.reserved(outcome)


def _outcome_json(outcome):
    from vaxres.errors import VaxresError

    if isinstance(outcome, VaxresError):
        return {"error": explain(outcome), "code": outcome.code, "exit_code": outcome.exit_code}
    return outcome.as_json()


@handles_errors
def demo(ctx: typer.Context, lang: LangOption = None, json_out: JsonOption = False) -> None:
    """Show the main job on a fresh store.

    Registers slots, books, puts a person on the waitlist whom a cancellation then books,
    and shows my page, availability and the outbox.

    Uses a new temporary folder unless --db or VAXRES_DB names a store; refuses a store
    that already holds data.
    """
    from vaxres.admin.demo import demo_target, run_demo
    from vaxres.settings import chosen_language

    chosen = chosen_language(lang)
    target, temporary = demo_target(db_target(ctx))
    store = open_store(ctx, target=target, create=True, option="TMPDIR" if temporary else None)
    report = run_demo(store, temporary=temporary, lang=chosen)
    my_page = report.my_page
    assert my_page is not None  # the demo always books alice
    program = invoked_as()
    prefix = [*program, "--db", report.store.display]
    if json_out:
        print_json(
            {
                "store": report.store.display,
                "steps": [
                    {"command": shlex.join(prefix + s.command), "result": _outcome_json(s.outcome)}
                    for s in report.steps
                ],
                "mypage": my_page.as_json(),
                "slots": [s.as_json() for s in report.slots],
                "outbox": [m.as_json() for m in report.outbox],
            }
        )
        return
    where = "a new temporary folder" if report.temporary else "the store you named"
    print_line(f"Demo store: {report.store.display} (in {where}).\n")
    for s in report.steps:
        print_line(f"$ {shlex.join(prefix + s.command)}")
        print_line(f"  {_outcome_line(s.outcome)}")
    print_line(f"\n$ {shlex.join(prefix + ['mypage', report.my_page_user])}")
    render.mypage_table(my_page.reservations, report.store.zone)
    if my_page.next_dose is not None:
        print_line(f"Next: {my_page.next_dose.describe()}.")
    print_line(f"\n$ {shlex.join(prefix + ['slot', 'list'])}")
    render.slots_table(report.slots)
    print_line(
        f"\n$ {shlex.join(prefix + ['outbox', 'list'] + ([] if lang is None or chosen is None else ['--lang', chosen]))}"
    )
    render.outbox_table(report.outbox)
    print_line(
        "\nEvery change above wrote its notification to the outbox in the same transaction; "
        "they stay pending until a dispatcher delivers them.\n"
        f"Continue with this store:\n  export VAXRES_DB={shlex.quote(report.store.display)}\n"
        + "".join(
            f"  {shlex.join([*program, *command])}{comment}\n"
            for command, comment in (
                (["slot", "list", "--available"], ""),
                (["reserve", "--user", "dave", "--slot", "1"], ""),
                (["mypage", "dave"], ""),
                (
                    ["outbox", "list", "--status", "pending"],
                    "   # what a dispatcher will deliver (`outbox deliver` sends them)",
                ),
            )
        ).rstrip("\n")
    )


def invoked_as() -> list[str]:
    """How the user ran vaxres, so that the commands shown work when pasted: through `uv run`
    (which puts vaxres on the PATH only for its own child), `python -m vaxres`, or plainly."""
    import os
    import sys

    if os.environ.get("UV_RUN_RECURSION_DEPTH"):
        return ["uv", "run", "vaxres"]
    if sys.argv and sys.argv[0].endswith("__main__.py"):
        return ["python", "-m", "vaxres"]
    return ["vaxres"]


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
