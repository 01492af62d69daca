"""An SMTP target, `smtp://[USER@]HOST[:PORT][?starttls=yes&from=ADDRESS]` or `smtps://`, read and
checked once when `outbox deliver` starts, before the store is opened.

Every bad form is one InvalidInput line that shows the target without its credentials. The
password comes from PASSWORD_ENV (one in the URL is accepted, never shown); a login is refused
over a connection without TLS to anything but this machine: it would cross the network in clear.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from vaxres.errors import InvalidInput
from vaxres.outbox.credentials import redact_url

PASSWORD_ENV = "VAXRES_SMTP_PASSWORD"
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
FORM = "smtp://[USER@]HOST[:PORT][?starttls=yes&from=ADDRESS] or smtps://[USER@]HOST[:PORT][?from=ADDRESS]"
_YES_NO = {"yes": True, "no": False}


@dataclass(frozen=True)
class SmtpTarget:
    tls: bool  # smtps://: TLS from the first byte
    starttls: bool
    host: str
    port: int
    sender: str  # the From address, ASCII
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The target as shown and stored (the breaker's key): no user, no password, no options."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'smtps' if self.tls else 'smtp'}://{host}:{self.port}"

    @property
    def secrets(self) -> list[str]:
        """The password and what AUTH PLAIN and AUTH LOGIN send of it, for the Scrubber."""
        if not self.password:
            return []
        plain = f"\0{self.user}\0{self.password}".encode()
        return [self.password, base64.b64encode(plain).decode(), base64.b64encode(self.password.encode()).decode()]


def parse_target(url: str) -> SmtpTarget:
    shown = redact_url(url)

    def refuse(reason: str) -> InvalidInput:
        return InvalidInput(f"--to {shown!r} is not a usable SMTP target: {reason}")

    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise refuse("it contains a space or a control character (percent-encode it)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # its text may quote a part of the password: not shown
        raise refuse(
            "the port must be a number from 1 to 65535"
            if "Port" in str(exc)
            else "the host is not a valid IPv6 address in brackets"
        ) from None
    if not parts.hostname:
        raise refuse(f"it has no host; the form is {FORM}")
    if port == 0:
        raise refuse("the port must be a number from 1 to 65535")
    if parts.path not in ("", "/") or parts.fragment:
        raise refuse(f"an SMTP target has no path or #fragment; the form is {FORM}")
    options = _options(parts.query, refuse)
    tls = parts.scheme == "smtps"
    if tls and "starttls" in options:
        raise refuse("smtps:// speaks TLS from the start; starttls= is for smtp://")
    starttls = _YES_NO[options.get("starttls", "no")]
    user, password = _credentials(parts.username, parts.password, refuse)
    host = parts.hostname
    if user is not None and not (tls or starttls or _is_loopback(host)):
        raise refuse(f"a login to {host} would send the password in clear; add ?starttls=yes, or use smtps://")
    sender = _sender(options["from"], refuse) if "from" in options else _default_sender(host)
    return SmtpTarget(tls, starttls, host, port or DEFAULT_PORTS[parts.scheme], sender, user, password)


def _options(query: str, refuse) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in query.split("&") if query else []:
        name, equals, value = item.partition("=")
        name = unquote(name)
        if name not in ("starttls", "from"):
            # Only the name: an unknown option's value may be a secret typed in the wrong place.
            raise refuse(f"unknown option {name!r}; the options are starttls=yes|no and from=ADDRESS")
        if name in options:
            raise refuse(f"{name}= is given twice")
        value = unquote(value)
        if not equals or not value:
            raise refuse(f"{name}= has no value")
        if name == "starttls" and value.lower() not in _YES_NO:
            raise refuse(f"starttls must be yes or no, got {value!r}")
        options[name] = value.lower() if name == "starttls" else value
    return options


def _credentials(username: str | None, password: str | None, refuse) -> tuple[str | None, str | None]:
    """(user, password): the user from the URL, the password from it or from PASSWORD_ENV, never both."""
    user = unquote(username) if username is not None else None
    in_url = unquote(password) if password else None
    from_env = os.environ.get(PASSWORD_ENV) or None
    if user == "":
        raise refuse("the user before @ is empty")
    if in_url and from_env:
        raise refuse(f"it carries a password and {PASSWORD_ENV} is set too; give it one way only")
    if user is None and from_env:
        raise refuse(f"{PASSWORD_ENV} is set but the target names no user to log in as (smtp://USER@HOST)")
    if user is not None and not (in_url or from_env):
        raise refuse(f"it names the user {user!r} but no password; set {PASSWORD_ENV}")
    if user is not None and not (user + (in_url or from_env or "")).isascii():
        raise refuse("the user and the password must be ASCII: Python's smtplib logs in with ASCII only")
    return user, in_url or from_env


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _sender(text: str, refuse) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(text, check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError as error:
        reason = str(error).rstrip(".").replace(". ", "; ")
        raise refuse(f"from={text!r} is not an e-mail address ({reason[:1].lower()}{reason[1:]})") from None
    if checked.ascii_email is None:
        raise refuse(f"from={text!r} must be an ASCII address (most servers refuse others)")
    return checked.ascii_email


def _default_sender(host: str) -> str:
    """vaxres@HOST for a host name; an address is no mail domain, so vaxres@localhost then."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return f"vaxres@{host.lower()}"
    return "vaxres@localhost"
