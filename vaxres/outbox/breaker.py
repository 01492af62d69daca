"""The circuit breaker of a delivery target: a pure decision over the outcomes of one round, and
its state, saved in the store so that separate dispatcher runs share it.

After THRESHOLD failures in a row the circuit opens for a cool-down; then one probe goes
through, and each failed probe doubles the cool-down (up to MAX_COOLDOWN).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from vaxres.db.store import insert_on_conflict
from vaxres.db.tables import target_table
from vaxres.outbox.outcome import DELIVERED, RETRY, Outcome

THRESHOLD = 5
MAX_COOLDOWN = 3600.0

t = target_table.c
# What a long-running dispatcher lives through (a circuit opening or closing, a busy store, a
# target that takes nothing): silent unless the CLI gives it a handler (`outbox deliver --watch`).
log = logging.getLogger("vaxres.outbox")
log.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class BreakerState:
    consecutive_failures: int
    open_until: dt.datetime | None
    cooldown: float
    last_error: str | None = None

    def is_open(self, now: dt.datetime) -> bool:
        return self.open_until is not None and self.open_until > now

    @property
    def probing(self) -> bool:
        """The circuit has opened and its cool-down is over: one message tests the target."""
        return self.consecutive_failures >= THRESHOLD


def after_round(
    before: BreakerState, outcomes: Iterable[Outcome], *, default_cooldown: float, now: dt.datetime
) -> BreakerState:
    """The state after a round's outcomes, in the order they happened. A target that refused a
    message for good (FAILED) answered: that neither opens nor closes the circuit."""
    failures = before.consecutive_failures
    last_error = None
    for outcome in outcomes:
        if outcome.kind == DELIVERED:
            failures = 0
        elif outcome.kind == RETRY:
            failures += 1
            last_error = outcome.error
    cooldown = before.cooldown or default_cooldown
    open_until = None
    if failures >= THRESHOLD:
        cooldown = min(cooldown * 2, MAX_COOLDOWN) if before.probing else default_cooldown
        open_until = now + dt.timedelta(seconds=cooldown)
    elif failures == 0:
        cooldown = default_cooldown
    return BreakerState(failures, open_until, cooldown, last_error)


def load(conn: Connection, target: str, *, default_cooldown: float) -> BreakerState:
    row = conn.execute(select(t.consecutive_failures, t.open_until, t.cooldown).where(t.target == target)).one_or_none()
    if row is None:
        return BreakerState(0, None, default_cooldown)
    return BreakerState(row.consecutive_failures, row.open_until, row.cooldown)


def save(conn: Connection, target: str, state: BreakerState, now: dt.datetime) -> None:
    values = {
        "target": target,
        "consecutive_failures": state.consecutive_failures,
        "open_until": state.open_until,
        "cooldown": state.cooldown,
        "last_error": state.last_error,
        "updated_at": now,
    }
    statement = insert_on_conflict(conn, target_table).values(**values)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["target"],
            set_={key: statement.excluded[key] for key in values if key != "target"},
        )
    )


def log_change(target: str, before: BreakerState, after: BreakerState, now: dt.datetime) -> None:
    if after.is_open(now) and before.probing:
        log.warning(
            "the probe of %s failed (%s); circuit open again for %gs",
            target,
            after.last_error,
            after.cooldown,
        )
    elif after.is_open(now):
        log.warning(
            "circuit to %s open for %gs after %d failures in a row (last: %s); one message will probe it then",
            target,
            after.cooldown,
            after.consecutive_failures,
            after.last_error,
        )
    elif before.probing and after.consecutive_failures == 0:
        log.info("circuit to %s closed: the probe went through", target)
