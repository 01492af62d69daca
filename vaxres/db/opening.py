"""Opening the store a command names: --db, else VAXRES_DB, else the default file; creating a
missing SQLite file for a command that writes, and upgrading a SQLite store that is behind the code.

A missing file is created on the store's first use, not when it is opened: a command that
refuses its input before touching the store leaves nothing behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from vaxres.db.store import Store
from vaxres.errors import InvalidInput, StoreNotFound, StoreUnusable
from vaxres.paths import check_length, length_checked, too_long
from vaxres.settings import resolve_target, target_option


def open_store(
    target: str | None = None,
    *,
    create: bool = True,
    migrate: bool = True,
    on_created: Callable[[Store], None] | None = None,
    actor: str | None = None,
    option: str | None = None,
    pool: int | None = None,
) -> Store:
    """Open the store named by --db, VAXRES_DB or the default, and migrate it as needed.

    A missing SQLite file is StoreNotFound, unless `create`: then it is made (mode 0600, at the
    head revision) when the store is first used, and `on_created` is told. A SQLite store behind
    the code is upgraded (after a backup copy); any other backend must be upgraded with
    `vaxres db upgrade`. `actor`: who makes the changes (see Store.actor). `option`: how errors
    name the path (default: --db, VAXRES_DB or the default path, whichever gave it). `pool`: the
    connections kept open (SQLAlchemy's pool_size; default 5).

    A path too long for the file system is refused (vaxres.paths), leaving room for SQLite's
    `-journal` beside the file.
    """
    option = option or target_option(target)
    with length_checked(option):
        url = resolve_target(target, create_folder=create)
    store = Store(url, actor=actor, pool=pool)
    if store.is_sqlite and store.path is not None and str(store.path) != ":memory:":
        check_length(store.path, option=option, room=len("-journal"))
        with length_checked(option):
            missing = not _exists(store.path)
        if missing:
            if not create:
                raise StoreNotFound(f"there is no store at {store.path}", details={"path": str(store.path)})
            if not store.path.parent.exists():
                raise InvalidInput(
                    f"the folder {store.path.parent} does not exist; create it or name another --db path"
                )
            store.before_first_use(lambda: _create(store, migrate=migrate, on_created=on_created, option=option))
            return store
    if migrate:
        _upgrade_if_behind(store)
    return store


def _create(store: Store, *, migrate: bool, on_created: Callable[[Store], None] | None, option: str) -> None:
    assert store.path is not None
    try:
        fd = os.open(store.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:  # another process made it meanwhile
        fd = None
    except OSError as exc:
        raise too_long(exc, option=option) or InvalidInput(
            f"cannot create the store {store.path}: {exc.strerror}"
        ) from None
    if fd is not None:
        os.close(fd)
        store.created = True
    if migrate:
        _upgrade_if_behind(store)
    if store.created and migrate and on_created is not None:
        on_created(store)


def _upgrade_if_behind(store: Store) -> None:
    state = store.schema_state()
    if not state.behind:
        return
    if not store.is_sqlite:
        raise StoreUnusable(
            f"{store.display} is at schema revision {state.current or 'none'}, the code needs {state.head}",
            details={"revision": state.current, "head": state.head},
        )
    from vaxres.db.migrate import upgrade

    before, after, _backup, notes = upgrade(store)
    if notes:
        store.upgrade_notes = [f"upgraded {store.display} from {before} to {after}", *notes]


def _exists(path: Path) -> bool:
    if path.is_dir():
        raise InvalidInput(f"--db {path} is a directory; name a file inside it")
    return path.exists()
