"""The states a reservation and an outbox message go through, as the store spells them."""


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
