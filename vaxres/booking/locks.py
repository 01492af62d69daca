"""PostgreSQL: one change at a time to a person's series, and no series change of a vaccine while
a dose of it is being booked. SQLite needs none of this: BEGIN IMMEDIATE runs writers one at a
time.

A booking reads the doses a person holds, checks the series rules, then writes. Under READ
COMMITTED two transactions could each check before the other wrote (a dose 2 booked while dose 1
is cancelled). So every path that reads a series and writes (reserve, cancel, reschedule,
administer, waitlist join, the booking import) first takes the person's transaction-scoped
advisory lock; a statement after it sees what the person's previous change committed.

People are spread over PERSON_LOCKS locks (a hash of the id), so that a bulk path takes a bounded
number of them (the server's lock table is small), always in ascending order and before any row
lock, so two of them never wait for each other in a circle. Two people sharing a lock only wait for
each other. The waitlist's offers book other people from inside a transaction that already holds
locks: they only try a person's lock and leave a busy person waiting for the next dose.

The waitlist also takes one lock per vaccine (lock_vaccines), so a join never misses a dose freed
at the same moment.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, select

from vaxres.db import locking
from vaxres.db.tables import reservation_table, slot_table, vaccine_table

PERSON_LOCKS = 1024
_SPACE = 0x76787273  # the first key of vaxres's two-key advisory locks: "vxrs"
_OWNER = select(reservation_table.c.user_id).where(reservation_table.c.id == bindparam("b_id"))


def bucket(user: str) -> int:
    """The person's lock: the same in every process (unlike hash())."""
    return zlib.crc32(user.encode("utf-8", "surrogatepass")) % PERSON_LOCKS


def lock_people(conn: Connection, users: Iterable[str]) -> None:
    """Wait for these people's locks, held until the transaction ends. Take them before any row
    lock of the transaction."""
    locking.wait_for_keys(conn, _SPACE, (bucket(user) for user in users))


def lock_owner(conn: Connection, reservation_id: int) -> None:
    """The lock of the person a reservation belongs to (it never changes hands); nothing when
    there is no such reservation (the caller says so)."""
    if locking.writers_wait_anyway(conn):
        return
    user = conn.execute(_OWNER, {"b_id": reservation_id}).scalar()
    if user is not None:
        lock_people(conn, [user])


def try_lock_people(conn: Connection, users: Iterable[str]) -> set[str]:
    """The people among these whose lock this transaction holds now (all of them on SQLite); a
    lock another transaction holds is not waited for."""
    users = set(users)
    held = locking.try_keys(conn, _SPACE, {bucket(user) for user in users})
    return {user for user in users if bucket(user) in held}


def share_vaccines_of_slots(conn: Connection, slot_ids: list[int]) -> None:
    """Keep the series of these slots' vaccines as they are until the transaction ends (a FOR
    SHARE lock on their catalog rows: `vaccine update` waits, bookings do not wait for each other).
    Read the vaccines after it."""
    if slot_ids and not locking.writers_wait_anyway(conn):  # SQLite: nothing to lock, nothing to build
        locking.lock_rows(conn, _VACCINES_OF_SLOTS.params(b_slots=slot_ids), share=True)


_VACCINES_OF_SLOTS = select(vaccine_table.c.id).where(
    vaccine_table.c.name_key.in_(
        select(slot_table.c.vaccine_key).where(slot_table.c.id.in_(bindparam("b_slots", expanding=True)))
    )
)


def lock_catalog(conn: Connection) -> None:
    """Change the catalog alone: wait for the bookings that read a series, then keep them waiting."""
    locking.lock_rows(conn, select(vaccine_table.c.id))


def lock_vaccines(conn: Connection, vaccine_keys: list[str]) -> None:
    """PostgreSQL: one offer or join at a time per vaccine (SQLite has one writer anyway)."""
    for key in vaccine_keys:
        locking.wait_for_name(conn, f"vaxres-waitlist:{key}")
