"""The webhook's credentials: checked once when the sink opens, and scrubbed from every text.

Checked: the Authorization value and the signing secret are visible ASCII (RFC 9110 field-value:
no CR, LF, NUL or other control character, nothing beyond ASCII); the --to URL parses (brackets,
a port from 1 to 65535, a host) and does not carry credentials when the Authorization variable is
set too. A refusal names the variable or shows the URL without its secrets, never the value.

Scrubbed (`Scrubber`): the Authorization value and the token in it, the URL's password, the
signing secret, and the values of query parameters that look like secrets (token, key, secret,
password, sig, auth ...), as typed, percent-encoded, or escaped the way a str or bytes repr shows
them (httpx and h11 put either into their messages).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

from vaxres.errors import InvalidInput

SECRET_ENV = "VAXRES_WEBHOOK_SECRET"
AUTHORIZATION_ENV = "VAXRES_WEBHOOK_AUTHORIZATION"

_SECRET_WORDS = ("token", "key", "secret", "passw", "pwd", "sig", "auth", "credential")
_PARAM = re.compile(r"(^|[?&;#])([^=&;#?]*)=([^&;#]*)")
# `name=value` in free text (an error quoting a URL): value up to a separator, space or quote.
_TEXT_PARAM = re.compile(r"(?i)([?&;#][^=&;#?\s'\"]*(?:" + "|".join(_SECRET_WORDS) + r")[^=&;#?\s'\"]*=)[^&;#\s'\"]+")
MASK = "***"


def looks_secret(name: str) -> bool:
    lowered = unquote_plus(name).lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _split(url: str) -> tuple[str, str, str, str]:
    """(scheme://, userinfo, host[:port], the rest), read leniently. A URL that parses ends its
    authority at the first / ? or #; in one that does not, the userinfo runs to the last @ before
    any ? or #, in case a stray / sits in a password."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", "", "", url
    try:
        _ = urlsplit(url).port  # a port that is not a number raises ValueError
        stops = "/?#"
    except ValueError:
        stops = "?#"
    userinfo, at, _ = rest[: _first(rest, stops)].rpartition("@")
    after = rest[len(userinfo) + len(at) :]
    end = _first(after, "/?#")
    return scheme + sep, userinfo, after[:end], after[end:]


def _first(text: str, chars: str) -> int:
    return min((i for i in map(text.find, chars) if i >= 0), default=len(text))


def redact_url(url: str) -> str:
    """The URL as shown and stored: no userinfo, secret-looking query values as ***. Works on a
    URL that does not parse too."""
    scheme, _, host, rest = _split(url)
    return scheme + host + _PARAM.sub(_mask_param, rest)


def _mask_param(match: re.Match) -> str:
    lead, name, value = match.groups()
    return f"{lead}{name}={MASK if value and looks_secret(name) else value}"


def url_secrets(url: str) -> list[str]:
    """The URL's password (as typed and decoded), the Basic credentials httpx builds from its
    userinfo, and the values of its secret-looking query parameters."""
    _, userinfo, _, rest = _split(url)
    found = []
    if userinfo:
        user, _, password = userinfo.partition(":")
        found += [password, unquote(password)]
        basic = f"{unquote(user)}:{unquote(password)}"
        found += [basic, base64.b64encode(basic.encode()).decode()] if password else []
    for _, name, value in _PARAM.findall(rest):
        if looks_secret(name):
            found += [value, unquote_plus(value)]
    return [secret for secret in found if secret]


def authorization_secrets(value: str) -> list[str]:
    """The value, the credentials after its scheme, and what a Basic value decodes to."""
    found = [value]
    scheme, _, credentials = value.partition(" ")
    credentials = credentials.strip()
    if credentials:
        found.append(credentials)
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            found += [decoded, decoded.partition(":")[2]]
    return [secret for secret in found if secret]


def check_header_value(variable: str, value: str) -> None:
    """RFC 9110 field-value, visible ASCII only; the value itself is never echoed."""
    for ch in value:
        if ch in "\r\n":
            raise InvalidInput(
                f"{variable} contains a line break (CR or LF), perhaps from a file with Windows line endings; "
                f"a header value must be one line of visible ASCII"
            )
        if not (" " <= ch <= "~" or ch == "\t"):
            kind = "a control character" if ch.isascii() else "a non-ASCII character"
            raise InvalidInput(f"{variable} contains {kind}; a header value must be visible ASCII")
    if value != value.strip(" \t"):
        raise InvalidInput(f"{variable} begins or ends with a space or tab; remove it")


def check_url(url: str, *, authorization: bool) -> None:
    """A webhook URL httpx can use; credentials in it and in the Authorization variable both: refused."""
    shown = redact_url(url)

    def refuse(reason: str) -> InvalidInput:
        return InvalidInput(f"--to {shown!r} is not a usable URL: {reason}")

    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise refuse("it contains a space or a control character (percent-encode it)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # its text may quote a part of the password: not shown
        text = str(exc)
        raise refuse(
            "the port must be a number from 1 to 65535"
            if "Port" in text
            else "the host is not a valid IPv6 address in brackets"
        ) from None
    if not parts.hostname:
        raise refuse("it has no host")
    if port == 0:
        raise refuse("the port must be a number from 1 to 65535")
    import httpx

    try:
        httpx.URL(url)
    except httpx.InvalidURL:
        raise refuse("httpx cannot send to it") from None
    if authorization and (parts.username or parts.password):
        raise InvalidInput(
            f"--to {shown!r} carries credentials and {AUTHORIZATION_ENV} is set too: the URL's would "
            f"replace the variable's; give them one way only"
        )


def _forms(secret: str) -> set[str]:
    """A secret as it may appear in a message: typed, percent-encoded, or escaped in a repr."""
    escaped = secret.encode("unicode_escape").decode("ascii")
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        escaped,
        escaped.replace("'", "\\'"),
        escaped.replace('"', '\\"'),
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "surrogatepass"))[2:-1],
    }
    return {form for form in forms if form}


class Scrubber:
    """Removes every form of the given secrets, and the target URL's userinfo, from a text."""

    def __init__(self, secrets: Iterable[str | None], url: str = ""):
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= _forms(secret)
        self._forms = sorted(forms, key=len, reverse=True)
        self._url, self._shown = url, redact_url(url)

    def __call__(self, text: str | bytes | bytearray) -> str:
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8", "backslashreplace")
        if self._url:
            text = text.replace(self._url, self._shown)
        for form in self._forms:
            text = text.replace(form, MASK)
        return _TEXT_PARAM.sub(r"\1" + MASK, text)
