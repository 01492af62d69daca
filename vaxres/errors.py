"""The kinds of error, each with the exit code and the machine code the CLI reports, and the
errors about the store itself. The refusals of the booking rules live in vaxres.booking.rules.

Exit codes: 0 done, 1 refused by a rule, 2 invalid input, 3 not found, 75 busy / unavailable.
"""

from typing import Any, ClassVar


class VaxresError(Exception):
    """`message` says what is wrong in words any caller can show (no shell command: the CLI adds
    its next step from vaxres/cli/hints.py, keyed by `code`); `details` holds the facts it is
    about (ids, person, dose, days as ISO text), JSON-serialisable."""

    exit_code = 1
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}
        if code is not None:
            self.code = code


class Refused(VaxresError):
    exit_code = 1
    code = "refused"


class InvalidInput(VaxresError):
    exit_code = 2
    code = "invalid_input"


class InvalidValue(InvalidInput):
    """One bad value: the import reports field, value and reason separately, per line."""

    def __init__(
        self,
        field: str,
        value: object,
        reason: str,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
    ):
        super().__init__(message or f"{field} {reason}, got {value!r}", details=details)
        self.field = field
        self.value = value
        self.reason = reason


class InvalidTogether(InvalidInput):
    """Values wrong only together: a range given backwards, an option without the one it needs.
    The sentence names them by the CLI's options, `options`; over HTTP each is said as the API's
    field instead (api/problems.py): the option's words, or `fields`' name where the API's differs."""

    fields: ClassVar[dict[str, str]] = {}

    def __init__(self, message: str, *options: str, details: dict[str, Any]):
        super().__init__(message, details=details)
        self.options = options


class NotFound(VaxresError):
    exit_code = 3
    code = "not_found"


class Unavailable(VaxresError):
    exit_code = 75
    code = "unavailable"


class StoreNotEmpty(Refused):
    code = "store_not_empty"


class StoreNotFound(NotFound):
    code = "store_not_found"


class StoreBusy(Unavailable):
    code = "busy"


class StoreUnavailable(Unavailable):
    """The database server cannot be reached or is not taking connections now: try again."""

    code = "store_unavailable"


class StoreUnusable(InvalidInput):
    """The target exists but is not a store this version can use as it is."""

    code = "store_unusable"


class StoreLoginRefused(StoreUnusable):
    """The server answered and refused the login: trying again changes nothing."""

    code = "store_login_refused"
