"""Pages for the public (no credentials): waiting times, follow my ticket; health probes."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from server import db, elsewhere, schema, stepout, store
from server.api.deps import Ctx, SiteId, server_context
from server.context import ServerContext
from server.errors import ApiError, invalid, not_found, responses
from server.indicators import IndicatorCache, check_month, last_month
from server.models import (
    IDENT,
    TOKEN_RE,
    Health,
    LateNotice,
    PublicIndicators,
    PublicTicket,
    PublicWait,
    Ready,
    StepOutState,
)
from server.ratelimit import client_address
from server.sites import LoadedSite
from server.states import window_floor
from server.views import public_services, public_ticket
from tickets.queue import TicketStatus, fold


def within_budget(request: Request) -> None:
    """Refuses (429) a request over its address's budget of public requests, the one the
    public pages (follow my ticket, live wait) spend too."""
    buckets = server_context(request).limiters.public
    key = client_address(request)
    if not buckets.allow(key):
        wait = buckets.retry_after(key)
        raise ApiError(
            429,
            "rate_limited",
            f"too many requests from this address: try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


router = APIRouter(prefix="/public", dependencies=[Depends(within_budget)])
probes = APIRouter()

PUBLIC_MAX_AGE_SECONDS = 10


@router.get(
    "/sites/{site}/wait",
    response_model=PublicWait,
    responses=responses(404, 422, 429),
    summary="Waiting count and estimated wait per service, and whether it is open now",
)
def wait(site: SiteId, ctx: Ctx, response: Response) -> PublicWait:
    loaded = ctx.sites.get_by_engine(ctx.engine, site)
    if loaded is None:
        raise not_found(f"site {site!r}")
    now = ctx.now()
    with db.read(ctx.engine) as conn, ctx.states.hold(conn, loaded, now) as state:
        day, _floor = window_floor(loaded, now)
        services = public_services(state, loaded.site, day, now)
    response.headers["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE_SECONDS}"
    return PublicWait(site=site, name=loaded.site.name, server_time=now, services=services)


@router.get(
    "/sites/{site}/services/{service}/elsewhere",
    response_model=elsewhere.Elsewhere,
    responses=responses(404, 422, 429),
    summary="Other sites of this server offering the same service, with their wait now and "
    "their next free appointment slot (the same service: same `same_as` key, or same id)",
)
def other_sites(
    site: SiteId,
    service: Annotated[str, Path(pattern=IDENT, max_length=63, description="Service id.")],
    ctx: Ctx,
    response: Response,
) -> elsewhere.Elsewhere:
    found = elsewhere.elsewhere(ctx, site, service)
    response.headers["Cache-Control"] = f"public, max-age={elsewhere.MAX_AGE_SECONDS}"
    return found


@router.get(
    "/sites/{site}/indicators",
    response_model=PublicIndicators,
    responses=responses(404, 422, 429),
    summary="A month's service commitments: median and 90th-percentile wait per service, "
    "share within 15 minutes, busiest and quietest hours (docs/statistics.md)",
)
def indicators(
    site: SiteId,
    ctx: Ctx,
    request: Request,
    response: Response,
    month: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{4}-[0-9]{2}$",
            description="YYYY-MM, from 2000-01 to the current month (site-local); by default "
            "the last complete month. Another value gives 422.",
        ),
    ] = None,
) -> PublicIndicators:
    loaded = ctx.sites.get_by_engine(ctx.engine, site)
    if loaded is None:
        raise not_found(f"site {site!r}")
    today = loaded.site.day(ctx.now())
    chosen = month or last_month(today)
    try:
        check_month(chosen, today)
    except ValueError as exc:
        raise invalid(f"month: {exc}", field="month") from None
    cache: IndicatorCache = request.app.state.indicators
    response.headers["Cache-Control"] = "public, max-age=3600"
    return cache.get(ctx.engine, loaded, chosen)


@router.get(
    "/tickets/{token}",
    response_model=PublicTicket,
    responses=responses(404, 422, 429),
    summary="Follow my ticket: status, people ahead, estimated wait, counter when called",
)
def ticket(
    token: Annotated[str, Path(pattern=TOKEN_RE, description="The ticket's follow token.")],
    ctx: Ctx,
    response: Response,
) -> PublicTicket:
    t = schema.ticket_tokens
    with db.read(ctx.engine) as conn:
        row = conn.execute(sa.select(t.c.site, t.c.ticket).where(t.c.token == token)).first()
    if row is None:
        raise not_found("ticket")
    loaded = ctx.sites.get_by_engine(ctx.engine, row.site)
    if loaded is None:
        raise not_found("ticket")
    response.headers["Cache-Control"] = "no-store"
    now = ctx.now()
    with db.read(ctx.engine) as conn:
        with ctx.states.hold(conn, loaded, now) as state:
            found = state.tickets.get(row.ticket)
            if found is not None:
                out = public_ticket(state, loaded.site, found)
                expected = state.expected_start(found.id, now)
                appointment = found.appointment
        if found is not None:
            return with_notices(ctx, loaded, row.ticket, out, appointment, expected, now)
        # An older ticket, outside the live window: fold its own events.
        events = [store.row_event(r) for r in store.of_ticket(conn, row.site, row.ticket)]
    old = fold(loaded.site, events)
    found = old.tickets.get(row.ticket)
    if found is None:
        raise not_found("ticket")
    return public_ticket(old, loaded.site, found)


def with_notices(
    ctx: ServerContext,
    loaded: LoadedSite,
    ticket: str,
    out: PublicTicket,
    appointment: str | None,
    expected: float | None,
    now: float,
) -> PublicTicket:
    """``out`` with what the person was told or asked to be told: an appointment running
    late (``server.appointments.punctuality``), a walk-in's contact (``server.stepout``)."""
    if out.status is not TicketStatus.WAITING:
        return out
    if appointment is None:
        found = stepout.status(ctx, loaded, ticket)
        out.step_out = StepOutState(
            ahead_threshold=found.ahead,
            channel=found.channel,  # type: ignore[arg-type]
            notified=found.notified,
        )
        return out
    a = schema.appointments
    with db.read(ctx.engine) as conn:
        row = conn.execute(
            sa.select(a.c.starts_at, a.c.late_notice_at, a.c.late_choice).where(
                a.c.id == appointment
            )
        ).first()
    if row is None:
        return out
    out.appointment_at = float(row.starts_at)
    if row.late_notice_at is not None:
        start = expected if expected is not None else now
        out.late = LateNotice(
            appointment_at=row.starts_at,
            expected_start_at=start,
            minutes_late=max(0, round((start - row.starts_at) / 60)),
            told_at=row.late_notice_at,
            choice=row.late_choice,
        )
    return out


@probes.get("/healthz", response_model=Health, summary="Liveness: the process answers")
def healthz() -> Health:
    return Health(status="ok")


@probes.get(
    "/readyz",
    response_model=Ready,
    responses=responses(503),
    summary="Readiness: the database answers",
)
def readyz(ctx: Ctx) -> Ready:
    try:
        with ctx.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        raise ApiError(503, "unavailable", f"database unreachable: {type(exc).__name__}") from None
    return Ready(status="ok", schema_version=ctx.schema_version)
