"""The tables and the reservation view. Their names and columns are part of the interface:
administrators query the file.

Names are stored as typed (trimmed, whitespace collapsed); `*_key` columns hold the casefolded
form that uniqueness and look-ups use, so 'PFIZER' and 'Pfizer' are one vaccine on every backend.
"""

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}



class ReservationStatus:
    RESERVED = "reserved"
    CANCELLED = "cancelled"
    ADMINISTERED = "administered"
    NO_SHOW = "no_show"
    ALL = (RESERVED, CANCELLED, ADMINISTERED, NO_SHOW)
    HELD = (RESERVED, ADMINISTERED)  # a dose of the person's series: one per dose number
    TAKES_A_DOSE = (RESERVED, ADMINISTERED, NO_SHOW)  # counted out of the slot's capacity


class OutboxStatus:
    PENDING = "pending"
    IN_FLIGHT = "in_flight"  # claimed by a dispatcher under a lease
    DELIVERED = "delivered"
    FAILED = "failed"
    ALL = (PENDING, IN_FLIGHT, DELIVERED, FAILED)


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


class Slot(SQLModel, table=True):
    __tablename__ = "slot"
    __table_args__ = (
        UniqueConstraint("date", "hospital_key", "vaccine_key"),
        CheckConstraint("remaining >= 0 AND remaining <= capacity", name="remaining_within_capacity"),
        # `slot list --available` counts the slots of its days minus the few sold out.
        Index(SOLD_OUT_INDEX, "date", sqlite_where=SOLD_OUT),
    )

    id: int | None = Field(default=None, primary_key=True)
    date: dt.date
    hospital: str = Field(sa_type=String(200))
    vaccine: str = Field(sa_type=String(200))
    hospital_key: str = Field(sa_type=String(200))
    vaccine_key: str = Field(sa_type=String(200))
    capacity: int
    remaining: int
    created_at: dt.datetime
    updated_at: dt.datetime


class Hospital(SQLModel, table=True):
    """Each hospital a slot has named (its key, and the first spelling seen): `slot list
    --hospital` finds the keys containing its text here, among thousands of rows instead of
    millions of slots. Kept by whatever adds slots, in the same transaction; never removed (a
    name without slots matches nothing). An index on slot.hospital_key would serve the same
    lists but cost an import of a million slots ~10% more (migration 0009)."""

    __tablename__ = "hospital"

    name_key: str = Field(sa_type=String(200), primary_key=True)
    name: str = Field(sa_type=String(200))


