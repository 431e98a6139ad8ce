"""The central queue server's ASGI application.

``create_app(settings)`` builds everything (engine, caches, routes) and does no I/O. At start-up
the lifespan prepares the database (``server.startup.prepare``: schema, changed site files, the
session key) unless the supervising process did it already and passed the result in
(``prepared``), then starts the live streams' notifier.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import CapacityLimiter, to_thread
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from config.server import ServerSettings
from server.api import appointments, notices, public, sites, stream, sync
from server.appointments.messages import Messenger
from server.appointments.reminders import ReminderLoop
from server.context import ServerContext
from server.db import REQUEST_THREADS, SYNC_THREADS, create_db_engine, is_sqlite
from server.errors import BodyLimit, install_handlers
from server.indicators import IndicatorCache
from server.notices import NoticeLoop
from server.notify import LocalNotifier, Notifier, PgNotifier
from server.quiet import QuietSyncs
from server.startup import Prepared, prepare
from server.web import register_web

log = logging.getLogger(__name__)

API = "/api/v1"


def create_app(settings: ServerSettings, prepared: Prepared | None = None) -> FastAPI:
    """The application for ``settings`` (nothing runs until it is served)."""
    engine = create_db_engine(settings.database_url)
    notifier: Notifier = LocalNotifier() if is_sqlite(engine) else PgNotifier(settings.database_url)
    ctx = ServerContext(
        settings=settings,
        engine=engine,
        notifier=notifier,
        keepalive_seconds=settings.stream_keepalive_seconds,
    )
    if isinstance(notifier, PgNotifier):
        ctx.quiet = notifier.observer = QuietSyncs(notifier, ctx.presence)
    messenger = ctx.messages = Messenger(settings.messages, settings.public_url)
    reminders = ReminderLoop(
        engine, ctx.sites, messenger, ctx.now, settings.appointment_retention_days
    )
    notice_loop = NoticeLoop(ctx, settings.messages.notice_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ready = prepared
        if ready is None:
            ready = await run_in_threadpool(prepare, ctx.engine, settings)
        ctx.schema_version = ready.schema_version
        ctx.event_secret = ready.event_secret
        app.state.web.codec.use_secret(ready.web_secret)
        ctx.notifier.start(asyncio.get_running_loop())
        to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        app.state.sync_limiter = CapacityLimiter(SYNC_THREADS)
        reminders.start()
        notice_loop.start()
        ctx.presence.start(ctx.engine, ctx.now)
        try:
            yield
        finally:
            notice_loop.close()
            reminders.close()
            ctx.presence.close()
            messenger.close()
            ctx.notifier.close()
            ctx.engine.dispose()

    app = FastAPI(
        title="Guichet queue server",
        version="1",
        summary="Queue management for public-service waiting rooms: devices' sync, counter "
        "actions, queue state, push stream, statistics and public pages.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.notices = notice_loop
    app.state.indicators = IndicatorCache()
    install_handlers(app)
    # Inside the body limit (the last added runs first): syncs are answered before routing.
    app.add_middleware(sync.SyncFastPath, path=API + sync.PATH)
    app.add_middleware(sites.ActionFastPath, prefix=API)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.include_router(sync.router, prefix=API, tags=["devices"])
    app.include_router(stream.router, prefix=API, tags=["devices"])
    app.include_router(sites.router, prefix=API, tags=["sites"])
    app.include_router(public.router, prefix=API, tags=["public"])
    app.include_router(appointments.public, prefix=API, tags=["appointments"])
    app.include_router(notices.router, prefix=API, tags=["public"])
    app.include_router(appointments.staff, prefix=API, tags=["appointments"])
    app.include_router(public.probes, tags=["probes"])
    register_web(app)
    return app
