"""Files vaxres writes for people (rejected rows today, exports later): they hold user ids, so
they are created readable by their owner only, never through a symbolic link, and an existing
file is replaced only when asked."""

from __future__ import annotations

import errno
import os
from typing import IO

from vaxres.errors import InvalidInput


class OutputExists(InvalidInput):
    code = "file_exists"


def open_private(path: str, *, option: str, force: bool = False) -> IO[bytes]:
    """A new binary file, mode 0600; with `force`, an existing regular file is replaced. Binary:
    the caller picks the encoding (--rejects is written in the imported file's)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if force else os.O_EXCL)
    if os.path.islink(path):
        raise InvalidInput(f"{option} {path} is a symbolic link; name the file itself")
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise OutputExists(f"{option} {path} already exists; name a new file, or pass --force to replace it") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InvalidInput(f"{option} {path} is a symbolic link; name the file itself") from None
        raise InvalidInput(f"cannot write {option} {path}: {exc.strerror}") from None
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")
