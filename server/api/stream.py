"""GET /api/v1/sites/{site}/stream: the site's new events as server-sent events.

One SSE message per stored event (``id:`` its seq, ``event:`` its kind, ``data:`` its JSON).
A client resumes where it stopped with the ``Last-Event-ID`` header (browsers send it when they
reconnect) or ``?cursor=``; without either the stream starts with the next new event. A comment
line every ``keepalive_seconds`` keeps proxies from closing an idle stream. A message
``event: config`` (data ``{}``, no id) says the site's configuration changed. The table is read
when the notifier wakes the stream (``server.notify``), not at each keep-alive, and once for
the site's streams woken together in one process (a site's boards and kiosks all hold one),
not once each; a stream that got fewer than a batch is caught up and waits for the next news
without reading again.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from server import db, store
from server.api.deps import Caller, Ctx, SiteId
from server.auth import Permission
from server.context import ServerContext
from server.errors import not_found, responses
from server.models import MAX_SEQ

router = APIRouter()

BATCH = 500


def _read(ctx: ServerContext, site: str, cursor: int) -> list[Any]:
    with db.read(ctx.engine) as conn:
        return store.since(conn, site, cursor, BATCH)


def _last(ctx: ServerContext, site: str) -> int:
    with db.read(ctx.engine) as conn:
        return store.last_seq(conn, site)


_ticks = itertools.count()
"""Orders, in the event loop, when a stream armed its wake-up and when a read was sent to the
database."""


class _Read:
    """One read of a site's events after a cursor, shared by the streams of this process."""

    def __init__(self, ctx: ServerContext, site: str, cursor: int) -> None:
        self.sent: int | None = None
        """The tick when it was sent to the database (None: not yet)."""
        self.task = asyncio.ensure_future(self._run(ctx, site, cursor))

    async def _run(self, ctx: ServerContext, site: str, cursor: int) -> list[Any]:
        # One turn of the loop first: the site's other streams woken by the same news arm and
        # join this read instead of sending their own.
        await asyncio.sleep(0)
        self.sent = next(_ticks)
        return await run_in_threadpool(_read, ctx, site, cursor)


_reads: dict[tuple[int, str, int], _Read] = {}
"""The reads in flight in this process, by (context, site, cursor)."""


async def _read_shared(ctx: ServerContext, site: str, cursor: int, armed: int) -> list[Any]:
    """The site's events after ``cursor``, read once for the streams of this process that ask
    together (the same news wakes every stream of the site, all at the same cursor).

    A stream joins only a read sent after it armed its wake-up (``armed``, the tick taken
    then): an event that read does not see is announced after the arming, and wakes the
    stream again. A read already sent before is not joined: the stream sends a new one."""
    key = (id(ctx), site, cursor)
    shared = _reads.get(key)
    if shared is None or (shared.sent is not None and shared.sent < armed):
        shared = _reads[key] = _Read(ctx, site, cursor)

        def done(task: asyncio.Task[list[Any]], entry: _Read = shared) -> None:
            if _reads.get(key) is entry:
                del _reads[key]
            if not task.cancelled():
                task.exception()  # retrieved here: the streams waiting may all have gone

        shared.task.add_done_callback(done)
    # Shielded: a stream whose client leaves does not cancel the read for the others.
    return await asyncio.shield(shared.task)


KEEPALIVE = b": keep-alive\n\n"
"""The comment line an idle stream sends, encoded once for every stream."""
CONFIG_CHANGED = "event: config\ndata: {}\n\n"
"""Sent when the site's configuration changed: devices sync to fetch it (no ``id``: not an
event of the site)."""


def message(row: Any) -> str:
    data = json.dumps(store.event_json(row), separators=(",", ":"))
    return f"id: {row.seq}\nevent: {row.kind}\ndata: {data}\n\n"


async def _events(
    ctx: ServerContext, site: str, cursor: int, max_seconds: float | None, device: str | None
) -> AsyncIterator[str | bytes]:
    notifier = ctx.notifier
    sub = notifier.subscribe(site)
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    # A device holding its stream is seen (``server.presence``) though it seldom syncs.
    if device is not None:
        ctx.presence.add(site, device)
    try:
        yield "retry: 2000\n\n"
        while not notifier.closed:
            sub.arm()
            armed = next(_ticks)
            if sub.config_changed():
                yield CONFIG_CHANGED
            rows = await _read_shared(ctx, site, cursor, armed)
            if rows:
                yield "".join(message(r) for r in rows)
                cursor = rows[-1].seq
                if len(rows) == BATCH:
                    continue  # more to send at once
                # Caught up: an event stored since the read was announced after the arming
                # above, and wakes the wait below at once; no read to find nothing.
            # The table is read again only when woken: the notifier's own fallback (a poll
            # of the sites' last seq) stands for a lost wake-up, so an idle stream costs a
            # comment line now and then, not a query.
            while True:
                left = ctx.keepalive_seconds
                if deadline is not None:
                    left = min(left, deadline - time.monotonic())
                    if left <= 0:
                        return
                if await sub.wait(left) or notifier.closed:
                    break
                yield KEEPALIVE
    finally:
        if device is not None:
            ctx.presence.remove(site, device)
        sub.close()


@router.get(
    "/sites/{site}/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "An endless text/event-stream of the site's events",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **responses(401, 403, 404, 422, 429),
    },
    summary="Server-sent events: the site's new events as they are stored",
)
async def stream(
    site: SiteId,
    ctx: Ctx,
    who: Caller,
    cursor: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="Start after this seq.")
    ] = None,
    last_event_id: Annotated[
        int | None,
        Header(alias="Last-Event-ID", ge=0, le=MAX_SEQ, description="Resume after this seq."),
    ] = None,
    max_seconds: Annotated[
        float | None,
        Query(gt=0, le=86400, description="Close the stream after this many seconds."),
    ] = None,
) -> StreamingResponse:
    who.require(Permission.READ, site)
    loaded = await run_in_threadpool(ctx.sites.get_by_engine, ctx.engine, site)
    if loaded is None:
        raise not_found(f"site {site!r}")
    start = last_event_id if last_event_id is not None else cursor
    if start is None:
        start = await run_in_threadpool(_last, ctx, site)
    return StreamingResponse(
        _events(ctx, site, start, max_seconds, who.name if who.kind == "device" else None),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
