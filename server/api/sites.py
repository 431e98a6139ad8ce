"""Site endpoints: counter actions, tickets, the queue snapshot, conflicts, statistics."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from server import db
from server.actions import counter_action, issue_ticket
from server.api.deps import Caller, Ctx, Received, SiteId, caller, server_context
from server.api.sync import is_json, read_body, replay
from server.auth import Permission, Principal
from server.context import ServerContext
from server.errors import ApiError, ErrorBody, api_error_response, invalid, not_found, responses
from server.export import csv_response, row_values
from server.models import (
    IDENT,
    ActionRequest,
    ActionResult,
    ConflictList,
    IssuedTicket,
    IssueRequest,
    NextPreview,
    PassageList,
    QueueSnapshot,
    SiteStats,
    TransferRequest,
)
from server.sites import LoadedSite
from server.states import window_floor
from server.stats import FIRST_DAY, LAST_DAY, MAX_DAYS, passage_rows, site_stats, tickets_in_period
from server.views import conflict_views, snapshot, ticket_view
from tickets.press import CounterAction, plan

router = APIRouter(prefix="/sites/{site}")

CounterId = Annotated[str, Path(pattern=IDENT, max_length=63, description="Counter id.")]
_ERRORS = responses(400, 401, 403, 404, 413, 422, 429)
_ACTION_ERRORS = {
    **_ERRORS,
    409: {
        "model": ErrorBody,
        "description": "press_expired: the press's budget_seconds ran out before the server "
        "could act; nothing was made",
    },
}


def _site(ctx: ServerContext, who: Principal, site: str, permission: Permission) -> LoadedSite:
    who.require(permission, site)
    loaded = ctx.sites.get_by_engine(ctx.engine, site)
    if loaded is None:
        raise not_found(f"site {site!r}")
    return loaded


@router.post(
    "/counters/{counter}/transfer",
    response_model=ActionResult,
    responses=_ACTION_ERRORS,
    summary="Send the counter's current ticket to another service's queue",
)
def transfer(
    received: Received,
    site: SiteId,
    counter: CounterId,
    body: TransferRequest,
    ctx: Ctx,
    who: Caller,
) -> ActionResult:
    return counter_action(
        ctx,
        who,
        site,
        counter,
        CounterAction.TRANSFER,
        body.service,
        press=body.press,
        budget=body.budget_seconds,
        received=received,
    )


_ACTIONS = [a.value for a in CounterAction if a is not CounterAction.TRANSFER]


@router.get(
    "/counters/{counter}/next",
    response_model=NextPreview,
    responses=responses(401, 403, 404, 422),
    summary="Who the counter would call next, without calling (read-only)",
)
def next_preview(site: SiteId, counter: CounterId, ctx: Ctx, who: Caller) -> NextPreview:
    """The ticket ``POST .../counters/{counter}/next`` would call now (the same rule:
    ``tickets.press.plan``, the site's ``priority_rule``); nothing is made or changed."""
    loaded = _site(ctx, who, site, Permission.READ)
    if loaded.site.counter(counter) is None:
        raise not_found(f"counter {counter!r}")
    now = ctx.now()
    with db.read(ctx.engine) as conn, ctx.states.hold(conn, loaded, now) as state:
        day, _floor = window_floor(loaded, now)
        planned = plan(state, counter, CounterAction.NEXT, day)
        current = state.counter_ticket(counter)
        return NextPreview(
            site=site,
            counter=counter,
            day=day,
            priority_rule=loaded.site.priority_rule.value,
            current=ticket_view(state, current, with_wait=False) if current else None,
            next=ticket_view(state, planned.ticket) if planned.ticket else None,
        )


@router.post(
    "/counters/{counter}/{action}",
    response_model=ActionResult,
    responses=_ACTION_ERRORS,
    summary="A counter's action: next, recall, done, no-show, open or close",
)
def act(
    received: Received,
    site: SiteId,
    counter: CounterId,
    action: Annotated[
        str, Path(pattern="^(" + "|".join(_ACTIONS) + ")$", description="The action.")
    ],
    ctx: Ctx,
    who: Caller,
    body: Annotated[ActionRequest | None, Body()] = None,
) -> ActionResult:
    return _act(ctx, who, site, counter, action, body, received)


def _act(
    ctx: ServerContext,
    who: Principal,
    site: str,
    counter: str,
    action: str,
    body: ActionRequest | None,
    received: float,
) -> ActionResult:
    press = body if body is not None else ActionRequest()
    return counter_action(
        ctx,
        who,
        site,
        counter,
        CounterAction(action),
        press=press.press,
        budget=press.budget_seconds,
        received=received,
    )


@router.post(
    "/tickets",
    response_model=IssuedTicket,
    responses=_ERRORS,
    summary="Issue a ticket (kiosks without a lease, the agents' console)",
)
def issue(site: SiteId, body: IssueRequest, ctx: Ctx, who: Caller) -> IssuedTicket:
    return issue_ticket(ctx, who, site, body.service, body.priority, body.lang)


@router.get(
    "/queue",
    response_model=QueueSnapshot,
    responses=responses(401, 403, 404, 422, 429),
    summary="The site's queue now: services, counters, waiting tickets, calls, conflicts",
)
def queue(site: SiteId, ctx: Ctx, who: Caller) -> QueueSnapshot:
    loaded = _site(ctx, who, site, Permission.READ)
    now = ctx.now()
    with db.read(ctx.engine) as conn, ctx.states.hold(conn, loaded, now) as state:
        day, _floor = window_floor(loaded, now)
        return snapshot(state, loaded.site, day, ctx.states.seq(site), now)


@router.get(
    "/conflicts",
    response_model=ConflictList,
    responses=responses(401, 403, 404, 422, 429),
    summary="Disagreements between devices found when their offline events were merged",
)
def conflicts(site: SiteId, ctx: Ctx, who: Caller) -> ConflictList:
    loaded = _site(ctx, who, site, Permission.READ)
    with db.read(ctx.engine) as conn, ctx.states.hold(conn, loaded, ctx.now()) as state:
        return ConflictList(site=site, conflicts=conflict_views(state))


_BOUNDS = f"From {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
DateFrom = Annotated[
    date,
    Query(
        alias="from",
        ge=FIRST_DAY,
        le=LAST_DAY,
        description=f"First day (site-local), ISO 8601. {_BOUNDS}; a date outside gives 422.",
    ),
]
DateTo = Annotated[
    date,
    Query(
        alias="to",
        ge=FIRST_DAY,
        le=LAST_DAY,
        description=f"Last day, included. {_BOUNDS}, not before `from`, at most {MAX_DAYS} "
        "days after it; otherwise 422.",
    ),
]
_STATS_ERRORS = responses(401, 403, 404, 422, 429)
_STATS_ACCESS = (
    "For a manager, admin or superadmin of the site: HTTP Basic with the user's name and "
    "password (`curl -u NAME:PASSWORD`), or the user's read-only API token "
    "(`Authorization: Bearer gq_…`, made by `guichet user token NAME`). Agents and devices "
    "get 403. `from` and `to` are site-local days from 2000-01-01 to 2199-12-31, at most "
    f"{MAX_DAYS} days at once; anything else is a 422 naming the field. Definitions: "
    "docs/statistics.md."
)


def _period(ctx: ServerContext, who: Principal, site: str, first: date, last: date) -> LoadedSite:
    loaded = _site(ctx, who, site, Permission.STATS)
    if last < first:
        raise invalid("'to' is before 'from'", field="to")
    if (last - first).days >= MAX_DAYS:
        raise invalid(f"at most {MAX_DAYS} days at once", field="to")
    return loaded


@router.get(
    "/stats",
    response_model=SiteStats,
    responses=_STATS_ERRORS,
    summary="Waiting-time indicators per passage: per service, day and hour, and for the site "
    "(docs/statistics.md)",
    description=_STATS_ACCESS,
)
def stats(site: SiteId, ctx: Ctx, who: Caller, date_from: DateFrom, date_to: DateTo) -> SiteStats:
    loaded = _period(ctx, who, site, date_from, date_to)
    return site_stats(ctx.engine, loaded, date_from, date_to)


@router.get(
    "/passages",
    response_model=PassageList,
    responses=_STATS_ERRORS,
    summary="Every passage of every ticket through a service's queue (the rows behind /stats)",
    description=_STATS_ACCESS,
)
def passages(
    site: SiteId, ctx: Ctx, who: Caller, date_from: DateFrom, date_to: DateTo
) -> PassageList:
    loaded = _period(ctx, who, site, date_from, date_to)
    tickets = tickets_in_period(ctx.engine, loaded, date_from, date_to)
    rows = [row_values(loaded.site, r) for r in passage_rows(tickets)]
    return PassageList.model_validate(
        {"site": site, "from": date_from, "to": date_to, "passages": rows}
    )


@router.get(
    "/passages.csv",
    response_class=Response,
    responses={
        **_STATS_ERRORS,
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "RFC 4180 CSV, UTF-8 with a byte-order mark, one row per passage "
            "(the columns of /passages, in that order).",
        },
    },
    summary="The passages as CSV (spreadsheets, open data, BI jobs)",
    description=_STATS_ACCESS,
)
def passages_csv_export(
    site: SiteId, ctx: Ctx, who: Caller, date_from: DateFrom, date_to: DateTo
) -> Response:
    loaded = _period(ctx, who, site, date_from, date_to)
    return csv_response(ctx.engine, loaded, date_from, date_to)


