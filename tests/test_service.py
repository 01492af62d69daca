"""The use cases against a real SQLite store: rules, refusals that write nothing, outbox rows."""

import pytest

from tests.helpers import future, invariant_violations, query, snapshot
from vaxres import errors
from vaxres.booking import queries, reservations, rules, slots
from vaxres.cli.hints import explain
from vaxres.outbox import queries as outbox_queries

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def slot(store):
    return slots.add_slot(store, date=future(), hospital="Seoul Hospital", vaccine="Pfizer", quantity=2)


def outbox_events(store):
    return [(m.event, m.recipient, m.correlation_id) for m in outbox_queries.list_outbox(store)]


def test_add_slot_normalises_names_and_announces_it(store):
    slot = slots.add_slot(store, date=future(), hospital="  Seoul   Hospital ", vaccine=" Pfizer", quantity="5")
    assert (slot.hospital, slot.vaccine, slot.capacity, slot.remaining) == ("Seoul Hospital", "Pfizer", 5, 5)
    [message] = outbox_queries.list_outbox(store)
    assert (message.event, message.recipient, message.correlation_id, message.status) == (
        "SlotRegistered",
        "*",
        slot.id,
        "pending",
    )
    assert message.payload["date"] == future() and message.payload["hospital"] == "Seoul Hospital"
    assert "Pfizer at Seoul Hospital" in message.payload["message"]


def test_same_slot_in_another_case_is_a_duplicate_and_writes_nothing(store, slot, db_path):
    before = snapshot(db_path)
    with pytest.raises(rules.DuplicateSlot, match=f"slot {slot.id} already exists") as raised:
        slots.add_slot(store, date=future(), hospital="SEOUL  hospital", vaccine="pfizer", quantity=3)
    assert raised.value.details["slot_id"] == slot.id
    assert f"vaxres slot update {slot.id} --quantity N" in explain(raised.value)
    assert snapshot(db_path) == before


def test_unicode_names_compare_without_case(store):
    slots.add_slot(store, date=future(), hospital="Ärztehaus Berlin", vaccine="Novavax", quantity=1)
    with pytest.raises(rules.DuplicateSlot):
        slots.add_slot(store, date=future(), hospital="ÄRZTEHAUS BERLIN", vaccine="NOVAVAX", quantity=1)


def test_reserve_decrements_and_confirms_in_the_outbox(store, slot):
    booked = reservations.reserve(store, user="alice", slot_id=slot.id)
    assert (booked.user, booked.dose, booked.status, booked.slot_remaining) == ("alice", 1, "reserved", 1)
    assert queries.list_slots(store)[0].remaining == 1
    assert outbox_events(store)[-1] == ("ReservationConfirmed", "alice", booked.id)
    payload = outbox_queries.list_outbox(store)[-1].payload
    assert payload["reservation_id"] == booked.id and payload["hospital"] == "Seoul Hospital"


def test_reserve_by_date_hospital_and_vaccine_in_any_case(store, slot):
    booked = reservations.reserve(store, user="bob", date=future(), hospital="seoul HOSPITAL", vaccine="PFIZER")
    assert booked.slot_id == slot.id


def test_sold_out_is_refused_and_writes_nothing(store, slot, db_path):
    reservations.reserve(store, user="a", slot_id=slot.id)
    reservations.reserve(store, user="b", slot_id=slot.id)
    before = snapshot(db_path)
    with pytest.raises(rules.SoldOut, match="is sold out"):
        reservations.reserve(store, user="c", slot_id=slot.id)
    assert snapshot(db_path) == before


def test_one_active_reservation_per_person_and_dose(store, slot, db_path):
    first = reservations.reserve(store, user="alice", slot_id=slot.id)
    other = slots.add_slot(store, date=future(7 + 21), hospital="Busan", vaccine="Pfizer", quantity=3)
    before = snapshot(db_path)
    with pytest.raises(rules.AlreadyReserved, match=f"alice already holds reservation {first.id} for dose 1"):
        reservations.reserve(store, user="alice", slot_id=other.id)
    assert snapshot(db_path) == before
    second_dose = reservations.reserve(store, user="alice", slot_id=other.id, dose=2)
    assert second_dose.dose == 2


def test_unknown_slot_and_reservation_are_not_found(store, slot, db_path):
    before = snapshot(db_path)
    with pytest.raises(rules.SlotNotFound, match="there is no slot 99"):
        reservations.reserve(store, user="a", slot_id=99)
    with pytest.raises(rules.SlotNotFound, match="there is no slot for"):
        reservations.reserve(store, user="a", date=future(), hospital="Nowhere", vaccine="Pfizer")
    with pytest.raises(rules.ReservationNotFound, match="there is no reservation 5"):
        reservations.cancel(store, 5)
    with pytest.raises(rules.SlotNotFound):
        slots.update_slot(store, 99, quantity=3)
    assert snapshot(db_path) == before


