"""Dependencies shared by the endpoints: the server context and the authenticated caller."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import HTTPBasic, HTTPBearer
from starlette.requests import HTTPConnection

from server import apitokens
from server.auth import Principal, principal_from_header
from server.context import ServerContext
from server.models import IDENT
from server.ratelimit import client_address


class _BearerDoc(HTTPBearer):
    """Declares the device token in the OpenAPI; ``caller`` does the checking."""

    async def __call__(self, request: HTTPConnection) -> None:
        return None


class _BasicDoc(HTTPBasic):
    """Declares HTTP Basic in the OpenAPI; ``caller`` does the checking."""

    async def __call__(self, request: HTTPConnection) -> None:
        return None


_bearer = _BearerDoc(
    scheme_name="deviceToken",
    description="A device's token, or a manager's read-only API token (gq_…: the queue and the "
    "statistics exports; `guichet user token NAME`).",
    auto_error=False,
)
_basic = _BasicDoc(
    scheme_name="userPassword",
    description="An agent's, manager's or admin's username and password.",
    auto_error=False,
)


def server_context(request: Request) -> ServerContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, ServerContext)
    return ctx


async def context(request: Request) -> ServerContext:
    """The server context (async: no trip to the thread pool)."""
    return server_context(request)


def _principal(request: Request) -> Principal:
    ctx = server_context(request)
    return principal_from_header(
        ctx.engine,
        request.headers.get("authorization"),
        ctx.limiters.login,
        client_address(request),
    )


def caller(
    request: Request,
    _bearer_doc: Annotated[None, Security(_bearer)],
    _basic_doc: Annotated[None, Security(_basic)],
) -> Principal:
    """The authenticated caller (401 when credentials are missing or wrong, 429 after too
    many failed sign-ins from the caller's address): a device, a user by password, or a
    user's read-only API token."""
    token = apitokens.bearer_token(request.headers.get("authorization"))
    if token is not None:
        return apitokens.principal(server_context(request).engine, token)
    return _principal(request)


def device_caller(
    request: Request,
    _bearer_doc: Annotated[None, Security(_bearer)],
) -> Principal:
    """The authenticated caller of a device-only endpoint."""
    return _principal(request)


async def received() -> float:
    """When the request reached the application (``time.monotonic()``), before it waits for
    a worker thread or the database: a press's time budget counts from here."""
    return time.monotonic()


Ctx = Annotated[ServerContext, Depends(context)]
Received = Annotated[float, Depends(received)]
Caller = Annotated[Principal, Depends(caller)]
DeviceCaller = Annotated[Principal, Depends(device_caller)]
SiteId = Annotated[str, Path(pattern=IDENT, max_length=63, description="Site id.")]
