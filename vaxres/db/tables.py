"""The tables and the reservation view. Their names and columns are part of the interface:
administrators query the file.

Names are stored as typed (trimmed, whitespace collapsed); `*_key` columns hold the casefolded
form that uniqueness and look-ups use, so 'PFIZER' and 'Pfizer' are one vaccine on every backend.

Declared in SQLAlchemy Core, the layer SQLModel builds on: SQLModel's classes brought pydantic's
model machinery and the ORM into every command's start-up (80 ms of a 0.36 s bare start, see
docs/architecture.md "Start-up") and vaxres used only their tables.
"""

import datetime as dt

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from vaxres.db.access import idempotency_table as idempotency_table
from vaxres.db.access import token_table as token_table
from vaxres.db.citizen import code_table as citizen_code_table  # noqa: F401  (in the metadata)
from vaxres.db.citizen import session_table as citizen_session_table  # noqa: F401
from vaxres.db.columns import id_column as _id
from vaxres.db.columns import int_column as _int
from vaxres.db.columns import metadata as metadata
from vaxres.db.columns import text_column as _text
from vaxres.db.columns import when_column as _when
from vaxres.db.status import OutboxStatus as OutboxStatus
from vaxres.db.status import ReservationStatus
from vaxres.db.views import reservation_view as reservation_view


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


ACTIVE_BOOKING = text(_one_of("status", ReservationStatus.HELD))
ACTIVE_BOOKING_INDEX = "uq_reservation_active_user_dose"
# Written as literal SQL: a partial index serves a query whose WHERE has its very predicate.
SOLD_OUT = text("remaining = 0")
SOLD_OUT_INDEX = "ix_slot_sold_out"
# The messages about one reservation or slot, for `vaxres log`: every event but SlotRegistered,
# which a slot import writes a million at a time (found from its slot's created_at instead).
ABOUT = text("event <> 'SlotRegistered'")
ABOUT_INDEX = "ix_outbox_about"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


slot_table = Table(
    "slot",
    metadata,
    _id(),
    Column("date", Date, nullable=False),
    _text("hospital", 200),
    _text("vaccine", 200),
    _text("hospital_key", 200),
    _text("vaccine_key", 200),
    _int("capacity"),
    _int("remaining"),
    _when("created_at"),
    _when("updated_at"),
    UniqueConstraint("date", "hospital_key", "vaccine_key"),
    CheckConstraint("remaining >= 0 AND remaining <= capacity", name="remaining_within_capacity"),
    # `slot list --available` counts the slots of its days minus the few sold out.
    Index(SOLD_OUT_INDEX, "date", sqlite_where=SOLD_OUT),
)

# Each hospital a slot has named (its key, and the first spelling seen): `slot list --hospital`
# finds the keys containing its text here, among thousands of rows instead of millions of slots.
# Kept by whatever adds slots, in the same transaction; never removed (a name without slots
# matches nothing). An index on slot.hospital_key would serve the same lists but cost an import
# of a million slots ~10% more (migration 0009).
hospital_table = Table(
    "hospital",
    metadata,
    _text("name_key", 200, primary_key=True),
    _text("name", 200),
)

# The catalog: a slot names one of these (by name; input may use an alias).
vaccine_table = Table(
    "vaccine",
    metadata,
    _id(),
    _text("name", 200),
    _text("name_key", 200),
    _int("doses"),
    _int("min_interval_days"),
    _when("created_at"),
    _when("updated_at"),
    # Its codes in health-data code systems (migration 0016, booking/codes.py checks their forms).
    _text("cvx", 3, null=True),
    _text("snomed", 18, null=True),
    _text("atc", 7, null=True),
    _text("eu_product", 16, null=True),
    _text("eu_holder", 16, null=True),
    _text("mvx", 3, null=True),
    _text("target_disease", 18, null=True),
    UniqueConstraint("name_key"),
    CheckConstraint("doses >= 1 AND doses <= 10", name="doses_in_range"),
    CheckConstraint("min_interval_days >= 0", name="interval_not_negative"),
)

