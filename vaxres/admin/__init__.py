"""Operator tasks on the store as a whole: schema revision, upgrade, copy, and the demo."""
