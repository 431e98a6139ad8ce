"""POST /api/v1/sync: the devices' one call (see ``server.sync``)."""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from server.api import peers
from server.api.deps import server_context
from server.errors import responses
from server.models import SyncRequest, SyncResponse
from server.sync import run_sync

router = APIRouter()
router.include_router(peers.router)


@router.post(
    "/sync",
    response_model=SyncResponse,
    responses=responses(400, 401, 403, 404, 409, 413, 422),
    summary="Upload a device's events, download what is new, get leases and configuration",
    openapi_extra={"security": [{"deviceToken": []}]},
)
async def sync(body: SyncRequest, request: Request) -> JSONResponse:
    # The busiest endpoint, kept lean: no dependencies to solve, one trip to the thread pool
    # (the token is checked there, after the body's validation), and the answer built as plain
    # JSON (no response-model pass over up to 5000 events).
    ctx = server_context(request)
    authorization = request.headers.get("authorization")
    # Syncs run on threads of their own (``SYNC_THREADS``): a fleet's flood of them never
    # holds the threads that counter actions, live streams and pages need.
    limiter = getattr(request.app.state, "sync_limiter", None)
    result = await to_thread.run_sync(run_sync, ctx, authorization, body, limiter=limiter)
    return JSONResponse(result)
