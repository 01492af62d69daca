"""Operator tasks on the store as a whole: schema revision, upgrade, copy, the demo, and its history (log)."""