def test_reserve_needs_exactly_one_way_to_name_the_slot(store, slot):
    with pytest.raises(errors.InvalidInput, match="not both"):
        reservations.reserve(store, user="a", slot_id=slot.id, date=future())
    with pytest.raises(errors.InvalidInput, match="all three"):
        reservations.reserve(store, user="a", date=future(), hospital="Seoul Hospital")


def test_a_slot_whose_day_has_passed_cannot_be_booked(store, slot, db_path):
    query(db_path, "UPDATE slot SET date = '2020-01-01'")
    with pytest.raises(rules.SlotInPast, match="is in the past"):
        reservations.reserve(store, user="a", slot_id=slot.id)


def test_cancel_returns_exactly_one_dose_once(store, slot, db_path):
    kept = reservations.reserve(store, user="a", slot_id=slot.id)
    gone = reservations.reserve(store, user="b", slot_id=slot.id)
    result = reservations.cancel(store, gone.id)
    cancelled = result.reservation
    assert result.also_cancelled == []
    assert (cancelled.status, cancelled.slot_remaining) == ("cancelled", 1)
    assert cancelled.cancelled_at is not None
    assert outbox_events(store)[-1] == ("ReservationCancelled", "b", gone.id)
    before = snapshot(db_path)
    with pytest.raises(rules.AlreadyCancelled, match=f"reservation {gone.id} was already cancelled"):
        reservations.cancel(store, gone.id)
    assert snapshot(db_path) == before
    assert queries.list_slots(store)[0].remaining == 1
    assert [(b.id, b.status) for b in queries.my_page(store, "a").reservations] == [(kept.id, "reserved")]
    assert invariant_violations(db_path) == []


def test_cancelled_person_may_book_again(store, slot):
    first = reservations.reserve(store, user="a", slot_id=slot.id)
    reservations.cancel(store, first.id)
    again = reservations.reserve(store, user="a", slot_id=slot.id)
    assert [b.id for b in queries.my_page(store, "a").reservations] == [again.id, first.id]


def test_update_moves_remaining_by_the_difference(store, slot):
    reservations.reserve(store, user="a", slot_id=slot.id)
    change = slots.update_slot(store, slot.id, quantity=10)
    assert (change.previous_capacity, change.slot.capacity, change.slot.remaining) == (2, 10, 9)
    change = slots.update_slot(store, slot.id, quantity=1)
    assert (change.slot.capacity, change.slot.remaining) == (1, 0)
    assert outbox_events(store)[-1] == ("SlotUpdated", "*", slot.id)


def test_update_below_booked_is_refused_and_writes_nothing(store, slot, db_path):
    reservations.reserve(store, user="a", slot_id=slot.id)
    reservations.reserve(store, user="b", slot_id=slot.id)
    before = snapshot(db_path)
    with pytest.raises(rules.CapacityBelowBooked, match="has 2 doses booked.*give at least 2"):
        slots.update_slot(store, slot.id, quantity=1)
    assert snapshot(db_path) == before


def test_update_to_the_same_capacity_changes_nothing(store, slot, db_path):
    before = snapshot(db_path)
    change = slots.update_slot(store, slot.id, quantity=2)
    assert not change.changed
    assert snapshot(db_path) == before


def test_slot_list_filters(store):
    a = slots.add_slot(store, date=future(1), hospital="Seoul", vaccine="Pfizer", quantity=1)
    b = slots.add_slot(store, date=future(2), hospital="Busan", vaccine="Moderna", quantity=1)
    reservations.reserve(store, user="x", slot_id=a.id)
    assert [s.id for s in queries.list_slots(store)] == [a.id, b.id]
    assert [s.id for s in queries.list_slots(store, available=True)] == [b.id]
    assert [s.id for s in queries.list_slots(store, hospital="BUSAN")] == [b.id]
    assert [s.id for s in queries.list_slots(store, vaccine="pfizer")] == [a.id]
    assert [s.id for s in queries.list_slots(store, date=future(2))] == [b.id]


def test_the_invariant_holds_through_a_mixed_run(store, db_path):
    created = [slots.add_slot(store, date=future(), hospital=f"H{i}", vaccine="Janssen", quantity=3) for i in range(3)]
    ids = []
    for n in range(12):
        try:
            ids.append(reservations.reserve(store, user=f"u{n}", slot_id=created[n % 3].id).id)
        except rules.SoldOut:
            pass
    for rid in ids[::2]:
        reservations.cancel(store, rid)
    slots.update_slot(store, created[0].id, quantity=7)
    assert invariant_violations(db_path) == []
