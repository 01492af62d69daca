"""Citizens acting for themselves (issue 23): one-time codes through the outbox, sessions, and
what a session may do (its own bookings and its wards')."""
