"""A citizen's session: found by its token (the store keeps only its SHA-256), for the person and
the minors they are guardian of; ended by logging out, by the person being forgotten, or after
SESSION_VALID."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update

from vaxres.citizens import rules
from vaxres.db.citizen import session_table
from vaxres.db.store import Store
from vaxres.db.tables import person_table, utcnow
from vaxres.people.rules import minor_on

s = session_table.c
p = person_table.c


@dataclass(frozen=True)
class Citizen:
    """Who a session acts as: the person, and the people they may act for (themselves first,
    then their wards)."""

    person: str
    wards: tuple[str, ...]
    expires_at: dt.datetime

    @property
    def people(self) -> tuple[str, ...]:
        return (self.person, *self.wards)

    @property
    def actor(self) -> str:
        return rules.actor_of(self.person)


def find_session(store: Store, token: str) -> Citizen:
    """The live session of this token, or SessionRefused."""
    if not token.startswith(rules.SESSION_PREFIX) or len(token) > 200:
        raise rules.SessionRefused()
    now = utcnow()
    with store.read() as conn:
        row = conn.execute(
            select(s.person_id, s.expires_at).where(
                s.token_hash == rules.token_hash(token), s.ended_at.is_(None), s.expires_at > now
            )
        ).one_or_none()
        if row is None:
            raise rules.SessionRefused()
        wards = conn.execute(
            select(p.id, p.birth_date).where(p.guardian_id == row.person_id, p.forgotten_at.is_(None)).order_by(p.id)
        ).all()
    today = store.today()
    minors = tuple(ward.id for ward in wards if ward.birth_date and minor_on(ward.birth_date, today))
    return Citizen(row.person_id, minors, row.expires_at)


def end_session(store: Store, token: str) -> None:
    """Log out: the token is refused from now on (an unknown token changes nothing)."""
    with store.write() as conn:
        conn.execute(
            update(session_table)
            .where(s.token_hash == rules.token_hash(token), s.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
