"""The booking page's HTML: Jinja2 templates shipped in the package (vaxres/api/templates), every
value escaped (autoescape on for every template), no script, no CDN; the stylesheet is served
from /citizen-assets. And the waiting page admission answers for the page when it sheds load."""

from __future__ import annotations

import datetime as dt
from collections.abc import MutableMapping
from functools import cache
from typing import Any

from vaxres.api.page_text import LANG_COOKIE, WORDS, choose_language, day_text, moment_text

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@cache
def environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("vaxres.api", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, lang: str, **context: Any) -> str:
    """A page in `lang` (ko, en): its words, dates as that language writes them."""
    values = {
        "lang": lang,
        "t": WORDS[lang],
        "day": lambda day: day_text(day, lang),
        "moment": lambda moment, zone: moment_text(moment, zone, lang),
        "citizen": None,
        "notice": None,
        "error": None,
        "today": dt.date.today(),
    }
    return environment().get_template(template).render(values | context)


def busy_page(lang: str, seconds: int, retry: str) -> bytes:
    """The waiting page: it reloads `retry` after `seconds` (a meta refresh: no script needed)."""
    return render("busy.html", lang, seconds=seconds, retry=retry).encode()


def too_large_page(lang: str, status: int, limit: int) -> bytes:
    """What the page answers to a form, an address or headers over their limit (api/bounds.py)."""
    return render("too_large.html", lang, status=status, limit=limit).encode()


def scope_language(scope: MutableMapping[str, Any]) -> str:
    """The page's language from a raw ASGI request (admission answers before any parsing)."""
    headers = dict(scope.get("headers") or ())
    query = scope.get("query_string", b"").decode("latin-1")
    asked = next((part[5:] for part in query.split("&") if part.startswith("lang=")), None)
    cookie = headers.get(b"cookie", b"").decode("latin-1")
    kept = next(
        (part.split("=", 1)[1] for part in cookie.split(";") if part.strip().startswith(LANG_COOKIE + "=")), None
    )
    return choose_language(asked, kept, headers.get(b"accept-language", b"").decode("latin-1"))
