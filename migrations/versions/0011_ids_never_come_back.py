"""Numbers that never come back (issue 26): on SQLite the outbox and the waitlist number their
rows with AUTOINCREMENT, so a message pruned or an entry left never lends its number to a new one.

Without it SQLite gives max(id) + 1: after a full prune a new message got the webhook-id of an old
one (a receiver that deduplicates drops it), and a new waitlist entry took a number that the audit
log, and a stale `waitlist leave`, still meant for someone else. Each counter starts at the highest
number this store still knows of: its rows, and the entries the outbox's messages name. (Numbers
pruned before this revision are gone; nothing records them.) Slots, reservations and vaccines are
never deleted, so their numbers cannot come back. PostgreSQL's sequences never go back: nothing to
do there.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITLIST_EVENTS = "('WaitlistJoined', 'WaitlistLeft')"
HIGHEST = {
    "outbox": "SELECT MAX(id) FROM outbox",
    "waitlist": (
        "SELECT MAX(n) FROM (SELECT MAX(id) AS n FROM waitlist UNION ALL "
        f"SELECT MAX(correlation_id) FROM outbox WHERE event IN {WAITLIST_EVENTS})"
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in HIGHEST:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass
    for table, sql in HIGHEST.items():
        highest = op.get_bind().execute(sa.text(sql)).scalar()
        if highest is not None:
            _raise_counter(table, highest)


def _raise_counter(table: str, highest: int) -> None:
    conn = op.get_bind()
    params = {"name": table, "seq": highest}
    if conn.execute(sa.text("SELECT 1 FROM sqlite_sequence WHERE name = :name"), params).first():
        conn.execute(sa.text("UPDATE sqlite_sequence SET seq = MAX(seq, :seq) WHERE name = :name"), params)
    else:
        conn.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :seq)"), params)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in HIGHEST:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": False}):
            pass
