"""The tables of the citizens' own access (issue 23, vaxres/citizens/): the one-time codes asked
for and the sessions they opened. Only hashes: a code as HMAC-SHA-256 under its row's salt, a
session token as SHA-256 (32 random bytes need no salt)."""

from sqlalchemy import Column, Index, Integer, Table

from vaxres.db.columns import id_column, metadata, text_column, when_column

# Every login asked for a person id, whether or not the person exists (the rate limit counts them
# all alike, so a 429 tells nothing); a code never sent (unknown person, wrong birth date) is
# written spent. A code is spent when used; `tries` counts the wrong ones.
code_table = Table(
    "citizen_code",
    metadata,
    id_column(),
    text_column("person_id", 200),
    text_column("salt", 32),  # hex
    text_column("code_hash", 64),  # HMAC-SHA-256(salt, person id and code), hex
    Column("tries", Integer, nullable=False),
    when_column("created_at"),
    when_column("expires_at"),
    when_column("spent_at", null=True),
    Index(None, "person_id", "created_at"),
    Index(None, "created_at"),
    sqlite_autoincrement=True,  # a code's number (its message's correlation_id) is never given again
)

# A citizen's session: the token (shown once) as its SHA-256, the person it acts as, until when.
session_table = Table(
    "citizen_session",
    metadata,
    text_column("token_hash", 64, primary_key=True),
    text_column("person_id", 200),
    when_column("created_at"),
    when_column("expires_at"),
    when_column("ended_at", null=True),
    Index(None, "expires_at"),
)


def person_lock(person: str) -> str:
    """The advisory lock's name a change of the person's codes and sessions takes (PostgreSQL)."""
    return f"citizen:{person}"
