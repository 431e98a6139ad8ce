"""The agent console: choose a counter, call and serve visitors, watch the queue live.

Actions go through ``server.actions.counter_action``, the same atomic transaction the API
and the call buttons use; the queue shown is the API's snapshot (``server.views.snapshot``).
The page follows the site's events through a server-sent-event stream and re-reads its panel
when something changed, so the agent never reloads by hand.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from server import db, store
from server.actions import counter_action
from server.context import ServerContext
from server.errors import ApiError
from server.models import ActionResult, QueueSnapshot
from server.sites import LoadedSite
from server.states import window_floor
from server.views import snapshot
from server.web import format
from server.web.page import STAFF, Page, Refusal
from tickets.press import CounterAction, transfer_targets

router = APIRouter(include_in_schema=False)


def get_page(request: Request) -> Page:
    return Page(request)


PageDep = Annotated[Page, Depends(get_page)]


def staff_site(page: Page, site_id: str, *, action: bool = False) -> LoadedSite:
    return page.site(STAFF, site_id, action=action)


@dataclass
class Live:
    snapshot: QueueSnapshot
    next_ticket: str | None
    now: float
    transfer_targets: list[str]
    """Services a ticket may be sent to now (tickets.press.transfer_targets)."""


def read_live(ctx: ServerContext, loaded: LoadedSite, counter: str) -> Live:
    """The site's queue snapshot and the ticket ``counter`` would call next."""
    now = ctx.now()
    with db.read(ctx.engine) as conn, ctx.states.hold(conn, loaded, now) as state:
        # The cursor is the seq the state has folded, read inside the same hold: an event
        # committed meanwhile is either in both or in neither.
        day, _floor = window_floor(loaded, now)
        snap = snapshot(state, loaded.site, day, ctx.states.seq(loaded.id), now)
        nxt = state.next_for(counter, day=day, now=now)
        targets = [s.id for s in transfer_targets(state, loaded.site.local(now))]
    return Live(snap, nxt.label if nxt else None, now, targets)


def _service_name(loaded: LoadedSite, service_id: str, lang: str) -> str:
    service = loaded.site.service(service_id)
    return service.name(lang) if service else service_id


def panel_values(page: Page, loaded: LoadedSite, counter_id: str) -> dict[str, Any]:
    live = read_live(page.ctx, loaded, counter_id)
    lang, now = page.lang, live.now
    words = page.durations
    counter = next(c for c in live.snapshot.counters if c.id == counter_id)
    current = None
    if counter.ticket is not None:
        t = counter.ticket
        called = t.called_at or now
        current = {
            "label": t.label,
            "service": t.service,
            "service_name": _service_name(loaded, t.service, lang),
            "priority": t.priority,
            "waited": format.duration(called - t.issued_at, words),
            "called_at": called,
            "called_for": format.duration(now - called, words),
            "recalls": t.recalls,
            "appointment": format.clock(t.appointment_at, loaded.site.tz)
            if t.appointment_at
            else "",
            "note": t.note,
        }
    queue = []
    for service_id in counter.services:
        tickets = [
            {
                "label": t.label,
                "issued_at": t.issued_at,
                "waiting": format.duration(now - t.issued_at, words),
                "priority": t.priority,
            }
            for t in live.snapshot.waiting
            if t.service == service_id
        ]
        queue.append(
            {"id": service_id, "name": _service_name(loaded, service_id, lang), "tickets": tickets}
        )
    # Only where the ticket will be served: open now and taken by an open counter.
    targets = [
        {"id": s, "name": _service_name(loaded, s, lang)}
        for s in live.transfer_targets
        if current is None or s != current["service"]
    ]
    return {
        "site": {"id": loaded.id, "name": loaded.site.name},
        "counter": {"id": counter.id, "label": counter.label, "open": counter.open},
        "current": current,
        "queue": queue,
        "queue_total": sum(len(q["tickets"]) for q in queue),
        "next_label": live.next_ticket,
        # NEXT opens a closed counter (tickets/press.py); the hint of a closed counter says so.
        "can_next": live.next_ticket is not None or current is not None,
        "transfer_targets": targets,
    }


# ---- pages --------------------------------------------------------------------------------
@router.get("/console", response_class=HTMLResponse)
def console_home(page: PageDep) -> Response:
    page.require(STAFF)
    return page.choose_site("console", "console", page._("console.title"))


@router.get("/console/{site}", response_class=HTMLResponse)
def choose_counter(site: str, page: PageDep) -> Response:
    loaded = staff_site(page, site)
    live = read_live(page.ctx, loaded, "")
    counters = [
        {
            "id": c.id,
            "label": c.label,
            "open": c.open,
            "service_names": [_service_name(loaded, s, page.lang) for s in c.services],
        }
        for c in live.snapshot.counters
    ]
    return page.render(
        "console_choose.html",
        section="console",
        site={"id": loaded.id, "name": loaded.site.name},
        counters=counters,
    )


