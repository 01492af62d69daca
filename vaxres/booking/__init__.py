"""Slots and reservations: the rules (rules.py), the use cases that write, and the read side."""
