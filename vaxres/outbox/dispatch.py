"""Draining the outbox: claim due messages with a lease, send them, record what happened.

At least once: a message is marked delivered only after the target accepted it; a dispatcher
that dies leaves its lease to expire and another takes the message over. Per recipient,
messages go out in id order. A circuit breaker per target, kept in the store, stops sending to
a target that keeps failing and lets one probe through after a cool-down. A target that cannot
take anything now (a full disk) ends the round: what went through is recorded, the rest released.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update

from vaxres.db.language import message_language
from vaxres.db.store import Store
from vaxres.db.tables import OutboxStatus, outbox_table, utcnow
from vaxres.errors import StoreBusy
from vaxres.outbox import breaker
from vaxres.outbox.breaker import BreakerState
from vaxres.outbox.codes import masked
from vaxres.outbox.events import SECRET_FACTS
from vaxres.outbox.model import DeliverOptions, DeliveryReport, OutboxRecord
from vaxres.outbox.outcome import DELIVERED, FAILED, RETRY, UNAVAILABLE, Outcome, Sink
from vaxres.outbox.sinks import open_sink

o = outbox_table.c
PENDING, IN_FLIGHT = OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT


@dataclass
class _Result:
    message_id: int
    outcome: Outcome | None  # None: released unsent (breaker, stop, halt, or an earlier message of its recipient)
    attempts_before: int


class Dispatcher:
    def __init__(self, store: Store, options: DeliverOptions, sink: Sink, *, stop: threading.Event | None = None):
        self.store = store
        self.options = options
        self.sink = sink
        self.stop = stop or threading.Event()
        self.owner = uuid.uuid4().hex
        self.report = DeliveryReport(target=sink.name)
        self._lock = threading.Lock()
        self._failures = 0  # consecutive failures of the target, shared by the worker threads
        self._sent = 0
        self._halt: Outcome | BaseException | None = None  # the target is unavailable, or a sink broke
        self._masked: dict[Any, Any] = {}  # claimed messages with a secret: their payload masked

    def run(self) -> DeliveryReport:
        with ThreadPoolExecutor(max_workers=self.options.workers) as pool:
            while not self.stop.is_set():
                try:
                    if not self._round(pool):
                        break
                except StoreBusy:
                    # A long import holds the store: a watching dispatcher waits its turn. What it
                    # sent but could not record stays leased and goes out again after the lease.
                    if not self.options.watch:
                        raise
                    breaker.log.warning(
                        "the store is busy (another command holds it); trying again in %gs", self.options.poll
                    )
                    self.stop.wait(self.options.poll)
        self.report.due = self._due_count()  # what a --limit, a stop or an open circuit left due
        return self.report

    def _round(self, pool: ThreadPoolExecutor) -> bool:
        """Claim, send and record one batch; False when this run is over."""
        with self.store.read() as conn:
            state = breaker.load(conn, self.sink.name, default_cooldown=self.options.cooldown)
        now = utcnow()
        if state.is_open(now):
            if not self.options.watch:
                self.report.circuit_open_until = state.open_until
                return False
            assert state.open_until is not None  # is_open
            self.stop.wait(min(self.options.poll, (state.open_until - now).total_seconds()))
            return True
        size = 1 if state.probing else self.options.batch
        if self.options.limit is not None:
            size = min(size, self.options.limit - self._sent)
        claimed = self._claim(size)
        # No send starts that could outlive the lease (another dispatcher may take it then).
        self._send_by = time.monotonic() + self.options.lease - getattr(self.sink, "deadline", 0.0)
        if not claimed:
            if self.options.watch:
                self.stop.wait(self.options.poll)
            return self.options.watch
        # A probe is always sent; otherwise the failures so far count towards the threshold.
        self._failures = 0 if state.probing else state.consecutive_failures
        self._halt = None
        results = self._send_all(pool, claimed)
        self._record(results, state)
        self._sent += len(claimed)
        halt, self._halt = self._halt, None
        if isinstance(halt, BaseException):
            raise halt  # a bug in a sink: surfaces, after the round was recorded
        if halt is not None:  # a full disk, say: try again later (with --watch, after a cool-down)
            if not self.options.watch:
                self.report.unavailable = halt.error
                return False
            breaker.log.warning(
                "%s takes nothing now (%s); trying again in %gs", self.sink.name, halt.error, self.options.cooldown
            )
            self.stop.wait(self.options.cooldown)
        return self.options.limit is None or self._sent < self.options.limit

    def _claim(self, size: int) -> list[OutboxRecord]:
        """Lease up to `size` due messages, none behind an undelivered earlier one of its recipient."""
        now = utcnow()
        claimable = _due(now)
        with self.store.write() as conn:
            candidates = conn.execute(
                select(o.id, o.recipient)
                .where(o.status.in_((PENDING, IN_FLIGHT)), claimable)
                .order_by(o.id)
                .limit(size)
                .with_for_update(skip_locked=True)
            ).all()
            if not candidates:
                return []
            recipients = list({row.recipient for row in candidates})
            blocked: dict[str, int] = dict(
                conn.execute(
                    select(o.recipient, func.min(o.id))
                    .where(o.recipient.in_(recipients), o.status.in_((PENDING, IN_FLIGHT)), ~claimable)
                    .group_by(o.recipient)
                ).all()
            )
            ids = [row.id for row in candidates if row.id < blocked.get(row.recipient, row.id + 1)]
            if not ids:
                return []
            conn.execute(
                update(outbox_table)
                .where(o.id.in_(ids))
                .values(
                    status=IN_FLIGHT, lease_owner=self.owner, lease_until=now + dt.timedelta(seconds=self.options.lease)
                )
            )
            rows = conn.execute(select(outbox_table).where(o.id.in_(ids)).order_by(o.id)).all()
            lang = message_language(conn, self.options.lang)
        for row in rows:  # kept masked once it is out (events.SECRET_FACTS)
            if row.event in SECRET_FACTS:
                self._masked[row.id] = masked(row.event, row.payload)
        return [OutboxRecord.from_row(row, lang, reveal=True) for row in rows]

    def _due_count(self) -> int:
        with self.store.read() as conn:
            return conn.execute(select(func.count()).where(_due(utcnow()))).scalar_one()

    def _send_all(self, pool: ThreadPoolExecutor, messages: list[OutboxRecord]) -> list[_Result]:
        """Recipients spread over the workers; each recipient's messages one after another, in id
        order. A worker takes a whole share of recipients: one hand-off per worker, not per message."""
        by_recipient: dict[str, list[OutboxRecord]] = {}
        for message in messages:
            by_recipient.setdefault(message.recipient, []).append(message)
        groups = list(by_recipient.values())
        shares = [groups[start :: self.options.workers] for start in range(self.options.workers)]
        shares = [share for share in shares if share]
        if len(shares) == 1:
            return self._send_share(shares[0])
        results: list[_Result] = []
        for share_results in pool.map(self._send_share, shares):
            results.extend(share_results)
        return results

    def _send_share(self, groups: list[list[OutboxRecord]]) -> list[_Result]:
        return [result for group in groups for result in self._send_group(group)]

    def _send_group(self, messages: list[OutboxRecord]) -> list[_Result]:
        results = []
        halted = False
        for message in messages:
            late = time.monotonic() > self._send_by
            if halted or late or self.stop.is_set() or self._failures >= breaker.THRESHOLD or self._halt is not None:
                results.append(_Result(message.id, None, message.attempts))
                continue
            try:
                outcome = self.sink.send(message)
            except BaseException as exc:  # leave nothing in flight: release it, record, then raise
                self._halt = exc
                results.append(_Result(message.id, None, message.attempts))
                continue
            with self._lock:
                if outcome.kind == DELIVERED:
                    self._failures = 0
                elif outcome.kind == RETRY:
                    self._failures += 1
                elif outcome.kind == UNAVAILABLE:
                    self._halt = self._halt or outcome
            results.append(_Result(message.id, outcome, message.attempts))
            # Keep the recipient's order: nothing after a message that may still go through later.
            # One refused for good (a person without an e-mail address) holds nothing up.
            halted = outcome.kind not in (DELIVERED, FAILED)
        return results

    def _record(self, results: list[_Result], state: BreakerState) -> None:
        now = utcnow()
        mine = (o.id == bindparam("b_id")) & (o.lease_owner == self.owner) & (o.status == IN_FLIGHT)
        delivered = [{"b_id": r.message_id} for r in results if r.outcome and r.outcome.kind == DELIVERED]
        # An unavailable target was not the message's fault: released, no attempt counted.
        released = [{"b_id": r.message_id} for r in results if r.outcome is None or r.outcome.kind == UNAVAILABLE]
        retried, failed = [], []
        for r in results:
            if r.outcome is None or r.outcome.kind in (DELIVERED, UNAVAILABLE):
                continue
            attempts = r.attempts_before + 1
            if r.outcome.kind == FAILED or attempts >= self.options.max_attempts:
                failed.append({"b_id": r.message_id, "b_error": r.outcome.error})
            else:
                retried.append(
                    {"b_id": r.message_id, "b_error": r.outcome.error, "b_next": now + self._delay(attempts, r.outcome)}
                )
        cleared = {"lease_owner": None, "lease_until": None}
        with self.store.write() as conn:
            if delivered:
                conn.execute(
                    update(outbox_table)
                    .where(mine)
                    .values(
                        status=OutboxStatus.DELIVERED,
                        delivered_at=now,
                        attempts=o.attempts + 1,
                        last_error=None,
                        **cleared,
                    ),
                    delivered,
                )
            if retried:
                conn.execute(
                    update(outbox_table)
                    .where(mine)
                    .values(
                        status=PENDING,
                        attempts=o.attempts + 1,
                        next_attempt_at=bindparam("b_next"),
                        last_error=bindparam("b_error"),
                        **cleared,
                    ),
                    retried,
                )
            if failed:
                conn.execute(
                    update(outbox_table)
                    .where(mine)
                    .values(
                        status=OutboxStatus.FAILED, attempts=o.attempts + 1, last_error=bindparam("b_error"), **cleared
                    ),
                    failed,
                )
            if released:
                conn.execute(update(outbox_table).where(mine).values(status=PENDING, **cleared), released)
            out = [r["b_id"] for r in delivered] + [r["b_id"] for r in failed]
            if gone := [{"b_id": i, "b_payload": self._masked.pop(i)} for i in out if i in self._masked]:
                payload = bindparam("b_payload", type_=o.payload.type)
                conn.execute(update(outbox_table).where(o.id == bindparam("b_id")).values(payload=payload), gone)
            outcomes = (r.outcome for r in results if r.outcome is not None)
            after = breaker.after_round(state, outcomes, default_cooldown=self.options.cooldown, now=now)
            if isinstance(self._halt, Outcome):
                after = dataclasses.replace(after, last_error=self._halt.error)
            breaker.save(conn, self.sink.name, after, now)
        breaker.log_change(self.sink.name, state, after, now)
        self.report.delivered += len(delivered)
        self.report.retried += len(retried)
        self.report.failed += len(failed)

    def _delay(self, attempts: int, outcome: Outcome) -> dt.timedelta:
        """Exponential backoff with jitter; a Retry-After from the target wins when it is longer."""
        base = self.options.backoff * 2 ** (attempts - 1)
        seconds = base * random.uniform(0.8, 1.2)
        if outcome.retry_after is not None:
            seconds = max(outcome.retry_after, 0.0)
        return dt.timedelta(seconds=min(seconds, 7 * 86_400))


def _due(now: dt.datetime):
    """Pending and due, or in flight under a lease that has expired (its dispatcher died)."""
    return or_(
        (o.status == PENDING) & (o.next_attempt_at <= now),
        (o.status == IN_FLIGHT) & (o.lease_until <= now),
    )


def open_target(options: DeliverOptions) -> Sink:
    """Check the options and open the target (credentials checked too) before any store is opened."""
    options.validate()
    if not options.target.startswith(("http://", "https://", "smtp://", "smtps://")):
        # A file or stdout gains nothing from parallel writers, and keeps each recipient's order without them.
        options.workers = 1
    return open_sink(
        options.target,
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        workers=options.workers,
        lease=options.lease,
    )


def deliver(
    store: Store, options: DeliverOptions, *, stop: threading.Event | None = None, sink: Sink | None = None
) -> DeliveryReport:
    """Deliver through `sink` (from open_target), or a target opened here; the sink is closed after."""
    sink = sink or open_target(options)
    try:
        return Dispatcher(store, options, sink, stop=stop).run()
    finally:
        sink.close()
