"""Logging in by one-time code: ask_code writes a code for the person (into the outbox, to their
own phone or e-mail), verify_code trades a right code for a session. Each owns its transaction.

ask_code does the same work for anyone: a person unknown, a birth date that does not match or a
person without a contact gets a code row too (written spent, never sent), so the rate limit, the
answer and the time it takes tell nothing about who is registered. Only the outbox row differs."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update

from vaxres import validate
from vaxres.citizens import rules
from vaxres.db.citizen import code_table, person_lock, session_table
from vaxres.db.locking import wait_for_name
from vaxres.db.store import Store
from vaxres.db.tables import person_table, utcnow
from vaxres.formats import iso_utc
from vaxres.outbox import events
from vaxres.outbox.codes import citizen_code

c = code_table.c
s = session_table.c
p = person_table.c


@dataclass(frozen=True)
class NewSession:
    person: str
    token: str  # shown once; the store keeps its SHA-256
    expires_at: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {"person": self.person, "token": self.token, "expires_at": iso_utc(self.expires_at)}


def ask_code(store: Store, person: str, birth_date: str) -> None:
    """A code for `person` when the birth date matches and they have a contact; nothing to say
    either way. TooManyCodes after CODES_PER_PERIOD asked for one id in CODE_PERIOD."""
    person = validate.parse_user(person)
    born = validate.parse_date(birth_date, field="birth_date")
    code = f"{secrets.randbelow(10**rules.CODE_DIGITS):0{rules.CODE_DIGITS}d}"
    salt = secrets.token_hex(16)
    digest = rules.code_hash(salt, person, code)
    now = utcnow()
    with store.acting(rules.actor_of(person)).write() as conn:
        wait_for_name(conn, person_lock(person))
        conn.execute(delete(code_table).where(c.created_at <= now - rules.CODE_PERIOD))
        recent = conn.execute(
            select(c.created_at).where(c.person_id == person).order_by(c.created_at).limit(rules.CODES_PER_PERIOD)
        ).scalars()
        asked = list(recent)
        if len(asked) >= rules.CODES_PER_PERIOD:
            refusal = rules.TooManyCodes(asked[0] + rules.CODE_PERIOD - now)
        else:
            refusal = None
            who = conn.execute(
                select(p.birth_date, p.phone, p.email).where(p.id == person, p.forgotten_at.is_(None))
            ).one_or_none()
            sent = who is not None and who.birth_date == born and bool(who.phone or who.email)
            made = conn.execute(
                insert(code_table).values(
                    person_id=person,
                    salt=salt,
                    code_hash=digest,
                    tries=0,
                    created_at=now,
                    expires_at=now + rules.CODE_VALID,
                    spent_at=None if sent else now,
                )
            ).inserted_primary_key
            assert made is not None
            code_id = made[0]
            if sent:
                minutes = rules.CODE_VALID.seconds // 60
                events.write(conn, [citizen_code(person, code_id, code, minutes)], now)
    if refusal is not None:
        raise refusal


def verify_code(store: Store, person: str, code: str) -> NewSession:
    """A session for a right code of the person, live and tried fewer than TRIES_PER_CODE times;
    the code and the person's other codes are spent. A wrong code counts a try on each live code."""
    person = validate.parse_user(person)
    code = rules.parse_code(code)
    token = rules.SESSION_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    live = (c.person_id == person, c.spent_at.is_(None), c.expires_at > now, c.tries < rules.TRIES_PER_CODE)
    with store.write() as conn:
        wait_for_name(conn, person_lock(person))
        codes = conn.execute(select(c.salt, c.code_hash).where(*live)).all()
        right = [hmac.compare_digest(row.code_hash, rules.code_hash(row.salt, person, code)) for row in codes]
        if not any(right):
            conn.execute(update(code_table).where(*live).values(tries=c.tries + 1))
            opened = None
        else:
            conn.execute(update(code_table).where(*live).values(spent_at=now))
            conn.execute(delete(session_table).where(s.expires_at <= now))
            opened = NewSession(person, token, now + rules.SESSION_VALID)
            conn.execute(
                insert(session_table).values(
                    token_hash=rules.token_hash(token), person_id=person, created_at=now, expires_at=opened.expires_at
                )
            )
    if opened is None:
        raise rules.CodeRefused()
    return opened
