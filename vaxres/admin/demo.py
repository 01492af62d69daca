"""A guided run on a fresh store: the main job of vaxres from registration to the day of the dose."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaxres.booking.lifecycle import administer, close_day
from vaxres.booking.model import SlotRecord
from vaxres.booking.queries import MyPage, list_slots, my_page
from vaxres.booking.reschedule import reschedule
from vaxres.booking.reservations import cancel, reserve
from vaxres.booking.slots import add_slot
from vaxres.booking.waitlist import join as join_waitlist
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
    my_page: MyPage | None = None
    slots: list[SlotRecord] = field(default_factory=list)
    outbox: list[OutboxRecord] = field(default_factory=list)


def demo_target(named: str | None) -> tuple[str | None, bool]:
    """The store the demo runs on: the one named, else a new file in a new temporary folder."""
    if named_target(named) is not None:
        return named, False
    return str(Path(tempfile.mkdtemp(prefix="vaxres-demo-")) / "vaxres.db"), True


def run_demo(store: Store, *, temporary: bool, lang: str | None = None) -> DemoReport:
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

    today = store.today()

    def day(offset: int) -> str:
        return (today + dt.timedelta(days=offset)).isoformat()

    seoul, busan = "Seoul National University Hospital", "Busan Medical Center"
    plan = [
        (day(0), seoul, "Pfizer", 3),
        (day(7), seoul, "Moderna", 1),
        (day(8), busan, "화이자", 2),  # an alias: the slot names the catalog's Pfizer
        (day(22), seoul, "Pfizer", 2),
        (day(29), busan, "Pfizer", 2),
    ]
    created = []
    for date, hospital, vaccine, quantity in plan:
        created.append(
            step(
                [
                    "slot",
                    "add",
                    "--date",
                    date,
                    "--hospital",
                    hospital,
                    "--vaccine",
                    vaccine,
                    "--quantity",
                    str(quantity),
                ],
                lambda d=date, h=hospital, v=vaccine, q=quantity: add_slot(
                    store, date=d, hospital=h, vaccine=v, quantity=q
                ),
            )
        )
    today_slot, moderna, too_soon, second, later = created
    alice = step(
        ["reserve", "--user", "alice", "--slot", str(today_slot.id)],
        lambda: reserve(store, user="alice", slot_id=today_slot.id),
    )
    bob = step(
        ["reserve", "--user", "bob", "--date", day(7), "--hospital", seoul, "--vaccine", "moderna"],
        lambda: reserve(store, user="bob", date=day(7), hospital=seoul, vaccine="moderna"),
    )
    step(
        ["reserve", "--user", "carol", "--slot", str(moderna.id)],
        lambda: reserve(store, user="carol", slot_id=moderna.id),
    )
    step(
        ["waitlist", "join", "--user", "carol", "--vaccine", "Moderna", "--hospital", "Seoul"],
        lambda: join_waitlist(store, user="carol", vaccine="Moderna", hospital="Seoul"),
    )
    step(
        ["reserve", "--user", "alice", "--slot", str(too_soon.id)],
        lambda: reserve(store, user="alice", slot_id=too_soon.id),
    )
    step(
        ["reserve", "--user", "alice", "--slot", str(too_soon.id), "--dose", "2"],
        lambda: reserve(store, user="alice", slot_id=too_soon.id, dose=2),
    )
    dose_2 = step(
        ["reserve", "--user", "alice", "--slot", str(second.id), "--dose", "2"],
        lambda: reserve(store, user="alice", slot_id=second.id, dose=2),
    )
    step(
        ["reschedule", str(dose_2.id), "--slot", str(later.id)],
        lambda: reschedule(store, dose_2.id, slot_id=later.id),
    )
    step(["administer", str(alice.id), "--lot", "FK1234"], lambda: administer(store, alice.id, lot="FK1234"))
    step(["cancel", str(bob.id), "--user", "carol"], lambda: cancel(store, bob.id, user="carol"))
    step(["cancel", str(bob.id), "--user", "bob"], lambda: cancel(store, bob.id, user="bob"))
    step(["close-day"], lambda: close_day(store))
    report.my_page_user = "alice"
    report.my_page = my_page(store, "alice")
    report.slots = list_slots(store)
    report.outbox = list_outbox(store, lang=lang)
    return report
