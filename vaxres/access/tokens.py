"""Operators' tokens: `vaxres token add NAME --role ROLE` shows a token once and keeps only its
SHA-256; `vaxres serve` finds the caller (its name, the audit trail's actor, and its role) by that
hash. A token is 32 random bytes: a hash without a salt is enough for a secret nobody chose."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update

from vaxres import validate
from vaxres.db.access import ROLES
from vaxres.db.store import Store
from vaxres.db.tables import token_table, utcnow
from vaxres.errors import InvalidValue, NotFound, Refused
from vaxres.formats import iso_utc

token = token_table.c
PREFIX = "vxr_"  # so that a leaked token is recognised for what it is (secret scanners, logs)
# What each role may do, each including the one before it: reader reads; operator books, waits,
# administers and registers people; admin also registers slots (and everything else).
RANK = {role: rank for rank, role in enumerate(ROLES)}


class TokenExists(Refused):
    code = "token_exists"

    def __init__(self, name: str):
        super().__init__(f"a token named {name!r} exists already; revoke it first", details={"name": name})


class TokenNotFound(NotFound):
    code = "token_not_found"

    def __init__(self, name: str):
        super().__init__(f"there is no token named {name!r}", details={"name": name})


@dataclass(frozen=True)
class TokenRecord:
    name: str
    role: str
    created_at: dt.datetime
    created_by: str
    revoked_at: dt.datetime | None

    def may(self, role: str) -> bool:
        """Whether this token holds `role` or one above it."""
        return self.revoked_at is None and RANK[self.role] >= RANK[role]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "created_at": iso_utc(self.created_at),
            "created_by": self.created_by,
            "revoked_at": iso_utc(self.revoked_at),
        }


@dataclass(frozen=True)
class NewToken:
    record: TokenRecord
    token: str  # shown once, never stored

    def as_json(self) -> dict[str, Any]:
        return {**self.record.as_json(), "token": self.token}


def parse_role(value: str) -> str:
    role = value.strip().lower()
    if role not in ROLES:
        raise InvalidValue("--role", value, f"must be one of {', '.join(ROLES)}")
    return role


def hashed(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def add_token(store: Store, name: str, *, role: str) -> NewToken:
    """A new token for `name` (the actor its changes are made by); a revoked name may be given again.
    No name starts with `citizen:`: the audit trail and the idempotency keys tell a citizen's own
    changes by it."""
    name = validate.parse_operator(name, field="name", what="a token")
    role = parse_role(role)
    secret = PREFIX + secrets.token_urlsafe(32)
    record = TokenRecord(name, role, utcnow(), store.actor, None)
    with store.write() as conn:
        held = conn.execute(select(token.revoked_at).where(token.name == name)).one_or_none()
        if held is not None and held.revoked_at is None:
            raise TokenExists(name)
        conn.execute(delete(token_table).where(token.name == name))
        conn.execute(
            insert(token_table).values(
                name=name,
                role=role,
                token_hash=hashed(secret),
                created_at=record.created_at,
                created_by=record.created_by,
            )
        )
    return NewToken(record, secret)


def list_tokens(store: Store) -> list[TokenRecord]:
    with store.read() as conn:
        rows = conn.execute(select(token_table).order_by(token.name)).all()
    return [_record(row) for row in rows]


def revoke_token(store: Store, name: str) -> TokenRecord:
    """Revoke: the token is refused from the next request on. Revoking twice changes nothing."""
    name = validate.parse_actor(name, field="name")
    now = utcnow()
    with store.write() as conn:
        conn.execute(update(token_table).where(token.name == name, token.revoked_at.is_(None)).values(revoked_at=now))
        row = conn.execute(select(token_table).where(token.name == name)).one_or_none()
    if row is None:
        raise TokenNotFound(name)
    return _record(row)


def find_token(store: Store, secret: str) -> TokenRecord | None:
    """The live token this secret is, or None (unknown, revoked)."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    with store.read() as conn:
        row = conn.execute(
            select(token_table).where(token.token_hash == hashed(secret), token.revoked_at.is_(None))
        ).one_or_none()
    return None if row is None else _record(row)


def _record(row: Any) -> TokenRecord:
    return TokenRecord(row.name, row.role, row.created_at, row.created_by, row.revoked_at)
