"""Human renderings of service results, shared by the commands and the demo."""

from vaxres.cli.output import console_width, print_table

WIDE = 100  # columns from which a table has room for the less needed columns
UNKNOWN_ACTOR = "unknown"  # a message written before the audit trail (migration 0010) names nobody


def table_time(value, zone) -> str:
    """A time as a table shows it: in the store's zone, to the minute, labelled ("2026-12-01
    09:30 KST"); --json has the full time in UTC."""
    return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def minute(value, zone) -> str:
    """'2026-12-01 09:30': a time in `zone` to the minute, for tables whose title names the zone."""
    return f"{value.astimezone(zone):%Y-%m-%d %H:%M}"


def _doses(n: int) -> str:
    from vaxres.formats import doses

    return doses(n)


def slot_added(slot) -> str:
    waiting = f" {_doses(slot.booked)} went at once to people waiting." if slot.booked else ""
    return (
        f"Registered slot {slot.id}: {slot.date.isoformat()}, {slot.hospital}, {slot.vaccine}, "
        f"{_doses(slot.capacity)}.{waiting}"
    )


def slot_updated(change) -> str:
    slot = change.slot
    if not change.changed:
        return f"Slot {slot.id} already has a capacity of {slot.capacity}; nothing changed."
    return (
        f"Slot {slot.id}: capacity {change.previous_capacity} -> {slot.capacity}, "
        f"{_doses(slot.remaining)} left ({slot.booked} booked)."
    )


def reserved(booking) -> str:
    return (
        f"Reserved {booking.id} for {booking.user}: {booking.vaccine} (dose {booking.dose}) at "
        f"{booking.hospital} on {booking.date.isoformat()}. "
        f"Slot {booking.slot_id} has {_doses(booking.slot_remaining)} left."
    )


def cancelled(booking) -> str:
    return (
        f"Cancelled {booking.id} for {booking.user}: {booking.vaccine} (dose {booking.dose}) at "
        f"{booking.hospital} on {booking.date.isoformat()}. "
        f"Slot {booking.slot_id} has {_doses(booking.slot_remaining)} left."
    )


def slots_table(slots, title: str = "Slots") -> None:
    """Compact, so that a hospital's name keeps one line in 80 columns as long as it can."""
    print_table(
        title,
        ("ID", "Date", "Hospital", "Vaccine", "Capacity", "Booked", "Remaining"),
        ((s.id, s.date.isoformat(), s.hospital, s.vaccine, s.capacity, s.booked, s.remaining) for s in slots),
        compact=True,
    )


def mypage_table(bookings, zone) -> None:
    """The hospital gets the room: a given dose's lot goes under its status, and the time of
    booking shows only in a wide terminal (`vaxres show N` and --json always have it)."""

    def status(b):
        return f"{b.status}\nlot\n{b.lot}" if b.lot else b.status

    wide = console_width() >= WIDE
    columns = ("No.", "Status", "Date", "Hospital", "Vaccine", "Dose") + (("Reserved at",) if wide else ())
    print_table(
        f"Reservations of {bookings[0].user}",
        columns,
        (
            (b.id, status(b), b.date.isoformat(), b.hospital, b.vaccine, b.dose)
            + ((table_time(b.reserved_at, zone),) if wide else ())
            for b in bookings
        ),
    )


def rescheduled(result) -> str:
    booking, previous = result.reservation, result.previous_slot
    return (
        f"Moved {booking.id} for {booking.user}: {booking.vaccine} (dose {booking.dose}) to {booking.hospital} on "
        f"{booking.date.isoformat()} (slot {booking.slot_id}, {_doses(booking.slot_remaining)} left), from slot "
        f"{previous.id} on {previous.date.isoformat()} ({_doses(previous.remaining)} left)."
    )


def administered(booking) -> str:
    lot = f", lot {booking.lot}" if booking.lot else ""
    facts = booking.facts
    if facts is not None:
        lot += f" (expires {facts.lot_expires.isoformat()})" if facts.lot_expires else ""
        lot += "".join(f", {part}" for part in (facts.site, facts.route and f"route {facts.route}") if part)
    return (
        f"Recorded dose {booking.dose} of {booking.vaccine} for {booking.user} (reservation {booking.id}) "
        f"at {booking.hospital} on {booking.date.isoformat()}{lot}."
    )


def closed_day(result) -> str:
    count = len(result.missed)
    if not count:
        return f"No bookings left open up to {result.date.isoformat()}; nothing changed."
    return f"Closed up to {result.date.isoformat()}: {count} booking{'s' if count != 1 else ''} marked no-show."


def reminded(result) -> str:
    up_to = result.up_to.isoformat()
    if not result.written:
        return f"No bookings to remind up to {up_to}; nothing written."
    return f"Wrote {result.written:,} reminder{'s' if result.written != 1 else ''} for bookings up to {up_to}."


