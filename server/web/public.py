"""Pages anyone may open: the landing page, sign-in and sign-out, follow my ticket, the live
wait and its embeddable version for the town's website."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from server import auth, db, feedback
from server.api import public as public_api
from server.context import ServerContext
from server.errors import ApiError
from server.models import TOKEN_RE, PublicTicket
from server.ratelimit import client_address
from server.sites import LoadedSite
from server.web import data, format
from server.web.elsewhere import elsewhere_section
from server.web.page import STATIC_URL, Page, Refusal
from server.web.sessions import WebSession, password_fingerprint

router = APIRouter(include_in_schema=False)

PEAK_WEEKS = 8
"""Weeks of arrivals behind the public "usual peak hours"."""
PEAK_CACHE_SECONDS = 600.0
_TOKEN = re.compile(TOKEN_RE)
_NEXT = re.compile(r"^/(?!/)[^\s\\]*$")
FINAL_STATUSES = frozenset({"served", "no_show", "cancelled"})


def get_page(request: Request) -> Page:
    return Page(request)


PageDep = Annotated[Page, Depends(get_page)]


def limited(page: Page) -> None:
    """A public page: refuses (429) a request over the client's budget."""
    page.public()
    buckets = page.ctx.limiters.public
    key = client_address(page.request)
    if not buckets.allow(key):
        response = page.error(429, page._("error.rate"))
        response.headers["Retry-After"] = str(buckets.retry_after(key))
        raise Refusal(response)


# ---- landing and sign-in ------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def landing(page: PageDep) -> Response:
    sites = data.all_sites(page.ctx)
    if len(sites) == 1:
        page.use_site_languages(sites[0].site.languages)
    shown = [
        {
            "id": s.id,
            "name": s.site.name,
            "services": s.site.services,
            "service_names": [x.name(page.lang) for x in s.site.services],
        }
        for s in sites
    ]
    return page.render("landing.html", section="home", sites=shown)


def _safe_next(value: str | None) -> str:
    """Only a path on this server (never another host) may follow a sign-in."""
    return value if value and _NEXT.match(value) else "/console"


@router.get("/login", response_class=HTMLResponse)
def login_form(page: PageDep) -> Response:
    reason = page.request.query_params.get("reason")
    messages = {
        "required": "login.required",
        "forbidden": "login.forbidden",
        "expired": "login.expired",
    }
    if page.session.expired and reason is None:
        reason = "expired"
    error = page._(messages[reason]) if reason in messages else None
    return page.render(
        "login.html",
        section="login",
        error=error,
        username="",
        next_url=_safe_next(page.request.query_params.get("next")),
    )


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    page = await run_in_threadpool(Page, request)
    page.check_csrf(form)
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    next_url = _safe_next(str(form.get("next", "")))
    buckets = page.ctx.limiters.login
    key = client_address(request)
    if not buckets.has(key):
        response = page.error(429, page._("error.rate"))
        response.headers["Retry-After"] = str(buckets.retry_after(key))
        return response
    user = await run_in_threadpool(auth.authenticate_user, page.ctx.engine, username, password)
    found = await run_in_threadpool(auth.get_user, page.ctx.engine, username) if user else None
    if user is None or found is None:
        buckets.allow(key)
        return page.render(
            "login.html",
            section="login",
            status=401,
            error=page._("login.failed"),
            username=username,
            next_url=next_url,
        )
    # A new session (and CSRF token) at sign-in: a token seen before cannot be reused.
    page.session = WebSession(
        csrf=page.web.codec.fresh().csrf,
        username=user.username,
        fingerprint=password_fingerprint(found[1]),
        dirty=True,
    )
    page.user = user
    return page.redirect(next_url)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    page = await run_in_threadpool(Page, request)
    page.check_csrf(form)
    page.session = page.web.codec.fresh()
    page.user = None
    page.session.flash("info", "login.logged_out")
    return page.redirect("/login")


# ---- follow my ticket ---------------------------------------------------------------------
def _public_ticket(ctx: ServerContext, token: str) -> tuple[LoadedSite, PublicTicket] | None:
    if not _TOKEN.match(token):
        return None
    site_id = data.site_of_token(ctx, token)
    loaded = ctx.sites.get_by_engine(ctx.engine, site_id) if site_id else None
    if loaded is None:
        return None
    try:
        return loaded, public_api.ticket(token, ctx, Response())
    except ApiError:
        return None


