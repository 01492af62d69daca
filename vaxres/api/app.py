"""The FastAPI app of `vaxres serve`: the store it serves, admission, the /v1 routes, the probes,
the problem handlers, and `/docs`: Swagger UI served from this process (the assets the
fastapi-offline package ships), never from a CDN, as a desk may be offline; without the package
the page is off. The schema is at /openapi.json and the reference in docs/api.md."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

from vaxres import __version__
from vaxres.api import bookings, bounds, catalog, citizen, citizen_page, people, problems, tokens
from vaxres.api.admission import Admission, Lanes, Limits
from vaxres.api.render import json_response
from vaxres.db.store import Store
from vaxres.errors import VaxresError

# How `vaxres serve` hands its admission to each uvicorn worker process (from_environment):
# "MAX_INFLIGHT,QUEUE,QUEUE_TIMEOUT".
LIMITS_ENV = "VAXRES_SERVE_LIMITS"
DESCRIPTION = """The booking API of vaxres: the same rules and store as the command line.

Every /v1 call needs `Authorization: Bearer TOKEN` (made by: vaxres token add NAME --role reader|operator|admin).
A change is made by the token's name (the audit trail's actor). Errors are RFC 9457 problems
(`application/problem+json`) carrying the CLI's `code`: refused 409, invalid 422, not found 404,
busy or overloaded 503 with Retry-After. Every POST takes an `Idempotency-Key`, except making a
token and a citizen's login and verify (each says why).

People book for themselves under /v1/citizen: a one-time code (POST /v1/citizen/login, always 202)
traded for a session token of an hour (POST /v1/citizen/verify), then `Authorization: Bearer
SESSION` for their own bookings and their minor wards'. The booking page at / is the same in HTML.
See docs/citizens.md."""


def create_app(store: Store, *, limits: Limits | None = None) -> FastAPI:
    app = FastAPI(
        title="vaxres",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.store = store
    app.state.admission = Lanes(limits or Limits())
    app.add_middleware(Admission, lanes=app.state.admission, pages=citizen_page.PAGE_PATHS)
    app.add_middleware(bounds.Bounds, pages=citizen_page.PAGE_PATHS)  # outermost: before admission queues it
    problems.install(app)
    for router in (bookings.router, people.router, catalog.router, tokens.router, citizen.router):
        app.include_router(router, responses=bounds.responses())
    app.include_router(citizen_page.router)
    _page_assets(app)

    _offline_docs(app)

    @app.get("/healthz", summary="The process answers", tags=["probes"])
    def healthz() -> Any:
        return json_response({"status": "ok"})

    @app.get("/readyz", summary="The store answers and its schema is at head", responses=problems.responses(503))
    def readyz() -> Any:
        try:
            state = store.schema_state()
        except VaxresError as error:
            return problems.problem(503, error.code, error.message)
        if state.behind:
            detail = f"the store is at schema revision {state.current or 'none'}, the code needs {state.head}"
            return problems.problem(503, "schema_behind", detail)
        return json_response({"status": "ready", "revision": state.current})

    return app


def _offline_docs(app: FastAPI) -> None:
    """/docs: Swagger UI with its script, style and icon from /docs/assets, served from here."""
    try:
        import fastapi_offline
    except ImportError:  # pragma: no cover (the serve extra installs it)
        return
    from pathlib import Path

    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Any:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="vaxres API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
        )


def _page_assets(app: FastAPI) -> None:
    """The booking page's stylesheet, shipped in the package."""
    from pathlib import Path

    from fastapi.staticfiles import StaticFiles

    assets = Path(__file__).parent / "static"
    app.mount("/citizen-assets", StaticFiles(directory=assets), name="citizen-assets")


def open_served_store(target: str | None, limits: Limits) -> Store:
    """The store `vaxres serve` serves (--db, VAXRES_DB or the default), created and upgraded as a
    command that writes does, and made ready before the first request; a connection kept for each
    request admission lets in at once."""
    from vaxres.db.opening import open_store

    store = open_store(target, create=True, actor="vaxres-serve", pool=limits.threads)
    store.schema_state()  # creates a new file now, not under the first request
    store.zone  # noqa: B018  (read once here: every request's store shares it)
    return store


def from_environment() -> FastAPI:
    """The app of one uvicorn worker: the store from VAXRES_DB, as `vaxres serve` set it."""
    given = os.environ.get(LIMITS_ENV)
    if given:
        inflight, queue, timeout = given.split(",")
        limits = Limits(int(inflight), int(queue), float(timeout))
    else:
        limits = Limits()
    app = create_app(open_served_store(None, limits), limits=limits)
    from vaxres.api.protocol import BoundedHttpTools

    BoundedHttpTools.lanes = app.state.admission  # the protocol turns overload away before the app
    return app
