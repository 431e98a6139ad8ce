"""After the visit: "How was your visit?" on the follow page (the visitor's phone) and on a
tablet at the counter (for people without a phone). Answers are stored by ``server.feedback``.

- ``POST /t/{token}/feedback`` (score 1–3): the follow page's three faces, once the ticket is
  served. The follow token is the only key, as for the page itself; no session, no cookie.
- ``GET/POST /console/{site}/{counter}/feedback``: a full-screen page for a tablet turned towards
  the visitor, signed in as the counter's agent; an answer goes to the ticket that counter served
  last, within ``COUNTER_WINDOW_SECONDS``, unless that ticket has an answer already.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from server import db, feedback, schema
from server.context import ServerContext
from server.feedback import Score, Source
from server.web.console import known_counter, staff_site
from server.web.page import Page
from server.web.public import limited
from tickets.queue import Ticket, TicketStatus

router = APIRouter(include_in_schema=False)

COUNTER_WINDOW_SECONDS = 15 * 60
"""How long after a visit the counter's tablet still records an answer for it."""


def get_page(request: Request) -> Page:
    return Page(request)


PageDep = Annotated[Page, Depends(get_page)]


def _score(value: object) -> Score | None:
    try:
        return Score(int(str(value)))
    except ValueError:
        return None


def _ticket_of_token(ctx: ServerContext, token: str) -> tuple[str, Ticket] | None:
    t = schema.ticket_tokens
    with db.read(ctx.engine) as conn:
        row = conn.execute(sa.select(t.c.site, t.c.ticket).where(t.c.token == token)).first()
    if row is None:
        return None
    loaded = ctx.sites.get_by_engine(ctx.engine, row.site)
    if loaded is None:
        return None
    with db.read(ctx.engine) as conn, ctx.states.hold(conn, loaded, ctx.now()) as state:
        found = state.tickets.get(row.ticket)
    return (row.site, found) if found is not None else None


def _record(ctx: ServerContext, site: str, ticket: Ticket, score: Score, source: Source) -> None:
    with db.write(ctx.engine) as conn:
        feedback.record(
            conn,
            site=site,
            ticket=ticket.id,
            service=ticket.service,
            day=ticket.day,
            score=score,
            source=source,
            at=ctx.now(),
        )


def _answer_from_phone(ctx: ServerContext, token: str, score: Score) -> bool:
    found = _ticket_of_token(ctx, token)
    if found is None or found[1].status is not TicketStatus.SERVED:
        return False
    _record(ctx, found[0], found[1], score, Source.PHONE)
    return True


@router.post("/t/{token}/feedback")
async def follow_feedback(token: str, request: Request) -> Response:
    form = await request.form()
    page = await run_in_threadpool(Page, request)
    limited(page)
    score = _score(form.get("score"))
    lang = str(form.get("lang", ""))[:3]
    if score is None:
        return page.error(422, page._("error.bad_request"))
    if not await run_in_threadpool(_answer_from_phone, page.ctx, token, score):
        return page.error(404, page._("follow.unknown"))
    where = f"/t/{token}" + (f"?lang={lang}" if lang.isalpha() else "")
    return page.finish(Response(status_code=303, headers={"Location": where + "#thanks"}))


# ---- the counter's tablet -----------------------------------------------------------------
def _last_served(ctx: ServerContext, site: str, counter: str) -> Ticket | None:
    """The ticket ``counter`` served last, within the window, and not answered yet."""
    loaded = ctx.sites.get_by_engine(ctx.engine, site)
    if loaded is None:
        return None
    now = ctx.now()
    with db.read(ctx.engine) as conn, ctx.states.hold(conn, loaded, now) as state:
        served = [
            t
            for t in state.tickets.values()
            if t.counter == counter
            and t.status is TicketStatus.SERVED
            and t.finished_at is not None
            and now - t.finished_at <= COUNTER_WINDOW_SECONDS
        ]
    if not served:
        return None
    last = max(served, key=lambda t: t.finished_at or 0.0)
    with db.read(ctx.engine) as conn:
        if feedback.answer_of(conn, site, last.id) is not None:
            return None
    return last


def _tablet(page: Page, site: str, counter: str, state: str) -> Response:
    loaded = staff_site(page, site)
    known_counter(page, loaded, counter)
    where = loaded.site.counter(counter)
    return page.render(
        "visit_tablet.html",
        section="console",
        site={"id": loaded.id, "name": loaded.site.name},
        counter={"id": counter, "label": where.label if where else counter},
        state=state,
    )


@router.get("/console/{site}/{counter}/feedback", response_class=HTMLResponse)
def counter_tablet(site: str, counter: str, page: PageDep) -> Response:
    state = page.request.query_params.get("state", "ask")
    return _tablet(page, site, counter, state if state in ("thanks", "none") else "ask")


@router.post("/console/{site}/{counter}/feedback")
async def counter_feedback(site: str, counter: str, request: Request) -> Response:
    form = await request.form()
    page = await run_in_threadpool(Page, request)
    loaded = staff_site(page, site, action=True)
    page.check_csrf(form)
    known_counter(page, loaded, counter)
    score = _score(form.get("score"))
    if score is None:
        return page.error(422, page._("error.bad_request"))
    ticket = await run_in_threadpool(_last_served, page.ctx, site, counter)
    if ticket is None:
        return page.redirect(f"/console/{site}/{counter}/feedback?state=none")
    await run_in_threadpool(_record, page.ctx, site, ticket, score, Source.COUNTER)
    return page.redirect(f"/console/{site}/{counter}/feedback?state=thanks")
