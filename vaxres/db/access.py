"""The tables of `vaxres serve`'s edge: the operators' tokens (only their hashes) and the answers
kept for Idempotency-Key (vaxres/access/)."""

from sqlalchemy import CheckConstraint, Column, Index, Integer, PrimaryKeyConstraint, Table, Text

from vaxres.db.columns import metadata, text_column, when_column

ROLES = ("reader", "operator", "admin")

# One row per token name; a revoked token keeps its row (revoked_at) until the name is given again.
token_table = Table(
    "api_token",
    metadata,
    text_column("name", 100, primary_key=True),
    text_column("role", 16),
    text_column("token_hash", 64, unique=True),  # SHA-256 of the token, hex
    when_column("created_at"),
    text_column("created_by", 100),
    when_column("revoked_at", null=True),
    CheckConstraint(f"role IN ({', '.join(repr(role) for role in ROLES)})", name="role"),
)

# The first answer to a POST with an Idempotency-Key, written in the transaction of its change;
# keys are the caller's (the token's name) and kept 24 hours.
idempotency_table = Table(
    "idempotency_key",
    metadata,
    text_column("actor", 100),
    text_column("key", 255),
    text_column("request_hash", 64),  # SHA-256 of the method, the path and the body
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    when_column("created_at"),
    PrimaryKeyConstraint("actor", "key"),
    Index(None, "created_at"),
)