# Other names of a vaccine (화이자, Comirnaty → Pfizer); the key is unique, so an alias names one vaccine.
alias_table = Table(
    "vaccine_alias",
    metadata,
    _text("key", 200, primary_key=True),
    _text("alias", 200),
    _int("vaccine_id", ForeignKey("vaccine.id"), index=True),
)

reservation_table = Table(
    "reservation",
    metadata,
    _id(),
    _int("slot_id", ForeignKey("slot.id"), index=True),
    _text("user_id", 200, index=True),
    _int("dose", default=1),
    _text("status", 16, default=ReservationStatus.RESERVED),
    _when("reserved_at"),
    _when("cancelled_at", null=True),
    _when("administered_at", null=True),
    _text("lot", 200, null=True),
    # What `administer` records of the dose given (migration 0016): the lot's expiry, the site, the route.
    Column("lot_expires", Date, nullable=True),
    _text("site", 16, null=True),
    _text("route", 8, null=True),
    CheckConstraint(_one_of("status", ReservationStatus.ALL), name="status_known"),
    CheckConstraint("dose >= 1", name="dose_positive"),
    # One booking per person and dose that holds or has given it, guarded by the store itself. PostgreSQL's
    # spelling of the predicate is added by add_postgresql_predicates() below.
    Index(ACTIVE_BOOKING_INDEX, "user_id", "dose", unique=True, sqlite_where=ACTIVE_BOOKING),
)

outbox_table = Table(
    "outbox",
    metadata,
    _id(),
    _text("event", 64),
    _text("recipient", 200),
    Column("payload", JSON, nullable=False),
    _int("correlation_id"),
    _when("created_at"),
    _text("status", 16, default=OutboxStatus.PENDING),
    _int("attempts", default=0),
    _when("next_attempt_at", null=True),
    _when("delivered_at", null=True),
    Column("last_error", Text, nullable=True),
    _text("lease_owner", 64, null=True),
    _when("lease_until", null=True),
    _text("actor", 64, null=True),  # who made the change; NULL before migration 0010
    CheckConstraint(_one_of("status", OutboxStatus.ALL), name="status_known"),
    # The dispatcher reads pending messages in id order.
    Index("ix_outbox_status_id", "status", "id"),
    # Per-recipient order: "is an earlier message of this recipient still undelivered?"
    Index("ix_outbox_recipient_status_id", "recipient", "status", "id"),
    # `outbox list --event` and `--from/--to` (issue 12).
    Index("ix_outbox_event_id", "event", "id"),
    Index("ix_outbox_created_at", "created_at"),
    # `vaxres log --reservation/--slot` (issue 14).
    Index(ABOUT_INDEX, "correlation_id", "id", sqlite_where=ABOUT),
    # A pruned message's number (its webhook-id) is never given again (migration 0011).
    sqlite_autoincrement=True,
)

# A person waiting for a dose of a vaccine (at a hospital, within days): booked, in join order,
# in the transaction that frees a matching dose; the row goes when booked or left.
waitlist_table = Table(
    "waitlist",
    metadata,
    _id(),
    _text("user_id", 200),
    _int("dose", default=1),
    _text("vaccine", 200),
    _text("vaccine_key", 200),
    _text("hospital", 200, null=True),
    _text("hospital_key", 200, null=True),
    Column("date_from", Date, nullable=False),
    Column("date_to", Date, nullable=True),
    _when("joined_at"),
    UniqueConstraint("user_id", "dose"),
    CheckConstraint("dose >= 1", name="dose_positive"),
    # A freed dose looks for the longest-waiting entries of its vaccine.
    Index("ix_waitlist_vaccine_key_id", "vaccine_key", "id"),
    # A left or booked entry's number is never given to another person (migration 0011).
    sqlite_autoincrement=True,
)

# One reminder written for a booking: its key makes `vaxres remind` write each one once, however
# often it runs; a booking moved to another day is reminded again for the new day.
reminder_table = Table(
    "reminder",
    metadata,
    _id(),
    _int("reservation_id", ForeignKey("reservation.id")),
    Column("date", Date, nullable=False),  # the slot's day the reminder was for
    _int("days_before"),  # the window it was written for (`--days-before`)
    _when("created_at"),
    UniqueConstraint("reservation_id", "date", "days_before"),
    CheckConstraint("days_before >= 0 AND days_before <= 30", name="days_before_in_range"),
)

