"""The migration revisions this code knows, oldest first.

Kept here so that opening a store can compare versions without importing Alembic (which costs
as much as the rest of a `vaxres reserve`); a test pins this list to migrations/versions.
"""

REVISIONS = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
    "0012",
    "0013",
    "0014",
    "0015",
    "0016",
)
HEAD = REVISIONS[-1]
