"""The bulk path of booking (imports, the waitlist's bulk offer): one UPDATE takes each slot's doses,
and a slot that no longer has them stops everything, nothing written (issue 25)."""

import pytest

from tests.helpers import count_rows, future, query
from vaxres.booking import slots
from vaxres.booking.doses import SlotsChangedMeanwhile, book_many, confirmations
from vaxres.db.tables import utcnow

pytestmark = pytest.mark.usefixtures("backend")


def test_a_slot_short_of_doses_stops_the_bulk_booking_with_nothing_written(store, db_path):
    roomy = slots.add_slot(store, date=future(), hospital="Seoul", vaccine="Janssen", quantity=5)
    tight = slots.add_slot(store, date=future(), hospital="Busan", vaccine="Janssen", quantity=1)
    now = utcnow()
    bookings = [(roomy.id, "a", 1), (tight.id, "b", 1), (tight.id, "c", 1)]  # one too many for the tight slot
    messages = count_rows(db_path, "outbox")
    with pytest.raises(SlotsChangedMeanwhile), store.write() as conn:
        book_many(conn, bookings, now, confirmations())
    assert query(db_path, "SELECT id, remaining FROM slot ORDER BY id") == [(roomy.id, 5), (tight.id, 1)]
    assert count_rows(db_path, "reservation") == 0 and count_rows(db_path, "outbox") == messages


def test_the_bulk_booking_takes_the_doses_and_writes_one_message_each(store, db_path):
    slot = slots.add_slot(store, date=future(), hospital="Seoul", vaccine="Janssen", quantity=3)
    now = utcnow()
    bookings = [(slot.id, user, 1) for user in "ab"]
    with store.write() as conn:
        book_many(conn, bookings, now, confirmations())
    assert query(db_path, "SELECT remaining FROM slot") == [(1,)]
    assert query(db_path, "SELECT user_id FROM reservation ORDER BY id") == [("a",), ("b",)]
    assert count_rows(db_path, "outbox", "event = 'ReservationConfirmed'") == 2


@pytest.mark.parametrize("count", [49, 50, 123])
def test_the_bulk_booking_numbers_the_reservations_in_the_order_given(store, db_path, count):
    """Inserted in statements of many rows each (bulk.insert_rows on SQLite) and a last one of the
    rest: every booking once, numbered in the order given, and its message in the same order."""
    slot = slots.add_slot(store, date=future(), hospital="Seoul", vaccine="Janssen", quantity=count)
    people = [f"p{n:03d}" for n in reversed(range(count))]  # not in the index's order
    with store.write() as conn:
        book_many(conn, [(slot.id, person, 1) for person in people], utcnow(), confirmations())
    assert query(db_path, "SELECT user_id FROM reservation ORDER BY id") == [(person,) for person in people]
    messages = "SELECT recipient FROM outbox WHERE event = 'ReservationConfirmed' ORDER BY id"
    assert query(db_path, messages) == [(person,) for person in people]
    assert query(db_path, "SELECT remaining FROM slot") == [(0,)]
