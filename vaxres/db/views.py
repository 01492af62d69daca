"""The views administrators query beside the tables."""

from sqlalchemy import Column, Date, Integer, MetaData, String, Table

from vaxres.db.types import UTCDateTime

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