def vaccines_table(vaccines) -> None:
    print_table(
        "Vaccines",
        ("Vaccine", "Aliases", "Doses", "Min. interval", "CVX", "ATC"),
        (
            (
                v.name,
                ", ".join(v.aliases),
                v.doses,
                f"{v.min_interval_days} days" if v.doses > 1 else "",
                dict(v.codes).get("cvx", ""),
                dict(v.codes).get("atc", ""),
            )
            for v in vaccines
        ),
    )


def vaccine_details(vaccine) -> str:
    """The vaccine's line, then each code on a line of its own ('no codes' when it has none)."""
    from vaxres.booking.codes import SYSTEMS

    given = dict(vaccine.codes)
    lines = [f"  {SYSTEMS[field].label}: {given[field]}" for field in SYSTEMS if field in given]
    return "\n".join([vaccine_line(vaccine), *(lines or ["  no codes (add them with `vaxres vaccine update`)"])])


def history_table(result, zone) -> None:
    b = result.reservation
    lot = f", lot {b.lot}" if b.lot else ""
    print_table(
        f"Reservation {b.id}: {b.user}, {b.vaccine} (dose {b.dose}) at {b.hospital} on {b.date.isoformat()}, {b.status}{lot}",
        ("When", "Who", "Event", "Message"),
        (
            (table_time(m.created_at, zone), m.actor or UNKNOWN_ACTOR, m.event, m.payload.get("message", ""))
            for m in result.history
        ),
    )


def outbox_table(messages) -> None:
    """One line a message, in any width: the message (then the recipient) is cut with "…" to
    fit, every other column keeps its width; `outbox show ID` has the rest."""
    print_table(
        "Outbox",
        ("ID", "Event", "Recipient", "Status", "Attempts", "Message"),
        ((m.id, m.event, m.recipient, m.status, m.attempts, m.payload.get("message", "")) for m in messages),
        compact=True,
        cut=("Recipient", "Message"),
    )


def log_table(entries, zone) -> None:
    """When, who, what: the message whole (wrapped, not cut: an audit reads every word); the
    event's name too when the terminal is wide."""
    wide = console_width() >= WIDE + 20
    columns = ("ID", "When", "Who") + (("Event",) if wide else ()) + ("What",)
    print_table(
        "Log",
        columns,
        (
            (m.id, table_time(m.created_at, zone), m.actor or UNKNOWN_ACTOR)
            + ((m.event,) if wide else ())
            + (m.payload.get("message", m.event) if isinstance(m.payload, dict) else m.event,)
            for m in (entry.message for entry in entries)
        ),
        compact=True,
    )


def message_details(m, zone) -> str:
    """`outbox show`: one message whole, a field a line, then its payload as indented JSON."""
    import json

    from vaxres.db.tables import OutboxStatus
    from vaxres.outbox.events import subject_of

    def line(value) -> str:
        return "-" if value is None or value == "" else str(value).replace("\n", "\\n")

    fields = (
        ("ID", m.id),
        ("Event", m.event),
        ("Recipient", m.recipient),
        ("Ref", f"{subject_of(m.event)} {m.correlation_id}"),
        ("Actor", m.actor or UNKNOWN_ACTOR),
        ("Status", m.status),
        ("Attempts", m.attempts),
        ("Created", table_time(m.created_at, zone)),
        ("Next attempt", table_time(m.next_attempt_at, zone) if m.status == OutboxStatus.PENDING else None),
        ("Delivered", table_time(m.delivered_at, zone)),
        ("Last error", m.last_error),
        ("Message", m.payload.get("message") if isinstance(m.payload, dict) else None),
    )
    payload = json.dumps(m.payload, ensure_ascii=False, indent=2)
    return "\n".join([*(f"{f'{label}:':<14}{line(value)}" for label, value in fields), "Payload:", payload])


def vaccine_line(vaccine) -> str:
    series = f"{_doses(vaccine.doses)}"
    if vaccine.doses > 1:
        series += f", at least {vaccine.min_interval_days} days apart"
    aliases = f"; also called {', '.join(vaccine.aliases)}" if vaccine.aliases else ""
    return f"{vaccine.name}: {series}{aliases}."


def waitlist_table(entries, title: str = "Waitlist") -> None:
    print_table(
        title,
        ("Entry", "Line", "User", "Vaccine", "Dose", "Hospital", "From", "To"),
        (
            (
                e.id,
                e.position,
                e.user,
                e.vaccine,
                e.dose,
                e.hospital or "any",
                e.date_from.isoformat(),
                e.date_to.isoformat() if e.date_to else "",
            )
            for e in entries
        ),
    )


def joined(result) -> str:
    if result.booked is not None:
        return f"A matching dose was free: {reserved(result.booked)}"
    entry = result.entry
    return f"{entry.user} waits for {entry.describe()} (entry {entry.id}, number {entry.position} in line)."
