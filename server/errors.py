"""Every error the API returns has one JSON shape (``ErrorBody``), documented in the OpenAPI.

``ApiError`` is raised by the endpoints; the handlers here turn it, FastAPI's validation
errors, HTTP errors (404 for unknown routes, 405) and oversized bodies into that shape. (The web
pages answer unknown addresses outside the API with an HTML page: ``server.web``.) Any
other exception is a bug: it is logged with its traceback and answered with a generic 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class FieldProblem(BaseModel):
    loc: list[str | int]
    """Where the problem is: "body", "events", 3, "hlc"."""
    msg: str


class ErrorBody(BaseModel):
    code: str
    """Stable identifier: unauthorized, forbidden, not_found, invalid, malformed_json,
    conflict, press_expired, too_large, rate_limited, method_not_allowed, internal; for
    appointments slot_full, not_booked, checked_in, cancelled, not_today, late, busy."""
    message: str
    """What went wrong, for a person."""
    event: str | None = None
    """The id of the event at fault, when one is."""
    field: str | None = None
    """The field at fault, when one is (dotted path)."""
    problems: list[FieldProblem] = []


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        event: str | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorBody(code=code, message=message, event=event, field=field)
        self.headers = headers


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def invalid(message: str, *, field: str | None = None, event: str | None = None) -> ApiError:
    return ApiError(422, "invalid", message, field=field, event=event)


_DESCRIPTIONS = {
    400: "Malformed JSON",
    401: "Missing or wrong credentials",
    403: "Credentials valid but not for this site or role",
    404: "Unknown site, service, counter or ticket",
    409: "Conflicts with what is stored",
    413: "Request body too large",
    422: "Invalid request",
    429: "Too many requests from this address (see Retry-After)",
    503: "The database is not reachable",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error status codes, all with ``ErrorBody``."""
    return {c: {"model": ErrorBody, "description": _DESCRIPTIONS[c]} for c in codes}


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: an error may quote what the client sent,
    and that may not even be valid Unicode (a lone surrogate from a \\ud800 escape)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False).encode("ascii")


def _json(status: int, body: ErrorBody, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return AsciiJSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _loc_text(loc: list[str | int]) -> str:
    return ".".join(str(p) for p in loc if p != "body") or "body"


def api_error_response(exc: ApiError) -> JSONResponse:
    """The answer to an ``ApiError``."""
    return _json(exc.status, exc.body, exc.headers)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return api_error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    problems = [
        FieldProblem(
            loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            msg=str(e.get("msg", "invalid")),
        )
        for e in errors
    ]
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = next(e for e in errors if e.get("type") == "json_invalid")
        reason = (detail.get("ctx") or {}).get("error", "not JSON")
        body = ErrorBody(
            code="malformed_json", message=f"the body is not valid JSON: {reason}", problems=[]
        )
        return _json(400, body)
    first = problems[0] if problems else None
    where = _loc_text(first.loc) if first else None
    message = f"{where}: {first.msg}" if first else "invalid request"
    if errors and tuple(errors[0].get("loc", ())) == ("body",):
        message = "the body must be a JSON object sent with Content-Type: application/json"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more)"
    body = ErrorBody(code="invalid", message=message, field=where, problems=problems[:50])
    return _json(422, body)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
}


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return _json(exc.status_code, ErrorBody(code=code, message=message), exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return _json(500, ErrorBody(code="internal", message="internal server error"))


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, _unexpected)


class BodyLimit:
    """ASGI middleware refusing request bodies above ``max_bytes`` with a 413 ``ErrorBody``.

    The body is read (up to the limit) before the application runs, then replayed to it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = ErrorBody(
            code="too_large",
            message=f"the request body is larger than {self.max_bytes} bytes",
        )
        payload = json.dumps(body.model_dump(mode="json")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