def _card_values(page: Page, ticket: PublicTicket, token: str) -> dict[str, Any]:
    lang = page.lang
    answer = None
    if ticket.status.value == "served":
        with db.read(page.ctx.engine) as conn:
            answer = feedback.answer_of_token(conn, token)

    def name(names: dict[str, str] | None, fallback: str) -> str:
        names = names or {}
        return names.get(lang) or next(iter(names.values()), fallback)

    moved_from = ticket.transferred_from
    late = None
    if ticket.late is not None and ticket.status.value == "waiting":
        site_id = data.site_of_token(page.ctx, token)
        loaded = page.ctx.sites.get_by_engine(page.ctx.engine, site_id) if site_id else None
        at = ticket.late.appointment_at
        late = {
            "time": loaded.site.local(at).strftime("%H:%M") if loaded else "",
            "minutes": max(1, ticket.late.minutes_late),
            "choice": ticket.late.choice,
        }
    return {
        "label": ticket.label,
        "status": ticket.status.value,
        "service_name": name(ticket.service_names, ticket.service),
        "people_ahead": ticket.people_ahead,
        "estimate": format.estimate(ticket.estimated_wait_seconds, page.durations),
        "counter_label": ticket.counter_label or ticket.counter or "",
        "priority": ticket.priority,
        "recalls": ticket.recalls,
        "transferred_from": name(ticket.transferred_from_names, moved_from) if moved_from else "",
        "token": token,
        "answer": int(answer) if answer is not None else None,
        "late": late,
    }


def _card_message(page: Page, ticket: PublicTicket, token: str) -> dict[str, str]:
    values = _card_values(page, ticket, token)
    return {
        "status": values["status"],
        "recalls": str(values["recalls"]),
        "html": page.fragment("_follow_card.html", ticket=values),
    }


