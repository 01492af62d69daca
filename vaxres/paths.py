"""Paths a person names (--db, VAXRES_DB, import's FILE, --rejects, --output, --html, --to, db
copy's TARGET): one the system cannot hold (a name longer than NAME_MAX, a path longer than
PATH_MAX) is refused with one line naming the option, exit 2, before anything is made.

check_length() looks first; too_long() turns an ENAMETOOLONG met where the path is finally used
(a file system with a smaller limit than it reports, say) into the same refusal.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

from vaxres.errors import InvalidInput

NAME_MAX = 255  # when the system does not say (os.pathconf is POSIX only)
PATH_MAX = 4096


class PathTooLong(InvalidInput):
    code = "path_too_long"


def check_length(path: str | os.PathLike, *, option: str, room: int = 0) -> None:
    """Refuse `path` when one of its names, or the whole path made absolute, is longer than the
    file system holds; `room`: bytes the last name must leave free (SQLite's `-journal`)."""
    full = os.path.abspath(os.fspath(path))
    folder = _existing_folder(full)
    name_max, path_max = _limit(folder, "PC_NAME_MAX", NAME_MAX), _limit(folder, "PC_PATH_MAX", PATH_MAX)
    names = [name for name in full.split(os.sep) if name]
    for position, name in enumerate(names):
        limit = name_max - (room if position == len(names) - 1 else 0)
        size = len(os.fsencode(name))
        if size > limit:
            unit = "characters" if size == len(name) else "bytes"
            raise PathTooLong(
                f"{option}: the path is too long (a name has {size:,} {unit}, at most {limit:,} here); choose a shorter path"
            )
    size = len(os.fsencode(full))
    if size >= path_max:  # PATH_MAX counts the final NUL
        raise PathTooLong(
            f"{option}: the path is too long ({size:,} bytes, at most {path_max - 1:,} here); choose a shorter path"
        )


def too_long(exc: OSError, *, option: str) -> PathTooLong | None:
    """The refusal for an ENAMETOOLONG the check did not foresee, else None."""
    if exc.errno != errno.ENAMETOOLONG:
        return None
    return PathTooLong(f"{option}: the path is too long for this file system; choose a shorter path")


@contextmanager
def length_checked(option: str) -> Iterator[None]:
    """Around the code that finally uses a path: ENAMETOOLONG becomes PathTooLong."""
    try:
        yield
    except OSError as exc:
        refusal = too_long(exc, option=option)
        if refusal is None:
            raise
        raise refusal from None


def _existing_folder(full: str) -> str:
    folder = os.path.dirname(full)
    while not os.path.isdir(folder):  # isdir is False for a path too long to look at
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return folder


def _limit(folder: str, name: str, fallback: int) -> int:
    try:
        value = os.pathconf(folder, name)
    except (AttributeError, OSError, ValueError):
        return fallback
    return value if value and value > 0 else fallback