class Vaccine(SQLModel, table=True):
    """The catalog: a slot names one of these (by name; input may use an alias)."""

    __tablename__ = "vaccine"
    __table_args__ = (
        UniqueConstraint("name_key"),
        CheckConstraint("doses >= 1 AND doses <= 10", name="doses_in_range"),
        CheckConstraint("min_interval_days >= 0", name="interval_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(200))
    name_key: str = Field(sa_type=String(200))
    doses: int
    min_interval_days: int
    created_at: dt.datetime
    updated_at: dt.datetime


class VaccineAlias(SQLModel, table=True):
    """Other names of a vaccine (화이자, Comirnaty → Pfizer); the key is unique, so an alias names one vaccine."""

    __tablename__ = "vaccine_alias"

    key: str = Field(sa_type=String(200), primary_key=True)
    alias: str = Field(sa_type=String(200))
    vaccine_id: int = Field(foreign_key="vaccine.id", index=True)


class Reservation(SQLModel, table=True):
    __tablename__ = "reservation"
    __table_args__ = (
        CheckConstraint(_one_of("status", ReservationStatus.ALL), name="status_known"),
        CheckConstraint("dose >= 1", name="dose_positive"),
        # One booking per person and dose that holds or has given it, guarded by the store itself. PostgreSQL's
        # spelling of the predicate is added by add_postgresql_predicates() below.
        Index(ACTIVE_BOOKING_INDEX, "user_id", "dose", unique=True, sqlite_where=ACTIVE_BOOKING),
    )

    id: int | None = Field(default=None, primary_key=True)
    slot_id: int = Field(foreign_key="slot.id", index=True)
    user_id: str = Field(sa_type=String(200), index=True)
    dose: int = 1
    status: str = Field(sa_type=String(16), default=ReservationStatus.RESERVED)
    reserved_at: dt.datetime
    cancelled_at: dt.datetime | None = None
    administered_at: dt.datetime | None = None
    lot: str | None = Field(default=None, sa_type=String(200))


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
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
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    event: str = Field(sa_type=String(64))
    recipient: str = Field(sa_type=String(200))
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    correlation_id: int
    created_at: dt.datetime
    status: str = Field(sa_type=String(16), default=OutboxStatus.PENDING)
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    lease_owner: str | None = Field(default=None, sa_type=String(64))
    lease_until: dt.datetime | None = None
    actor: str | None = Field(default=None, sa_type=String(64))  # who made the change; NULL before migration 0010


class WaitlistEntry(SQLModel, table=True):
    """A person waiting for a dose of a vaccine (at a hospital, within days): booked, in join
    order, in the transaction that frees a matching dose; the row goes when booked or left."""

    __tablename__ = "waitlist"
    __table_args__ = (
        UniqueConstraint("user_id", "dose"),
        CheckConstraint("dose >= 1", name="dose_positive"),
        # A freed dose looks for the longest-waiting entries of its vaccine.
        Index("ix_waitlist_vaccine_key_id", "vaccine_key", "id"),
        # A left or booked entry's number is never given to another person (migration 0011).
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(sa_type=String(200))
    dose: int = 1
    vaccine: str = Field(sa_type=String(200))
    vaccine_key: str = Field(sa_type=String(200))
    hospital: str | None = Field(default=None, sa_type=String(200))
    hospital_key: str | None = Field(default=None, sa_type=String(200))
    date_from: dt.date
    date_to: dt.date | None = None
    joined_at: dt.datetime


class Reminder(SQLModel, table=True):
    """One reminder written for a booking: its key makes `vaxres remind` write each one once,
    however often it runs; a booking moved to another day is reminded again for the new day."""

    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("reservation_id", "date", "days_before"),
        CheckConstraint("days_before >= 0 AND days_before <= 30", name="days_before_in_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reservation_id: int = Field(foreign_key="reservation.id")
    date: dt.date  # the slot's day the reminder was for
    days_before: int  # the window it was written for (`--days-before`)
    created_at: dt.datetime


class StoreSetting(SQLModel, table=True):
    """The store's own settings (its time zone, its language), shared by every machine that uses the store."""

    __tablename__ = "store_setting"

    key: str = Field(sa_type=String(64), primary_key=True)
    value: str = Field(sa_type=Text)


class DeliveryTarget(SQLModel, table=True):
    """A circuit breaker per delivery target, in the store so that separate runs share it."""

    __tablename__ = "delivery_target"

    target: str = Field(sa_type=String(500), primary_key=True)
    consecutive_failures: int = 0
    open_until: dt.datetime | None = None
    cooldown: float
    last_error: str | None = Field(default=None, sa_type=Text)
    updated_at: dt.datetime


slot_table = Slot.__table__
hospital_table = Hospital.__table__
reservation_table = Reservation.__table__
outbox_table = OutboxMessage.__table__
target_table = DeliveryTarget.__table__
vaccine_table = Vaccine.__table__
alias_table = VaccineAlias.__table__
setting_table = StoreSetting.__table__
waitlist_table = WaitlistEntry.__table__


reminder_table = Reminder.__table__

# The view is created by migration 0002; it lives on its own metadata so that autogenerate and
# create_all never mistake it for a table.
reservation_view = Table(
    "reservation_view",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("user_id", String),
    Column("dose", Integer),
    Column("status", String),
    Column("slot_id", Integer),
    Column("date", Date),
    Column("hospital", String),
    Column("vaccine", String),
    Column("reserved_at", UTCDateTime),
    Column("cancelled_at", UTCDateTime),
    Column("administered_at", UTCDateTime),
    Column("lot", String),
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