def _follow_page(page: Page, token: str) -> Response:
    found = _public_ticket(page.ctx, token)
    page.public()
    if found is None:
        response = page.render(
            "follow.html", section="public", status=404, ticket=None, token="", site_name=""
        )
        return response
    loaded, ticket = found
    page.use_site_languages(loaded.site.languages, data.language_of_token(page.ctx, token))
    step_out = ticket.step_out
    response = page.render(
        "follow.html",
        section="public",
        ticket=_card_values(page, ticket, token),
        token=token,
        site_name=loaded.site.name,
        step_out=step_out.model_dump() if step_out is not None else None,
        step_out_error=page.request.query_params.get("step_out") == "bad",
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/t/{token}", response_class=HTMLResponse)
def follow(token: str, page: PageDep) -> Response:
    limited(page)
    return _follow_page(page, token)


@router.get("/t/{token}/card")
def follow_card(token: str, page: PageDep) -> Response:
    """The ticket card as JSON {status, html}: what browsers without EventSource poll."""
    limited(page)
    found = _public_ticket(page.ctx, token)
    if found is None:
        return page.finish(JSONResponse({"status": "unknown"}, status_code=404))
    loaded, ticket = found
    page.use_site_languages(loaded.site.languages)
    return page.finish(JSONResponse(_card_message(page, ticket, token)))


async def _ticket_stream(page: Page, token: str, site: str) -> AsyncIterator[str]:
    ctx = page.ctx
    notifier = ctx.notifier
    sub = notifier.subscribe(site)
    last = ""
    try:
        yield "retry: 3000\n\n"
        while not notifier.closed:
            sub.arm()
            found = await run_in_threadpool(_public_ticket, ctx, token)
            if found is None:
                return
            message = json.dumps(_card_message(page, found[1], token), separators=(",", ":"))
            if message != last:
                last = message
                yield f"event: ticket\ndata: {message}\n\n"
            # Read again only when the site changed (the notifier stands for lost wake-ups):
            # a waiting room's phones cost a comment line now and then, not a fold each.
            while not await sub.wait(ctx.keepalive_seconds) and not notifier.closed:
                yield ": keep-alive\n\n"
    finally:
        sub.close()


@router.get("/t/{token}/events")
def follow_events(token: str, page: PageDep) -> Response:
    """Server-sent events: the ticket card each time the ticket changes."""
    limited(page)
    found = _public_ticket(page.ctx, token)
    if found is None:
        return page.error(404, page._("follow.unknown"))
    loaded, _ticket = found
    page.use_site_languages(loaded.site.languages)
    response = StreamingResponse(
        _ticket_stream(page, token, loaded.id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    return page.finish(response)


# ---- live wait ----------------------------------------------------------------------------
class PeakCache:
    """The usual peak hours of each site, recomputed every ``PEAK_CACHE_SECONDS``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, data.Arrivals]] = {}

    def get(self, ctx: ServerContext, loaded: LoadedSite) -> data.Arrivals:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(loaded.id)
        if hit is not None and now - hit[0] < PEAK_CACHE_SECONDS:
            return hit[1]
        today = loaded.site.day(ctx.now())
        found = data.arrivals(ctx, loaded, today - timedelta(weeks=PEAK_WEEKS), today)
        with self._lock:
            self._cache[loaded.id] = (now, found)
        return found


def _wait_values(page: Page, site_id: str) -> dict[str, Any] | None:
    ctx = page.ctx
    loaded = ctx.sites.get_by_engine(ctx.engine, site_id)
    if loaded is None:
        return None
    page.use_site_languages(loaded.site.languages)
    peaks_cache: PeakCache = page.request.app.state.web_peaks
    values: dict[str, Any] = {"site_id": site_id, "site_name": loaded.site.name}
    try:
        wait = public_api.wait(site_id, ctx, Response())
    except ApiError:
        values["services"] = None
        return values
    lang = page.lang
    values["services"] = [
        {
            "id": s.id,
            "name": s.names.get(lang) or next(iter(s.names.values()), s.id),
            "waiting": s.waiting,
            "open_now": s.open_now,
            "estimate": format.estimate(s.estimated_wait_seconds, page.durations)
            if s.waiting
            else page._("wait.none"),
        }
        for s in wait.services
    ]
    local = loaded.site.local(wait.server_time)
    arrivals = peaks_cache.get(ctx, loaded)
    values["peaks"] = [format.hour_range(h) for h in sorted(arrivals.peaks(local.weekday()))]
    values["today_name"] = page._(f"weekday.{local.weekday()}")
    values["updated"] = local.strftime("%H:%M")
    return values


@router.get("/wait/{site}", response_class=HTMLResponse)
def wait_page(site: str, page: PageDep) -> Response:
    limited(page)
    values = _wait_values(page, site)
    if values is None:
        return page.error(404, page._("error.not_found"))
    services = [s["id"] for s in values["services"] or []]
    others = elsewhere_section(page, site, services)
    return page.render(
        "wait.html", section="public", elsewhere=others, elsewhere_names=True, **values
    )


@router.get("/embed/{site}", response_class=HTMLResponse)
def embed_page(site: str, page: PageDep) -> Response:
    """The live wait for an iframe on the town's website (any site may frame it)."""
    limited(page)
    values = _wait_values(page, site)
    if values is None:
        return page.error(404, page._("error.not_found"))
    response = page.render("embed.html", frame_ancestors="*", **values)
    response.headers["Cache-Control"] = "public, max-age=30"
    return response


@router.get("/embed/{site}/fragment", response_class=HTMLResponse)
def embed_fragment(site: str, page: PageDep) -> Response:
    limited(page)
    values = _wait_values(page, site)
    if values is None:
        return page.finish(HTMLResponse("", status_code=404))
    html = page.fragment("_wait_panel.html", **values)
    response = page.finish(HTMLResponse(html), frame_ancestors="*")
    response.headers["Cache-Control"] = "public, max-age=30"
    return response


def embed_code(
    public_url: str, site: str, lang: str, title: str, *, page: str = "", height: int = 420
) -> str:
    """What a town's website pastes to show the live wait (or, with ``page`` "/indicators", the
    month's indicators): the frame, and a small script that sizes it to its content (the frame's
    page announces its height; without the script the frame keeps its starting height and
    scrolls)."""
    base = public_url.rstrip("/")
    src = f"{base}/embed/{site}{page}?{urlencode({'lang': lang})}"
    return (
        f'<iframe src="{src}" title="{title}" data-guichet-embed width="100%" height="{height}" '
        'style="border:0" loading="lazy"></iframe>\n'
        f'<script src="{base}{STATIC_URL}/embed-host.js" async></script>'
    )