def known_counter(page: Page, loaded: LoadedSite, counter: str) -> None:
    if loaded.site.counter(counter) is None:
        raise Refusal(page.error(404, page._("error.not_found")))


# ---- live updates -------------------------------------------------------------------------
def _last_seq(ctx: ServerContext, site: str) -> int:
    with db.read(ctx.engine) as conn:
        return store.last_seq(conn, site)


async def _changes(page: Page, site: str) -> AsyncIterator[str]:
    """One ``changed`` message per batch of new events; ``expired`` when the session ends."""
    ctx = page.ctx
    notifier = ctx.notifier
    sub = notifier.subscribe(site)
    deadline = page.web.codec.expires_at(page.session)
    sent = -1
    try:
        yield "retry: 2000\n\n"
        while not notifier.closed:
            sub.arm()
            seq = await run_in_threadpool(_last_seq, ctx, site)
            if seq != sent:
                sent = seq
                payload = json.dumps({"seq": seq, "server_time": ctx.now()})
                yield f"event: changed\ndata: {payload}\n\n"
            # Read again only when woken (the notifier stands for lost wake-ups).
            while True:
                left = min(ctx.keepalive_seconds, deadline - time.time())
                if left <= 0:
                    yield "event: expired\ndata: {}\n\n"
                    return
                if await sub.wait(left) or notifier.closed:
                    break
                yield ": keep-alive\n\n"
    finally:
        sub.close()


@router.get("/console/{site}/_stream")
def console_stream(site: str, page: PageDep) -> Response:
    page.activity = False
    loaded = staff_site(page, site, action=True)
    response = StreamingResponse(
        _changes(page, loaded.id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    return page.finish(response)


@router.get("/console/{site}/{counter}", response_class=HTMLResponse)
def console_page(site: str, counter: str, page: PageDep) -> Response:
    loaded = staff_site(page, site)
    known_counter(page, loaded, counter)
    return page.render("console.html", section="console", **panel_values(page, loaded, counter))


@router.get("/console/{site}/{counter}/panel", response_class=HTMLResponse)
def console_panel(site: str, counter: str, page: PageDep) -> Response:
    """The live part of the console, re-read by the page's script after each change."""
    page.activity = False
    loaded = staff_site(page, site, action=True)
    known_counter(page, loaded, counter)
    html = page.fragment("_console_panel.html", **panel_values(page, loaded, counter))
    return page.finish(HTMLResponse(html))


_DONE_KEYS = {
    CounterAction.RECALL: "console.recalled",
    CounterAction.DONE: "console.finished",
    CounterAction.NO_SHOW: "console.marked_absent",
    CounterAction.TRANSFER: "console.transferred",
    CounterAction.OPEN: "console.opened",
    CounterAction.CLOSE: "console.closed_now",
}


def _outcome(
    page: Page, loaded: LoadedSite, counter: str, action: CounterAction, result: ActionResult
) -> tuple[str, str, dict[str, Any]]:
    """What the agent is told after an action: (kind, i18n key, values)."""
    label = result.ticket.label if result.ticket else ""
    if action is CounterAction.NEXT:
        if result.ticket is None:
            return "info", "console.nobody", {}
        where = loaded.site.counter(counter)
        return (
            "success",
            "console.called",
            {"label": label, "counter": where.label if where else counter},
        )
    values: dict[str, Any] = {"label": label}
    if action is CounterAction.TRANSFER and result.ticket is not None:
        values["service"] = _service_name(loaded, result.ticket.service, page.lang)
    return "success", _DONE_KEYS[action], values


@router.post("/console/{site}/{counter}/action")
async def console_action(site: str, counter: str, request: Request) -> Response:
    """One action from the console's buttons. A plain form post answers with a redirect to the
    console (works without JavaScript); the page's script sends ``X-Guichet-Fetch: 1`` and gets
    ``{"kind", "message"}`` instead, so the page stays where the agent is."""
    form = await request.form()
    page = await run_in_threadpool(Page, request)
    loaded = staff_site(page, site, action=True)
    page.check_csrf(form)
    known_counter(page, loaded, counter)
    scripted = request.headers.get("x-guichet-fetch") == "1"

    def answer(kind: str, key: str, status: int = 200, **values: Any) -> Response:
        if scripted:
            body = {"kind": kind, "message": page._(key, **values)}
            return page.finish(JSONResponse(body, status_code=status))
        if kind != "success":
            page.session.flash(kind, key, **values)
        return page.redirect(f"/console/{site}/{counter}")

    try:
        action = CounterAction(str(form.get("action", "")))
    except ValueError:
        return answer("error", "console.action_failed", 422, reason=str(form.get("action", "")))
    service = form.get("service") if action is CounterAction.TRANSFER else None
    try:
        result = await run_in_threadpool(
            counter_action,
            page.ctx,
            page.principal,
            site,
            counter,
            action,
            str(service) if service else None,
        )
    except ApiError as exc:
        return answer("error", "console.action_failed", exc.status, reason=exc.body.message)
    kind, key, values = _outcome(page, loaded, counter, action, result)
    return answer(kind, key, **values)
