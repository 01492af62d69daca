"""Files vaxres writes for people (rejected rows, exports): they hold user ids, so they are
created readable by their owner only, never through a symbolic link, and an existing file is
replaced only when asked, and only if it is a regular file (never a device or a pipe). A path
too long for the file system is refused first (vaxres.paths)."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO

from vaxres.errors import InvalidInput, Unavailable
from vaxres.paths import check_length, length_checked, too_long

TEMPORARY_NAME = 48  # characters of the target's name in its temporary file's (4 bytes each at most)


class OutputExists(InvalidInput):
    code = "file_exists"


class OutputFailed(Unavailable):
    """Writing the file failed midway (a full disk, say): nothing was left, try again (75)."""

    code = "output_failed"


def open_private(path: str, *, option: str, force: bool = False) -> IO[bytes]:
    """A new binary file, mode 0600; with `force`, an existing regular file is replaced. Binary:
    the caller picks the encoding (--rejects is written in the imported file's). Like
    replaced_at_end, a folder, a link, a device or a pipe is refused, --force or not."""
    check_output(path, option=option, force=force, dash=False)
    # O_NONBLOCK: a pipe made meanwhile fails or opens at once (then refused below), never waits for a reader.
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise _exists(path, option) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InvalidInput(f"{option} {path} is a symbolic link; name the file itself") from None
        if exc.errno == errno.ENXIO:  # a pipe without a reader
            raise not_regular(path, option, dash=False) from None
        raise too_long(exc, option=option) or InvalidInput(f"cannot write {option} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise not_regular(path, option, dash=False)
    os.set_blocking(fd, True)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def check_output(path: str, *, option: str, force: bool, dash: bool = True) -> None:
    """What every file written for people is checked for before anything is made: a path the
    file system can hold (vaxres.paths), and nothing at `path` but a regular file, replaced only
    with `force`. `dash`: the option takes - for standard output (said in the refusal)."""
    check_length(path, option=option)
    _refuse_existing(path, option=option, force=force, dash=dash)


# A cell starting with one of these is run as a formula by spreadsheets (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@contextmanager
def replaced_at_end(path: str, *, option: str, force: bool = False) -> Iterator[IO[bytes]]:
    """A new binary file, mode 0600, that appears at `path` only once the block ends well: it is
    written to a hidden temporary file beside it, then renamed, so an interrupted or failed
    write leaves nothing, never half a file. Without `force` an existing file is refused, both
    before the block runs and at the rename (a file made meanwhile is not replaced either)."""
    check_output(path, option=option, force=force)
    folder, name = os.path.split(os.path.abspath(path))
    try:
        # The name cut: a name near NAME_MAX would not leave room for the prefix and suffix.
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name[:TEMPORARY_NAME]}.", suffix=".part")
    except OSError as exc:
        raise too_long(exc, option=option) or InvalidInput(f"cannot write {option} {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as file:
            try:
                yield file
                file.flush()
                os.fsync(file.fileno())
            except OSError as exc:
                raise OutputFailed(
                    f"cannot write {option} {path}: {exc.strerror or exc}; nothing was written"
                ) from None
        with length_checked(option):
            _put_in_place(temporary, path, option=option, force=force)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def _refuse_existing(path: str, *, option: str, force: bool, dash: bool = True) -> None:
    """Only a regular file is ever replaced: a device or a pipe (/dev/null, a FIFO) would be
    renamed over, not written to, so it is refused even with --force."""
    if os.path.islink(path):
        raise InvalidInput(f"{option} {path} is a symbolic link; name the file itself")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise too_long(exc, option=option) or InvalidInput(f"cannot write {option} {path}: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise InvalidInput(f"cannot write {option} {path}: it is a folder; name a file")
    if not stat.S_ISREG(mode):
        raise not_regular(path, option, dash=dash)
    if not force:
        raise _exists(path, option)


def is_special(path: str | os.PathLike) -> bool:
    """Something at `path` that is neither a regular file, a folder nor a link: a device, a pipe,
    a socket, which only a regular file's writer must never replace."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))


def not_regular(path: str | os.PathLike, option: str, *, dash: bool) -> InvalidInput:
    other = f", or give {option} - and redirect standard output" if dash else ""
    return InvalidInput(f"{option} {path} is not a regular file; name a file{other}")


def _put_in_place(temporary: str, path: str, *, option: str, force: bool) -> None:
    if force:
        _refuse_existing(path, option=option, force=True)
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)  # unlike a rename, a link never replaces a file made meanwhile
    except FileExistsError:
        raise _exists(path, option) from None
    except OSError:  # a file system without hard links
        _refuse_existing(path, option=option, force=False)
        os.rename(temporary, path)
        return
    os.unlink(temporary)


def _exists(path: str, option: str) -> OutputExists:
    return OutputExists(f"{option} {path} already exists; name a new file, or pass --force to replace it")
