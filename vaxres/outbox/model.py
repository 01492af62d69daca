"""A message of the outbox as it is listed and delivered: the stored row, its payload with the
readable message added, and its JSON shape (part of the interface); and what a delivery run is
asked (DeliverOptions) and reports (DeliveryReport)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row

from vaxres.db.tables import OutboxStatus
from vaxres.errors import InvalidInput
from vaxres.formats import iso_utc
from vaxres.outbox.codes import masked
from vaxres.outbox.templates import with_message
from vaxres.validate import DEFAULT_LANGUAGE


@dataclass(frozen=True)
class OutboxRecord:
    id: int
    event: str
    recipient: str
    correlation_id: int
    status: str
    attempts: int
    created_at: dt.datetime
    payload: dict[str, Any]
    next_attempt_at: dt.datetime | None = None
    last_error: str | None = None
    delivered_at: dt.datetime | None = None
    actor: str | None = None  # who made the change; None for messages older than the audit trail

    @classmethod
    def from_row(cls, row: Row, lang: str = DEFAULT_LANGUAGE, *, reveal: bool = False) -> OutboxRecord:
        """From a row of the outbox table; the payload gains its `message` in `lang`. Its secrets
        (a login code) are masked unless `reveal`: only the dispatcher hands them to a target."""
        payload = row.payload if reveal else masked(row.event, row.payload)
        return cls(
            id=row.id,
            event=row.event,
            recipient=row.recipient,
            correlation_id=row.correlation_id,
            status=row.status,
            attempts=row.attempts,
            created_at=row.created_at,
            payload=with_message(row.event, payload, lang),
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
            actor=row.actor,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "recipient": self.recipient,
            "correlation_id": self.correlation_id,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": iso_utc(self.created_at),
            "payload": self.payload,
            "next_attempt_at": iso_utc(self.next_attempt_at) if self.status == OutboxStatus.PENDING else None,
            "last_error": self.last_error,
            "delivered_at": iso_utc(self.delivered_at),
            "actor": self.actor,
        }

    def body(self) -> dict[str, Any]:
        """What a delivery target receives: the message without its delivery bookkeeping, and
        without its actor (who in the office made a change is the store's audit, not the citizen's)."""
        listed = self.as_json()
        return {key: listed[key] for key in BODY_KEYS}


BODY_KEYS = ("id", "event", "recipient", "correlation_id", "created_at", "payload")


@dataclass
class DeliverOptions:
    target: str
    watch: bool = False
    limit: int | None = None
    max_attempts: int = 5
    backoff: float = 10.0
    cooldown: float = 30.0
    lease: float = 60.0
    poll: float = 1.0
    batch: int = 500
    workers: int = 2
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    lang: str | None = None  # the messages' language (--lang, VAXRES_LANG); None: the store's, read each round

    def validate(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise InvalidInput(f"--limit must be at least 1, got {self.limit}")
        if not 1 <= self.workers <= 64:
            raise InvalidInput(f"--workers must be from 1 to 64, got {self.workers}")
        if not 1 <= self.max_attempts <= 100:
            raise InvalidInput(f"--max-attempts must be from 1 to 100, got {self.max_attempts}")
        seconds = {"--backoff": self.backoff, "--cooldown": self.cooldown, "--lease": self.lease}
        seconds |= {"--connect-timeout": self.connect_timeout, "--read-timeout": self.read_timeout}
        for name, value in seconds.items():
            if not 0 < value <= 86_400:
                raise InvalidInput(f"{name} must be a number of seconds above 0 and at most 86,400, got {value:g}")


@dataclass
class DeliveryReport:
    target: str
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    circuit_open_until: dt.datetime | None = None
    due: int = 0
    unavailable: str | None = None  # why the target could take nothing more (not in the JSON summary)

    def as_json(self) -> dict[str, Any]:
        keys = ("target", "delivered", "retried", "failed", "circuit_open_until", "due")
        return {key: getattr(self, key) for key in keys} | {"circuit_open_until": iso_utc(self.circuit_open_until)}
