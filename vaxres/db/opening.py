"""Opening the store a command names: --db, else VAXRES_DB, else the default file; creating a
missing SQLite file, and upgrading a SQLite store that is behind the code.
"""

from __future__ import annotations

import os
from pathlib import Path

from vaxres.db.store import Store
from vaxres.errors import InvalidInput, StoreNotFound, StoreUnusable
from vaxres.settings import resolve_target


def open_store(target: str | None = None, *, create: bool = True, migrate: bool = True) -> Store:
    """Open the store named by --db, VAXRES_DB or the default, creating and migrating it as needed.

    A new SQLite file is created with mode 0600. A SQLite store behind the code is upgraded
    (after a backup copy); any other backend must be upgraded with `vaxres db upgrade`.
    """
    url = resolve_target(target)
    store = Store(url)
    if store.is_sqlite and store.path is not None and str(store.path) != ":memory:":
        _ensure_sqlite_file(store.path, create=create)
    if migrate:
        state = store.schema_state()
        if state.behind:
            if not store.is_sqlite:
                raise StoreUnusable(
                    f"{store.display} is at schema revision {state.current or 'none'}, "
                    f"the code needs {state.head}: run `vaxres db upgrade`"
                )
            from vaxres.db.migrate import upgrade

            before, after, _backup, notes = upgrade(store)
            store.upgrade_notes = [f"upgraded {store.display} from {before} to {after}", *notes] if notes else []
    return store


def _ensure_sqlite_file(path: Path, *, create: bool) -> None:
    if path.exists():
        if path.is_dir():
            raise InvalidInput(f"--db {path} is a directory; name a file inside it")
        return
    if not create:
        raise StoreNotFound(f"There is no store at {path} yet; any command that uses it creates it")
    if not path.parent.exists():
        raise InvalidInput(f"The folder {path.parent} does not exist; create it or name another --db path")
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise InvalidInput(f"Cannot create the store {path}: {exc.strerror}") from None
    os.close(fd)