# A person (issue 20): the id `--user` takes, and what reaches them. A resident registration
# number is never kept: only its HMAC fingerprint under a key outside the store (people/identity.py)
# and its masked form. `person forget` empties every personal column and sets forgotten_at.
person_table = Table(
    "person",
    metadata,
    _text("id", 200, primary_key=True),
    _text("name", 200, null=True),
    Column("birth_date", Date, nullable=True),
    _text("sex", 1, null=True),
    _text("phone", 32, null=True),  # E.164
    _text("email", 254, null=True),
    _text("lang", 8, null=True),
    Column("guardian_id", String(200), ForeignKey("person.id"), nullable=True),
    _text("id_fingerprint", 64, null=True, unique=True),
    _text("id_masked", 14, null=True),  # 900512-1******
    _when("created_at"),
    _when("updated_at"),
    _when("forgotten_at", null=True),
    CheckConstraint("sex IN ('M', 'F')", name="sex_known"),
    CheckConstraint("guardian_id <> id", name="not_own_guardian"),
)

# The groups a person belongs to (eligibility windows name them), compared ignoring case.
person_group_table = Table(
    "person_group",
    metadata,
    Column("person_id", String(200), ForeignKey("person.id"), primary_key=True),
    _text("group_key", 100, primary_key=True),
    _text("name", 100),
)

# An eligibility window (issue 21): who may book a vaccine (or one dose of it), from when to when.
# Its times are instants (UTC); `zone` is the time zone they were given in, which a rotation's
# daily sub-windows (`each_from`-`each_to`, HH:MM) are read in. `groups` holds the group names.
window_table = Table(
    "eligibility_window",
    metadata,
    _id(),
    _text("name", 100),
    _text("name_key", 100, unique=True),
    _text("vaccine_key", 100, index=True),
    Column("dose", Integer, nullable=True),
    Column("born_from", Date, nullable=True),
    Column("born_to", Date, nullable=True),
    Column("age_min", Integer, nullable=True),
    Column("age_max", Integer, nullable=True),
    Column("age_on", Date, nullable=True),
    Column("groups", JSON, nullable=False),
    _when("opens_at"),
    _when("closes_at", null=True),
    _text("zone", 64),
    _text("rotation", 20, null=True),
    _text("each_from", 5, null=True),
    _text("each_to", 5, null=True),
    _when("created_at"),
    _when("updated_at"),
)

# The store's own settings (its time zone, its language), shared by every machine that uses the store.
setting_table = Table(
    "store_setting",
    metadata,
    _text("key", 64, primary_key=True),
    Column("value", Text, nullable=False),
)

# A circuit breaker per delivery target, in the store so that separate runs share it.
target_table = Table(
    "delivery_target",
    metadata,
    _text("target", 500, primary_key=True),
    _int("consecutive_failures", default=0),
    _when("open_until", null=True),
    Column("cooldown", Float, nullable=False),
    Column("last_error", Text, nullable=True),
    _when("updated_at"),
)


def add_postgresql_predicates() -> None:
    """Give the partial indexes their PostgreSQL predicates, for Alembic on PostgreSQL.

    Not declared in the Index itself: naming a dialect there imports that dialect's package,
    about 20 ms of every command's start-up, PostgreSQL or not. Only schema work reads it (the
    migrations spell it out themselves); migrations/env.py calls this on a PostgreSQL connection.
    """
    for table, name, predicate in (
        (reservation_table, ACTIVE_BOOKING_INDEX, ACTIVE_BOOKING),
        (slot_table, SOLD_OUT_INDEX, SOLD_OUT),
        (outbox_table, ABOUT_INDEX, ABOUT),
    ):
        for index in table.indexes:
            if index.name == name:
                index.dialect_options["postgresql"]["where"] = predicate
