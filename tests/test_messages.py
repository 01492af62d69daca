"""The readable message is rendered from the stored facts, the same for every writer."""

import json

import pytest

from tests.helpers import future, query
from vaxres.booking import reservations, slots
from vaxres.outbox import queries as outbox_queries
from vaxres.outbox import templates


def stored_payloads(db) -> list[dict]:
    return [p if isinstance(p, dict) else json.loads(p) for (p,) in query(db, "SELECT payload FROM outbox ORDER BY id")]


def test_each_event_reads_as_a_sentence():
    slot = {"slot_id": 4, "date": "2030-01-02", "hospital": "Seoul", "vaccine": "Pfizer", "doses": 1}
    booked = {
        "reservation_id": 9,
        "user": "kim",
        "dose": 2,
        "slot_id": 4,
        "date": "2030-01-02",
        "hospital": "Seoul",
        "vaccine": "Pfizer",
    }
    rendered = {
        event: templates.with_message(event, payload)["message"]
        for event, payload in [
            ("SlotRegistered", slot),
            ("SlotUpdated", {**slot, "doses": 5, "previous_doses": 1}),
            ("ReservationConfirmed", booked),
            ("ReservationCancelled", booked),
        ]
    }
    assert rendered == {
        "SlotRegistered": "New vaccination slot: Pfizer at Seoul on 2030-01-02, 1 dose open for booking.",
        "SlotUpdated": "Vaccination slot changed: Pfizer at Seoul on 2030-01-02 now has 5 doses (was 1).",
        "ReservationConfirmed": "Your reservation 9 is confirmed: Pfizer (dose 2) at Seoul on 2030-01-02.",
        "ReservationCancelled": "Your reservation 9 is cancelled: Pfizer (dose 2) at Seoul on 2030-01-02.",
    }


def test_a_message_already_in_the_payload_is_kept_and_odd_payloads_pass_through():
    assert templates.with_message("SlotRegistered", {"message": "as written"}) == {"message": "as written"}
    assert templates.with_message("SomethingNew", {"a": 1}) == {"a": 1}
    assert templates.with_message("SlotRegistered", {"slot_id": 1}) == {"slot_id": 1}
    assert [templates.with_message("SlotRegistered", odd) for odd in (None, 7, "text", [1])] == [None, 7, "text", [1]]


@pytest.mark.usefixtures("backend")
def test_the_store_keeps_facts_and_the_listing_adds_the_message(store, db_path):
    slot = slots.add_slot(store, date=future(), hospital="Seoul", vaccine="Pfizer", quantity=2)
    booked = reservations.reserve(store, user="kim", slot_id=slot.id)
    registered, confirmed = stored_payloads(db_path)
    assert registered == {"slot_id": slot.id, "date": future(), "hospital": "Seoul", "vaccine": "Pfizer", "doses": 2}
    assert "message" not in confirmed and confirmed["reservation_id"] == booked.id
    listed = [m.payload for m in outbox_queries.list_outbox(store)]
    assert listed == [
        {
            **registered,
            "message": f"New vaccination slot: Pfizer at Seoul on {future()}, 2 doses open for booking.",
            "lang": "en",
        },
        {
            **confirmed,
            "message": f"Your reservation {booked.id} is confirmed: Pfizer (dose 1) at Seoul on {future()}.",
            "lang": "en",
        },
    ]
