"""CSV imports of slots and reservations: read, parse, stage, then load in chunks."""
