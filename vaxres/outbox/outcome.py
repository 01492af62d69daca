"""What a sink answers for one message, and the interface every sink has (sinks.py, smtp.py).

Its own module so that a sink opened lazily by sinks.open_sink (SMTP) imports no other sink.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from vaxres.outbox.model import OutboxRecord

DELIVERED = "delivered"
RETRY = "retry"
FAILED = "failed"
UNAVAILABLE = "unavailable"  # the target cannot take anything now; not counted against the message


@dataclass(frozen=True)
class Outcome:
    kind: str  # delivered | retry | failed | unavailable
    error: str | None = None
    retry_after: float | None = None  # seconds the target asked us to wait (HTTP Retry-After)


class Sink(Protocol):
    name: str  # the target as stored and shown: credentials removed

    def send(self, message: OutboxRecord) -> Outcome: ...

    def close(self) -> None: ...
