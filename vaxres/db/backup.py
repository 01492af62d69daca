"""The copy of a SQLite store written before its schema changes: a full copy of personal data, so
private (0600) from its first byte, and never left behind half-written under its final name."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from pathlib import Path

from vaxres.errors import Unavailable

PART = ".part"  # a copy under way; a name ending so is a copy a killed upgrade left behind


class BackupFailed(Unavailable):
    code = "backup_failed"

    def __init__(self, target: Path, reason: str):
        super().__init__(
            f"could not write the backup {target} before upgrading ({reason}); nothing was changed: "
            f"free some space or fix the folder's permissions, then try again",
            details={"path": str(target), "reason": reason},
        )


def backup_sqlite(path: Path, revision: str) -> Path:
    """Copy the store consistently (SQLite's backup API) to `<name>.<revision>.<time>.bak`: written
    as `.bak.part`, created 0600, synced, then renamed, so the final name only ever holds a whole copy."""
    _remove_leftovers(path)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.{revision}.{stamp}.bak")
    partial = target.with_name(target.name + PART)
    try:
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
        with contextlib.closing(sqlite3.connect(path)) as source, contextlib.closing(sqlite3.connect(partial)) as copy:
            copy.execute("PRAGMA journal_mode = OFF")  # a failed copy is thrown away whole: no journal to leave behind
            source.backup(copy)
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise BackupFailed(target, _reason(exc)) from None
    return target


def _remove_leftovers(path: Path) -> None:
    """Partial copies of this store, left by an upgrade that was killed; the copy is written again."""
    for leftover in path.parent.glob(f"{_glob_escape(path.name)}.*.bak{PART}*"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return "no space left on device"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
