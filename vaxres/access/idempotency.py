"""Idempotency-Key: the first answer to a POST (its status and body), kept in the transaction of
the change it reports (Store.unit_of_work), for 24 hours. The same key again with the same request
gets that answer back and changes nothing; with another request it is refused.

Keys are the caller's own (one namespace per token name). Only a change's answer is kept: a
refused request changed nothing, so sending it again is asked anew."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select

from vaxres.db.locking import wait_for_name
from vaxres.db.tables import idempotency_table, utcnow
from vaxres.errors import InvalidInput, InvalidValue

kept = idempotency_table.c
KEPT_FOR = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 255


class KeyReused(InvalidInput):
    code = "idempotency_key_reused"

    def __init__(self, key: str):
        super().__init__(
            f"the Idempotency-Key {key!r} was used for another request in the last 24 hours; "
            f"send a new key for a new request",
            details={"key": key},
        )


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # the JSON text sent


def parse_key(value: str) -> str:
    key = value.strip()
    reason = f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
    if len(key) > MAX_KEY_LENGTH:  # said by its length: a long key is not sent back whole
        raise InvalidValue("Idempotency-Key", value, reason, f"Idempotency-Key {reason}, got {len(key):,}")
    if not key or not key.isprintable() or not key.isascii():
        raise InvalidValue("Idempotency-Key", value, reason)
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same one: the method, the path (with its query) and the body."""
    digest = hashlib.sha256(f"{method} {path}\n".encode("utf-8", "surrogatepass"))
    digest.update(body)
    return digest.hexdigest()


def recall(conn: Connection, actor: str, key: str, request: str) -> Answer | None:
    """The answer kept for this caller's key, if any; KeyReused when it answered another request.
    On PostgreSQL a second request with the same key waits here until the first one ends."""
    wait_for_name(conn, f"idempotency:{actor}:{key}")
    row = conn.execute(
        select(kept.request_hash, kept.status, kept.body).where(
            kept.actor == actor, kept.key == key, kept.created_at > utcnow() - KEPT_FOR
        )
    ).one_or_none()
    if row is None:
        return None
    if row.request_hash != request:
        raise KeyReused(key)
    return Answer(row.status, row.body)


def keep(conn: Connection, actor: str, key: str, request: str, answer: Answer) -> None:
    """Keep the answer, in the transaction of the change it reports; forget the expired ones."""
    now = utcnow()
    conn.execute(delete(idempotency_table).where(kept.created_at <= now - KEPT_FOR))
    conn.execute(
        insert(idempotency_table).values(
            actor=actor, key=key, request_hash=request, status=answer.status, body=answer.body, created_at=now
        )
    )
