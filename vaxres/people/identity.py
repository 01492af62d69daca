"""The key that turns a resident registration number into the fingerprint the store keeps
(HMAC-SHA-256): kept outside the store, so a copy of the store alone cannot be searched for a
number. `VAXRES_ID_KEY` gives it; otherwise, for a SQLite store only, a key file made on first
use in the user data folder (mode 0600). The store keeps a check value of the key: another key
is refused (`id_key_mismatch`), never read as "nobody has this number"."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection

from vaxres.db.store_setting import read_setting, write_setting
from vaxres.errors import InvalidInput
from vaxres.people.rrn import ResidentNumber

KEY_ENV = "VAXRES_ID_KEY"
KEY_FILE_NAME = "id.key"
CHECK_SETTING = "id_key_check"
MIN_KEY_LENGTH = 32


class IdKeyMissing(InvalidInput):
    code = "id_key_missing"


class IdKeyMismatch(InvalidInput):
    code = "id_key_mismatch"


def key_file() -> Path:
    from platformdirs import user_data_path

    return user_data_path("vaxres", appauthor=False) / KEY_FILE_NAME


def load_key(*, shared_store: bool) -> bytes:
    """The key: $VAXRES_ID_KEY, else (a store of this machine only) the key file, made now if
    there is none."""
    given = os.environ.get(KEY_ENV)
    if given is not None:
        return _checked(given.strip(), KEY_ENV)
    if shared_store:
        raise IdKeyMissing(
            f"a store on a database server needs the identity key in {KEY_ENV}: the same secret of at "
            f"least {MIN_KEY_LENGTH} characters on every machine that shares the store"
        )
    path = key_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as made:
            made.write(secrets.token_hex(32) + "\n")
            made.flush()
            os.fsync(made.fileno())
    try:
        return _checked(path.read_text(encoding="ascii").strip(), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise IdKeyMissing(f"cannot read the identity key file {path}: {getattr(exc, 'strerror', exc)}") from None


def _checked(key: str, where: str) -> bytes:
    if len(key) < MIN_KEY_LENGTH:
        raise IdKeyMissing(f"the identity key in {where} must be at least {MIN_KEY_LENGTH} characters")
    return key.encode("utf-8")


def check_value(key: bytes) -> str:
    return hmac.new(key, b"vaxres identity key check", hashlib.sha256).hexdigest()[:16]


def verified_key(conn: Connection, *, shared_store: bool) -> bytes:
    """The key, once the store has agreed it is the one its fingerprints were made with (the
    first key a store sees becomes its key). Call it in the transaction that uses the key."""
    key, known = checked_key(conn, shared_store=shared_store)
    if not known:
        write_setting(conn, CHECK_SETTING, check_value(key))
    return key


def checked_key(conn: Connection, *, shared_store: bool) -> tuple[bytes, bool]:
    """The key and whether the store knows it already; another key than the store's is refused.
    Writes nothing: an import's first pass reads, its load makes the key the store's."""
    key = load_key(shared_store=shared_store)
    expected = read_setting(conn, CHECK_SETTING)
    if expected is not None and not hmac.compare_digest(expected, check_value(key)):
        raise IdKeyMismatch(
            f"this identity key is not the one the store's numbers were registered with (check {KEY_ENV} "
            f"or {key_file()}); nothing was read or written"
        )
    return key, expected is not None


def fingerprint(key: bytes, number: ResidentNumber) -> str:
    """What the store keeps of a number: equal numbers give equal fingerprints under one key."""
    return digits_fingerprint(key, number.digits)


def digits_fingerprint(key: bytes, digits: str) -> str:
    """fingerprint() of a number's 13 digits."""
    return hmac.digest(key, b"rrn:" + digits.encode("ascii"), "sha256").hex()


_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))


def fingerprinter(key: bytes) -> Callable[[str], str]:
    """digits_fingerprint() under one key for a million numbers (an import): HMAC as RFC 2104
    builds it, the key's two padded blocks hashed once here, so a number costs two hash copies
    and two short updates, half the time of hmac.digest (tests/unit checks they agree)."""
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(padded.translate(_IPAD))
    inner.update(b"rrn:")
    outer = hashlib.sha256(padded.translate(_OPAD))

    def fingerprint(digits: str) -> str:
        hashed = inner.copy()
        hashed.update(digits.encode("ascii"))
        result = outer.copy()
        result.update(hashed.digest())
        return result.hexdigest()

    return fingerprint
