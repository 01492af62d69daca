"""The booking page at `/` (issue 23): server-rendered, Korean by default, English by
Accept-Language or ?lang= (kept in a cookie). Forms post to /login, /verify, /book, /cancel and
/logout; each calls one use case of vaxres/citizens/ and answers a page or a redirect (303, so a
reload never posts twice). The session is an HttpOnly, SameSite=Strict cookie; every form post
must also come from this site's own page (its Origin, else its Referer, names this host)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from vaxres.api.page_render import SECURITY_HEADERS, render
from vaxres.api.page_text import LANG_COOKIE, WORDS, choose_language, error_text
from vaxres.api.problems import status_of
from vaxres.citizens.sessions import Citizen
from vaxres.errors import InvalidInput, VaxresError

router = APIRouter(include_in_schema=False)
SESSION_COOKIE = "vaxres_session"
PAGE_PATHS = frozenset({"/", "/login", "/verify", "/book", "/cancel", "/logout"})
NOTICES = {"booked", "cancelled"}


class ForeignOrigin(InvalidInput):
    code = "forbidden_origin"

    def __init__(self) -> None:
        super().__init__("a form of this page must be sent from this page (its Origin or Referer names another site)")


def _lang(request: Request) -> str:
    q = request.query_params.get("lang")
    return choose_language(q, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def _html(request: Request, body: str, status: int = 200, *, retry_after: object = None) -> Response:
    headers = SECURITY_HEADERS if retry_after is None else {**SECURITY_HEADERS, "Retry-After": str(retry_after)}
    answer = HTMLResponse(body, status, headers=headers)
    asked = request.query_params.get("lang")
    if asked in ("ko", "en"):
        answer.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, samesite="strict", httponly=True)
    return answer


def _see(location: str) -> Response:
    return RedirectResponse(location, 303, headers=SECURITY_HEADERS)


async def _form(request: Request) -> dict[str, str]:
    """The posted form (urlencoded; api/bounds.py has cut off one over 4 KiB), once its origin is this site."""
    host = request.headers.get("host", "")
    sender = request.headers.get("origin") or request.headers.get("referer") or ""
    if not host or urlsplit(sender).netloc != host:
        raise ForeignOrigin()
    body = await request.body()
    try:
        return dict(parse_qsl(body.decode("utf-8"), max_num_fields=10))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the form does not parse") from None


def _citizen(request: Request) -> Citizen | None:
    from vaxres.citizens.rules import SessionRefused
    from vaxres.citizens.sessions import find_session

    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return find_session(request.app.state.store, token)
    except SessionRefused:
        return None


def _page(request: Request, citizen: Citizen, *, status: int = 200, error: str | None = None) -> Response:
    from vaxres.citizens.acting import offers, pages

    lang = _lang(request)
    store = request.app.state.store
    shown = pages(store, citizen)
    people = [{"id": p.user, "label": p.person.name if p.person and p.person.name else p.user} for p in shown]
    wanted = request.query_params.get("for")
    chosen = offers(store, citizen, wanted if wanted in citizen.people else None)
    done = request.query_params.get("done")
    notice = WORDS[lang][done] if done in NOTICES else None
    body = render(
        "page.html",
        lang,
        citizen=citizen,
        name=people[0]["label"],
        pages=shown,
        people=people,
        offers=chosen,
        notice=notice,
        error=error,
        today=store.today(),
    )
    return _html(request, body, status)


def _refusal(request: Request, error: VaxresError) -> tuple[int, str]:
    return status_of(error), error_text(error.code, error.message, _lang(request), **error.details)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    citizen = _citizen(request)
    if citizen is None:
        return _html(request, render("login.html", _lang(request), person=None))
    return _page(request, citizen)


@router.post("/login")
async def login(request: Request) -> Response:
    from vaxres.citizens.codes import ask_code

    try:
        form = await _form(request)
        person = form.get("person", "")
        await run_in_threadpool(ask_code, request.app.state.store, person, form.get("birth_date", ""))
    except VaxresError as error:
        status, text = _refusal(request, error)
        page = render("login.html", _lang(request), person=None, error=text)
        return _html(request, page, status, retry_after=error.details.get("retry_after"))
    return _html(request, render("code.html", _lang(request), person=person), 202)


@router.post("/verify")
async def verify(request: Request) -> Response:
    from vaxres.citizens.codes import verify_code

    person = ""
    try:
        form = await _form(request)
        person = form.get("person", "")
        opened = await run_in_threadpool(verify_code, request.app.state.store, person, form.get("code", ""))
    except VaxresError as error:
        status, text = _refusal(request, error)
        return _html(request, render("code.html", _lang(request), person=person, error=text), status)
    answer = _see("/")
    secure = request.url.scheme == "https"
    answer.set_cookie(
        SESSION_COOKIE, opened.token, max_age=3600, httponly=True, samesite="strict", secure=secure, path="/"
    )
    return answer


async def _change(request: Request, act: Any, done: str) -> Response:
    """A change of a logged-in citizen: done → back to the page; refused → the page says why."""
    try:
        form = await _form(request)
    except VaxresError as error:
        status, text = _refusal(request, error)
        return _html(request, render("login.html", _lang(request), person=None, error=text), status)
    citizen = await run_in_threadpool(_citizen, request)
    if citizen is None:
        return _see("/")
    try:
        result = await run_in_threadpool(act, request.app.state.store, citizen, form)
    except VaxresError as error:
        status, text = _refusal(request, error)
        return await run_in_threadpool(lambda: _page(request, citizen, status=status, error=text))
    whom = getattr(result, "user", None)
    return _see(f"/?done={done}" + (f"&for={quote(whom)}" if whom and whom != citizen.person else ""))


@router.post("/book")
async def book(request: Request) -> Response:
    from vaxres.citizens.acting import book

    def act(store: Any, citizen: Citizen, form: dict[str, str]) -> Any:
        slot_id = form.get("slot_id", "")
        if not slot_id.isdigit():
            raise InvalidInput("choose a slot to book")
        return book(store, citizen, slot_id=int(slot_id), user=form.get("user") or None)

    return await _change(request, act, "booked")


@router.post("/cancel")
async def cancel(request: Request) -> Response:
    from vaxres.citizens.acting import cancel

    def act(store: Any, citizen: Citizen, form: dict[str, str]) -> Any:
        return cancel(store, citizen, form.get("reservation_id", "")).reservation

    return await _change(request, act, "cancelled")


@router.post("/logout")
async def logout(request: Request) -> Response:
    from vaxres.citizens.sessions import end_session

    try:
        await _form(request)
    except VaxresError:
        return _see("/")
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(end_session, request.app.state.store, token)
    answer = _see("/")
    answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return answer
