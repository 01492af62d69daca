"""The citizen flow's limits and refusals, said once. None of them tells whether a person exists:
a login is answered alike for anyone, a wrong code and an unknown person are the same refusal,
and anyone else's booking is not found."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math

from vaxres import validate
from vaxres.errors import InvalidInput, Unavailable

CODE_VALID = dt.timedelta(minutes=5)
TRIES_PER_CODE = 5  # the 6th try of a code fails, even with the right code
CODES_PER_PERIOD = 3
CODE_PERIOD = dt.timedelta(minutes=15)
SESSION_VALID = dt.timedelta(hours=1)
CODE_DIGITS = 6
SESSION_PREFIX = "vxc_"  # a leaked session token is recognised for what it is


class CodeRefused(InvalidInput):
    code = "code_refused"

    def __init__(self) -> None:
        super().__init__("the code is wrong, expired or used up (5 tries per code, 5 minutes); ask for a new code")


class TooManyCodes(Unavailable):
    code = "too_many_codes"

    def __init__(self, retry_after: dt.timedelta):
        seconds = max(1, math.ceil(retry_after.total_seconds()))
        super().__init__(
            f"at most {CODES_PER_PERIOD} codes per person in {CODE_PERIOD.seconds // 60} minutes; "
            f"ask again in {seconds} seconds",
            details={"retry_after": seconds},
        )


class SessionRefused(InvalidInput):
    code = "session_refused"

    def __init__(self) -> None:
        super().__init__("the session is unknown, ended or expired (1 hour); log in again with a new code")


def parse_code(value: str) -> str:
    code = str(value).strip()
    if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
        raise InvalidInput(f"the code must be the {CODE_DIGITS} digits of the message; got {len(code)} characters")
    return code


def code_hash(salt: str, person: str, code: str) -> str:
    """What the store keeps of a code: HMAC-SHA-256 under the row's salt, bound to the person."""
    message = f"{person}\0{code}".encode("utf-8", "surrogatepass")
    return hmac.new(bytes.fromhex(salt), message, hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def actor_of(person: str) -> str:
    """`citizen:ID`, the audit trail's actor of a citizen's changes (a very long id shortened
    with its hash, as an actor is at most 64 characters)."""
    actor = f"{validate.CITIZEN_ACTOR}{person}"
    if len(actor) <= validate.MAX_ACTOR_LENGTH:
        return actor
    return f"{validate.CITIZEN_ACTOR}{person[:40]}~{hashlib.sha256(person.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"
