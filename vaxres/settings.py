"""Where the store is, how long to wait for it, which language messages are read in, who makes
the changes: environment and defaults, nothing imported heavy."""

import os
import re
from pathlib import Path

from vaxres.errors import InvalidInput

DB_ENV = "VAXRES_DB"
BUSY_TIMEOUT_ENV = "VAXRES_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT = 10.0
LANG_ENV = "VAXRES_LANG"
ACTOR_ENV = "VAXRES_ACTOR"


def default_db_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("vaxres", appauthor=False) / "vaxres.db"


def is_url(target: str) -> bool:
    return "://" in target


def named_target(target: str | None) -> str | None:
    """The store the user named: --db TARGET, else VAXRES_DB; None means the default file."""
    return target or os.environ.get(DB_ENV) or None


def target_option(target: str | None) -> str:
    """How to name the store's path in an error: the option or variable that gave it."""
    if target:
        return "--db"
    if os.environ.get(DB_ENV):
        return DB_ENV
    return "the default store path (XDG_DATA_HOME)"


def resolve_target(target: str | None, *, create_folder: bool = False) -> str:
    """A SQLAlchemy URL for --db TARGET, else VAXRES_DB, else the default file (whose folder is
    made only for a command that creates the store)."""
    target = named_target(target)
    if target is None:
        path = default_db_path()
        if create_folder:
            path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if is_url(target):
        return target
    return f"sqlite:///{Path(target).expanduser().absolute()}"


def describe_target(target: str | None) -> str:
    """What `vaxres db path` prints: the file path for SQLite, the URL (password hidden) otherwise."""
    chosen = named_target(target)
    if chosen is None:
        return str(default_db_path())
    if is_url(chosen):
        if chosen.startswith("sqlite:///"):
            return chosen[len("sqlite:///") :]
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return hide_password(make_url(chosen).render_as_string(hide_password=True))
        except (ArgumentError, ValueError):
            return hide_password(chosen)
    return str(Path(chosen).expanduser().absolute())


_USER_PASSWORD = re.compile(r"(://[^:/]*:)[^@]*@")  # the part SQLAlchemy reads as the password
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)


def hide_password(url: str) -> str:
    """A database URL as it may be shown: a password, after the user or as a query parameter,
    becomes ***, also in a URL that does not parse."""
    return _QUERY_PASSWORD.sub(r"\1***", _USER_PASSWORD.sub(r"\1***@", url, count=1))


def busy_timeout() -> float:
    raw = os.environ.get(BUSY_TIMEOUT_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_BUSY_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise InvalidInput(f"{BUSY_TIMEOUT_ENV} must be a number of seconds from 0 to 3600, got {raw!r}")
    return value


def chosen_language(option: str | None) -> str | None:
    """The language a person asked for: --lang, else VAXRES_LANG (empty is unset); None leaves
    it to the store (vaxres.db.language)."""
    from vaxres.validate import parse_language

    if option is not None:
        return parse_language(option)
    raw = os.environ.get(LANG_ENV, "")
    return parse_language(raw, field=LANG_ENV) if raw.strip() else None


def chosen_actor(option: str | None) -> str:
    """Who makes the changes, as each outbox message records it: --actor, else VAXRES_ACTOR
    (empty is unset), else the login name of the process; never a citizen's (`citizen:ID`), which
    only a citizen's session makes."""
    from vaxres.validate import parse_operator

    if option is not None:
        return parse_operator(option)
    raw = os.environ.get(ACTOR_ENV, "")
    return parse_operator(raw, field=ACTOR_ENV) if raw.strip() else login_name()


def login_name() -> str:
    """The process's login name (getpass: LOGNAME, USER, ... then the password database); a
    process without one, or with one that is not a valid name, is known by its uid."""
    import getpass

    from vaxres.validate import parse_operator

    try:
        return parse_operator(getpass.getuser())
    except Exception:  # no name at all (a container's uid without an entry), or an unusable one
        getuid = getattr(os, "getuid", None)
        return str(getuid()) if getuid is not None else "unknown"
