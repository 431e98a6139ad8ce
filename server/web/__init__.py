"""The server's web pages: landing, sign-in, agent console, administration, statistics,
follow my ticket and the live wait (with its embeddable version).

Pages are rendered on the server (Jinja2) with a little JavaScript for live updates (server-sent
events); texts from the ``web`` gettext catalogs (``i18n``, ``locale/``). ``register_web(app)``
mounts them on the application that ``server.app.create_app`` builds.
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from server.context import ServerContext
from server.errors import http_error
from server.ratelimit import Limiters, RateLimits
from server.web import (
    admin,
    admin_appointments,
    admin_categories,
    booking,
    console,
    devices,
    indicators,
    notices,
    public,
    reception,
    stats,
    visit,
)
from server.web.page import (
    STATIC_DIR,
    STATIC_URL,
    Page,
    Refusal,
    WebState,
    asset_version,
    build_templates,
)
from server.web.sessions import SessionCodec


async def _refusal(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refusal)
    return exc.response


_JSON_PATHS = ("/api/", "/healthz", "/readyz")


async def _http_error(request: Request, exc: Exception) -> Response:
    """An unknown address or method: the API's JSON error under /api/ and for the probes, an
    HTML page (in the visitor's language) everywhere else."""
    assert isinstance(exc, StarletteHTTPException)
    if request.url.path.startswith(_JSON_PATHS):
        return await http_error(request, exc)
    page = await run_in_threadpool(Page, request)
    page.public()  # an error page neither sets nor refreshes a session cookie
    key = {404: "error.not_found", 405: "error.method"}.get(exc.status_code, "error.bad_request")
    response = page.error(exc.status_code, page._(key))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


class _Assets(StaticFiles):
    """Static files, cached for a year when their URL carries a version (``?v=``, the pages'
    links); for an hour without one (``embed-host.js``, linked from towns' websites)."""

    async def get_response(self, path: str, scope: MutableMapping[str, Any]) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            versioned = b"v=" in scope.get("query_string", b"")
            response.headers["Cache-Control"] = (
                "public, max-age=31536000, immutable" if versioned else "public, max-age=3600"
            )
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def register_web(app: FastAPI, limits: RateLimits | None = None) -> None:
    """Mounts the web pages on ``app`` (whose ``state.ctx`` is the server context)."""
    ctx = app.state.ctx
    assert isinstance(ctx, ServerContext)
    settings = ctx.settings
    if limits is not None:
        ctx.limiters = Limiters.of(limits)
    version = asset_version()
    app.state.web = WebState(
        templates=build_templates(version),
        codec=SessionCodec(
            settings.secret_key or secrets.token_urlsafe(32),
            settings.session_minutes,
            secure=settings.public_url.startswith("https://"),
        ),
        asset_version=version,
    )
    app.state.web_peaks = public.PeakCache()
    app.add_exception_handler(Refusal, _refusal)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.mount(STATIC_URL, _Assets(directory=STATIC_DIR), name="web-assets")
    routers = (
        public,
        indicators,
        booking,
        reception,
        console,
        visit,
        notices,
        admin,
        admin_appointments,
        admin_categories,
        devices,
        stats,
    )
    for module in routers:
        app.include_router(module.router)
