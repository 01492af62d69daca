"""Exports: slots, reservations, outbox messages and the waitlist as CSV or JSONL, read from one
cursor a batch at a time; the CSV files of slots and reservations import again as they are."""
