"""POST /api/v1/sync: the devices' one call (see ``server.sync``).

The busiest endpoint, kept lean. ``SyncFastPath`` answers well-formed syncs before FastAPI's
routing and request handling (about half the CPU a sync costs the server otherwise): it
parses and validates the body as the route would (JSON, then ``SyncRequest``), runs the same
``run_sync`` and renders errors with the same handler. A body it cannot take (not JSON, not
valid, another content type) goes on to the route below, which answers it as it always did;
the route also documents the endpoint in the OpenAPI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api import peers
from server.api.deps import server_context
from server.context import ServerContext
from server.errors import ApiError, api_error_response, responses
from server.models import SyncRequest, SyncResponse
from server.sync import run_sync

router = APIRouter()
router.include_router(peers.router)

PATH = "/sync"


async def answer(
    ctx: ServerContext,
    authorization: str | None,
    body: SyncRequest,
    limiter: CapacityLimiter | None,
) -> JSONResponse:
    # Syncs run on threads of their own (``SYNC_THREADS``): a fleet's flood of them never
    # holds the threads that counter actions, live streams and pages need. The token is
    # checked there, after the body's validation; the answer is built as plain JSON (no
    # response-model pass over up to 5000 events).
    # An idle sync is answered from memory when it can be (PostgreSQL, ``server.quiet``).
    result = None
    if ctx.quiet is not None:
        result = await ctx.quiet.answer(authorization, body, ctx.now(), _hlc(ctx))
    if result is None:
        result = await to_thread.run_sync(run_sync, ctx, authorization, body, limiter=limiter)
    return JSONResponse(result)


def _hlc(ctx: ServerContext) -> Callable[[], str]:
    return lambda: ctx.clock.now().encode()


@router.post(
    PATH,
    response_model=SyncResponse,
    responses=responses(400, 401, 403, 404, 409, 413, 422),
    summary="Upload a device's events, download what is new, get leases and configuration",
    openapi_extra={"security": [{"deviceToken": []}]},
)
async def sync(body: SyncRequest, request: Request) -> JSONResponse:
    limiter = getattr(request.app.state, "sync_limiter", None)
    return await answer(
        server_context(request), request.headers.get("authorization"), body, limiter
    )


class SyncFastPath:
    """ASGI middleware answering ``POST <path>`` with a valid JSON body itself (see above)."""

    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not self._mine(scope):
            await self.app(scope, receive, send)
            return
        authorization = content_type = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
        raw = await read_body(receive)
        if raw is None:
            return  # the client went away
        body = _parsed(raw) if is_json(content_type) else None
        if body is None:
            await self.app(scope, replay(raw, receive), send)
            return
        app = scope["app"]
        limiter = getattr(app.state, "sync_limiter", None)
        try:
            response = await answer(app.state.ctx, authorization, body, limiter)
        except ApiError as exc:
            response = api_error_response(exc)
        await response(scope, receive, send)

    def _mine(self, scope: Scope) -> bool:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        return path == self.path


async def read_body(receive: Receive) -> bytes | None:
    """A request's whole body, or None when the client went away."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def is_json(content_type: str | None) -> bool:
    """Exactly what devices send; anything else goes the route's way."""
    if content_type is None:
        return False
    return content_type.partition(";")[0].strip().lower() == "application/json"


def _parsed(raw: bytes) -> SyncRequest | None:
    """The body as the route would read it (``json.loads``, then validation in Python mode),
    or None when the route would refuse it."""
    try:
        data: Any = json.loads(raw)
        return SyncRequest.model_validate(data, from_attributes=True)
    except (ValueError, RecursionError, ValidationError):
        return None


def replay(raw: bytes, receive: Receive) -> Receive:
    """``receive`` giving ``raw`` again first (for the route, once the body was read)."""
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return again