class ActionFastPath:
    """ASGI middleware answering a site's busiest actions before FastAPI's routing: a ticket
    issued (``POST <api>/sites/{site}/tickets``) and a counter's action (``POST
    <api>/sites/{site}/counters/{counter}/{action}``, not a transfer), as the routes above
    answer them (the same caller, the same action, the same models) in one trip to a request
    thread instead of two, without the routes' request handling and answer validation (about
    half the server's CPU of an action otherwise). What it does not take as the route would
    (another content type, a body or path the route would refuse) goes on to the route, which
    also documents the endpoints in the OpenAPI."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix + "/sites/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        target = self._target(scope)
        if target is None:
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()
        content_type = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
        raw = await read_body(receive)
        if raw is None:
            return  # the client went away
        site, counter, action = target
        run = _issue_run if counter is None else _action_run
        work = run(scope, raw, content_type, site, counter, action, arrived)
        if work is None:
            await self.app(scope, replay(raw, receive), send)
            return
        try:
            result = await to_thread.run_sync(work)
            response: Response = Response(result.model_dump_json(), media_type="application/json")
        except ApiError as exc:
            response = api_error_response(exc)
        await response(scope, receive, send)

    def _target(self, scope: Scope) -> tuple[str, str | None, str] | None:
        """(site, counter or None for a ticket issued, action) of a path this takes."""
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if not path.startswith(self.prefix):
            return None
        parts = path[len(self.prefix) :].split("/")
        if len(parts) == 2 and parts[1] == "tickets" and _IDENT.fullmatch(parts[0]):
            return parts[0], None, "tickets"
        if (
            len(parts) == 4
            and parts[1] == "counters"
            and parts[3] in _ACTIONS
            and _IDENT.fullmatch(parts[0])
            and _IDENT.fullmatch(parts[2])
        ):
            return parts[0], parts[2], parts[3]
        return None


_IDENT = re.compile(IDENT)


def _issue_run(
    scope: Scope,
    raw: bytes,
    content_type: str | None,
    site: str,
    _counter: str | None,
    _action: str,
    _arrived: float,
) -> Callable[[], IssuedTicket] | None:
    """What the ticket route does with this request, or None when the route would refuse it."""
    if not is_json(content_type):
        return None
    try:
        body = IssueRequest.model_validate(json.loads(raw))
    except (ValueError, RecursionError, ValidationError):
        return None
    request = Request(scope)

    def work() -> IssuedTicket:
        ctx = server_context(request)
        who = caller(request, None, None)
        return issue_ticket(ctx, who, site, body.service, body.priority, body.lang)

    return work


def _action_run(
    scope: Scope,
    raw: bytes,
    content_type: str | None,
    site: str,
    counter: str | None,
    action: str,
    arrived: float,
) -> Callable[[], ActionResult] | None:
    """What the counter action route does with this request, or None when the route would
    refuse it (or another content type than JSON's or none: left to the route)."""
    if raw:
        if not is_json(content_type):
            return None
        try:
            data: Any = json.loads(raw)
            press = ActionRequest() if data is None else ActionRequest.model_validate(data)
        except (ValueError, RecursionError, ValidationError):
            return None
    elif content_type is None or is_json(content_type):
        press = ActionRequest()
    else:
        return None
    request = Request(scope)
    assert counter is not None

    def work() -> ActionResult:
        who = caller(request, None, None)
        return _act(server_context(request), who, site, counter, action, press, arrived)

    return work
