"""A guided run on a fresh store: the main job of vaxres from registration to notification."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaxres import validate
from vaxres.booking.model import ReservationRecord, SlotRecord
from vaxres.booking.queries import list_slots, my_page
from vaxres.booking.reservations import cancel, reserve
from vaxres.booking.slots import add_slot
from vaxres.db.store import Store
from vaxres.errors import StoreNotEmpty, VaxresError
from vaxres.outbox.model import OutboxRecord
from vaxres.outbox.queries import list_outbox
from vaxres.settings import named_target


@dataclass(frozen=True)
class DemoStep:
    command: list[str]
    outcome: Any  # a record, or the VaxresError the rules answered with


@dataclass
class DemoReport:
    store: Store
    temporary: bool
    steps: list[DemoStep] = field(default_factory=list)
    my_page_user: str = ""
    my_page: list[ReservationRecord] = field(default_factory=list)
    slots: list[SlotRecord] = field(default_factory=list)
    outbox: list[OutboxRecord] = field(default_factory=list)


def demo_target(named: str | None) -> tuple[str | None, bool]:
    """The store the demo runs on: the one named, else a new file in a new temporary folder."""
    if named_target(named) is not None:
        return named, False
    return str(Path(tempfile.mkdtemp(prefix="vaxres-demo-")) / "vaxres.db"), True


def run_demo(store: Store, *, temporary: bool) -> DemoReport:
    if store.holds_data():
        raise StoreNotEmpty(
            f"{store.display} already holds data and the demo only runs on a fresh store; "
            f"name a new file with --db, or leave --db and VAXRES_DB unset for a temporary one"
        )
    report = DemoReport(store=store, temporary=temporary)

    def step(command: list[str], action) -> Any:
        try:
            outcome = action()
        except VaxresError as refusal:
            outcome = refusal
        report.steps.append(DemoStep(command, outcome))
        return outcome

    day = (validate.today() + dt.timedelta(days=7)).isoformat()
    later = (validate.today() + dt.timedelta(days=8)).isoformat()
    plan = [
        (day, "Seoul National University Hospital", "Pfizer", 3),
        (day, "Seoul National University Hospital", "Moderna", 1),
        (later, "Busan Medical Center", "Pfizer", 2),
    ]
    created = []
    for date, hospital, vaccine, quantity in plan:
        created.append(
            step(
                ["slot", "add", "--date", date, "--hospital", hospital, "--vaccine", vaccine, "--quantity", str(quantity)],
                lambda d=date, h=hospital, v=vaccine, q=quantity: add_slot(store, date=d, hospital=h, vaccine=v, quantity=q),
            )
        )
    pfizer, moderna, busan = created
    alice = step(["reserve", "--user", "alice", "--slot", str(pfizer.id)], lambda: reserve(store, user="alice", slot_id=pfizer.id))
    step(
        ["reserve", "--user", "bob", "--date", day, "--hospital", moderna.hospital, "--vaccine", "moderna"],
        lambda: reserve(store, user="bob", date=day, hospital=moderna.hospital, vaccine="moderna"),
    )
    step(["reserve", "--user", "carol", "--slot", str(moderna.id)], lambda: reserve(store, user="carol", slot_id=moderna.id))
    step(["reserve", "--user", "alice", "--slot", str(busan.id)], lambda: reserve(store, user="alice", slot_id=busan.id))
    step(["cancel", str(alice.id)], lambda: cancel(store, alice.id))
    step(
        ["reserve", "--user", "alice", "--slot", str(busan.id)],
        lambda: reserve(store, user="alice", slot_id=busan.id),
    )
    step(
        ["reserve", "--user", "alice", "--slot", str(pfizer.id), "--dose", "2"],
        lambda: reserve(store, user="alice", slot_id=pfizer.id, dose=2),
    )
    report.my_page_user = "alice"
    report.my_page = my_page(store, "alice")
    report.slots = list_slots(store)
    report.outbox = list_outbox(store)
    return report
