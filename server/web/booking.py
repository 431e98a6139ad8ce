"""The public booking pages: book an appointment, then see, move or cancel it by its link
(``/a/{token}``) or its short code, without an account.

Plain HTML forms (no JavaScript needed), French and English, a phone-sized layout; the pages
can be framed by the town's website like the wait widget. They use the same rules as the API
(``server.appointments.booking``). The forms carry no CSRF token: these pages hold no session,
and what a form changes is reached only through the appointment's secret link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from server.appointments import booking
from server.appointments.announce import announce
from server.appointments.booking import Appointment, Contact
from server.appointments.messages import Kind
from server.appointments.models import EMAIL_RE, PHONE_RE
from server.errors import ApiError
from server.models import IDENT, TOKEN_RE
from server.sites import LoadedSite
from server.web.dates import long_date, when
from server.web.elsewhere import elsewhere_section
from server.web.page import Page
from server.web.public import limited

router = APIRouter(include_in_schema=False)

WEEK_DAYS = 7
_IDENT = re.compile(IDENT)
_TOKEN = re.compile(TOKEN_RE)
_EMAIL = re.compile(EMAIL_RE)
_PHONE = re.compile(PHONE_RE)
FRAME = "*"
"""Like the wait widget, the booking pages may be framed by the town's website."""


def get_page(request: Request) -> Page:
    return Page(request)


PageDep = Annotated[Page, Depends(get_page)]


def _site(page: Page, site_id: str) -> LoadedSite | None:
    if not _IDENT.match(site_id):
        return None
    loaded = page.ctx.sites.get_by_engine(page.ctx.engine, site_id)
    if loaded is not None:
        page.use_site_languages(loaded.site.languages)
    return loaded


def _not_found(page: Page) -> Response:
    return page.render(
        "error.html", section="public", status=404, message=page._("error.not_found")
    )


@dataclass
class DaySlots:
    day: date
    title: str
    slots: list[dict[str, Any]]


def _week(
    page: Page, loaded: LoadedSite, service: str, first: date | None
) -> tuple[date, list[DaySlots], date | None, date | None]:
    """The week of slots shown, from ``first`` (default: the first day with a free slot)."""
    ctx = page.ctx
    now = ctx.now()
    rules = booking.service_rules(loaded, service)[1]
    today = loaded.site.day(now)
    last = today + timedelta(days=rules.horizon_days)
    if first is None:
        upcoming = booking.first_free(ctx.engine, loaded, service, now)
        first = loaded.site.day(upcoming.start) if upcoming is not None else today
    first = min(max(first, today), last)
    found = booking.free_slots(ctx.engine, loaded, service, now, first, WEEK_DAYS)
    by_day: dict[date, list[dict[str, Any]]] = {}
    for s in found:
        local = loaded.site.local(s.start)
        free = page._.n("book.places", s.free)
        by_day.setdefault(local.date(), []).append(
            {"start": int(s.start), "time": local.strftime("%H:%M"), "free": free}
        )
    days = [DaySlots(d, long_date(page, d), slots) for d, slots in sorted(by_day.items())]
    previous = first - timedelta(days=WEEK_DAYS) if first > today else None
    following = first + timedelta(days=WEEK_DAYS)
    return (
        first,
        days,
        (max(previous, today) if previous else None),
        (following if following <= last else None),
    )


def parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def slots_page(
    page: Page,
    loaded: LoadedSite,
    service_id: str,
    *,
    first: date | None,
    action: str,
    base_url: str,
    moving: Appointment | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    service, rules = booking.service_rules(loaded, service_id)
    shown, days, previous, following = _week(page, loaded, service_id, first)

    def week_url(day: date | None) -> str | None:
        if day is None:
            return None
        return f"{base_url}?{page.query(**{'from': day.isoformat()})}"

    return page.render(
        "booking_slots.html",
        section="public",
        status=status,
        frame_ancestors=FRAME,
        site_name=loaded.site.name,
        site_id=loaded.id,
        service_name=service.name(page.lang),
        duration=rules.duration_minutes,
        week_title=page._("book.week", day=long_date(page, shown)),
        days=days,
        previous_url=week_url(previous),
        next_url=week_url(following),
        action=action,
        moving=when(page, loaded, moving.starts_at) if moving else None,
        error=error,
        form=form or {},
        elsewhere=elsewhere_section(page, loaded.id, [service_id]),
        elsewhere_names=False,
    )


def other_slot_page(
    page: Page,
    loaded: LoadedSite,
    appt: Appointment,
    url: str,
    first: date | None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The slots of ``appt``'s service to pick another one from (posted to ``url``)."""
    return slots_page(
        page,
        loaded,
        appt.service,
        first=first,
        action=url,
        base_url=url,
        moving=appt,
        error=error,
        status=status,
    )


# ---- choosing a service, finding an appointment by code -----------------------------------
@router.get("/book/{site}", response_class=HTMLResponse)
def services(site: str, page: PageDep) -> Response:
    limited(page)
    loaded = _site(page, site)
    if loaded is None:
        return _not_found(page)
    return _services_page(page, loaded)


def _services_page(
    page: Page, loaded: LoadedSite, error: str | None = None, status: int = 200
) -> Response:
    bookable = booking.booking_services(loaded)
    shown = [
        {
            "id": s.id,
            "name": s.name(page.lang),
            "duration": s.appointments.duration_minutes if s.appointments else 0,
        }
        for s in bookable
    ]
    return page.render(
        "booking_services.html",
        section="public",
        status=status,
        frame_ancestors=FRAME,
        site_name=loaded.site.name,
        site_id=loaded.id,
        services=shown,
        error=error,
        # Each service other sites offer too, named (the page lists several services).
        elsewhere=elsewhere_section(page, loaded.id, [s.id for s in bookable]),
        elsewhere_names=True,
    )


@router.get("/embed/{site}/book")
def embedded(site: str, page: PageDep) -> Response:
    """The booking pages in a frame of the town's website (the administration's snippet):
    they carry ``embed=1`` from here on."""
    limited(page)
    loaded = _site(page, site)
    if loaded is None:
        return _not_found(page)
    return page.redirect(f"/book/{loaded.id}?{page.query(embed='1')}")


@router.get("/book/{site}/find", response_class=HTMLResponse)
def find(site: str, page: PageDep) -> Response:
    limited(page)
    loaded = _site(page, site)
    if loaded is None:
        return _not_found(page)
    code = page.request.query_params.get("code", "")[:32]
    appt = booking.by_code(page.ctx.engine, loaded.id, code) if code.strip() else None
    if appt is None:
        return _services_page(page, loaded, page._("book.code_unknown"), status=404)
    return page.redirect(f"/a/{appt.token}?{page.query()}")


# ---- booking ------------------------------------------------------------------------------
def _service_of(page: Page, loaded: LoadedSite, service: str) -> bool:
    found = loaded.site.service(service) if _IDENT.match(service) else None
    return found is not None and found.appointments is not None


@router.get("/book/{site}/{service}", response_class=HTMLResponse)
def slots(site: str, service: str, page: PageDep) -> Response:
    limited(page)
    loaded = _site(page, site)
    if loaded is None or not _service_of(page, loaded, service):
        return _not_found(page)
    first = parse_day(page.request.query_params.get("from"))
    url = f"/book/{loaded.id}/{service}"
    return slots_page(page, loaded, service, first=first, action=url, base_url=url)


def _contact(page: Page, form: dict[str, str]) -> tuple[Contact | None, str | None]:
    email = form.get("email", "").strip() or None
    phone = form.get("phone", "").strip() or None
    if email is not None and not _EMAIL.match(email):
        return None, page._("book.bad_email")
    if phone is not None and not _PHONE.match(phone):
        return None, page._("book.bad_phone")
    name = form.get("name", "").strip()[:100] or None
    return Contact(name, email, phone, page.lang), None


def start_of(form: dict[str, str]) -> int | None:
    text = form.get("start", "")
    return int(text) if text.isdigit() and len(text) <= 12 else None


def refused(page: Page, exc: ApiError) -> tuple[str, int]:
    if exc.body.code == "slot_full":
        return page._("book.full"), 409
    if exc.body.code == "not_booked":
        return page._("appt.not_booked"), 409
    return page._("book.refused", reason=exc.body.message), exc.status


async def read_form(request: Request) -> dict[str, str]:
    raw = await request.form()
    return {k: v[:300] for k, v in raw.items() if isinstance(v, str)}


@router.post("/book/{site}/{service}", response_class=HTMLResponse)
async def book(site: str, service: str, request: Request) -> Response:
    form = await read_form(request)
    page = await run_in_threadpool(Page, request)
    return await run_in_threadpool(_book, page, site, service, form)


def _book(page: Page, site: str, service: str, form: dict[str, str]) -> Response:
    limited(page)
    loaded = _site(page, site)
    if loaded is None or not _service_of(page, loaded, service):
        return _not_found(page)
    url = f"/book/{loaded.id}/{service}"
    start = start_of(form)
    contact, error = _contact(page, form)
    status = 422
    if start is None:
        error = error or page._("book.pick_slot")
    elif contact is not None:
        try:
            appt = booking.book(
                page.ctx.engine, loaded, service, start, page.ctx.now(), contact, "web"
            )
        except ApiError as exc:
            error, status = refused(page, exc)
        else:
            announce(page.ctx, loaded, appt, Kind.BOOKED)
            return page.redirect(f"/a/{appt.token}?{page.query(done='booked')}")
    first = loaded.site.day(start) if start else None
    return slots_page(
        page,
        loaded,
        service,
        first=first,
        action=url,
        base_url=url,
        error=error,
        form=form,
        status=status,
    )


# ---- an appointment: see, move, cancel ----------------------------------------------------
def _appointment(page: Page, token: str) -> tuple[LoadedSite, Appointment] | None:
    if not _TOKEN.match(token):
        return None
    appt = booking.by_token(page.ctx.engine, token)
    if appt is None:
        return None
    loaded = page.ctx.sites.get_by_engine(page.ctx.engine, appt.site)
    if loaded is None:
        return None
    page.use_site_languages(loaded.site.languages, appt.lang)
    return loaded, appt


@router.get("/a/{token}", response_class=HTMLResponse)
def appointment(token: str, page: PageDep) -> Response:
    limited(page)
    found = _appointment(page, token)
    if found is None:
        return page.render(
            "error.html", section="public", status=404, message=page._("appt.unknown")
        )
    loaded, appt = found
    done = page.request.query_params.get("done")
    notices = {"booked": "appt.booked", "moved": "appt.moved", "cancelled": "appt.cancelled_now"}
    service = loaded.site.service(appt.service)
    response = page.render(
        "booking_manage.html",
        section="public",
        frame_ancestors=FRAME,
        site_name=loaded.site.name,
        site_id=loaded.id,
        done=page._(notices[done]) if done in notices else None,
        appt={
            "token": appt.token,
            "code": appt.display_code,
            "status": appt.status,
            "status_text": page._(f"appt.status.{appt.status}"),
            "service": service.name(page.lang) if service else appt.service,
            "when": when(page, loaded, appt.starts_at),
            "iso": loaded.site.local(appt.starts_at).isoformat(),
            "booked": appt.status == booking.Status.BOOKED,
        },
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/a/{token}/move", response_class=HTMLResponse)
def move_form(token: str, page: PageDep) -> Response:
    limited(page)
    found = _appointment(page, token)
    if found is None:
        return _not_found(page)
    loaded, appt = found
    if appt.status != booking.Status.BOOKED:
        return page.redirect(f"/a/{token}?{page.query()}")
    first = parse_day(page.request.query_params.get("from"))
    return other_slot_page(page, loaded, appt, f"/a/{token}/move", first)


@router.post("/a/{token}/move", response_class=HTMLResponse)
async def move(token: str, request: Request) -> Response:
    form = await read_form(request)
    page = await run_in_threadpool(Page, request)
    return await run_in_threadpool(_move, page, token, form)


def _move(page: Page, token: str, form: dict[str, str]) -> Response:
    limited(page)
    found = _appointment(page, token)
    if found is None:
        return _not_found(page)
    loaded, appt = found
    start = start_of(form)
    status = 422
    if start is None:
        error = page._("book.pick_slot")
    else:
        try:
            moved = booking.move(page.ctx.engine, loaded, appt, start, page.ctx.now())
        except ApiError as exc:
            error, status = refused(page, exc)
        else:
            if moved.starts_at != appt.starts_at:
                announce(page.ctx, loaded, moved, Kind.MOVED)
            return page.redirect(f"/a/{token}?{page.query(done='moved')}")
    first = loaded.site.day(start) if start else None
    return other_slot_page(page, loaded, appt, f"/a/{token}/move", first, error, status)


@router.post("/a/{token}/cancel", response_class=HTMLResponse)
async def cancel(token: str, request: Request) -> Response:
    form = await read_form(request)
    page = await run_in_threadpool(Page, request)
    return await run_in_threadpool(_cancel, page, token, form.get("confirm") == "1")


def _cancel(page: Page, token: str, confirmed: bool) -> Response:
    """Cancels when the person ticked the confirmation (the box is required in the form; a
    post without it changes nothing)."""
    limited(page)
    found = _appointment(page, token)
    if found is None:
        return _not_found(page)
    loaded, appt = found
    if not confirmed:
        return page.redirect(f"/a/{token}?{page.query()}")
    try:
        cancelled = booking.cancel(page.ctx.engine, appt, page.ctx.now())
    except ApiError:
        return page.redirect(f"/a/{token}?{page.query()}")
    if cancelled.status != appt.status:
        announce(page.ctx, loaded, cancelled, Kind.CANCELLED)
    return page.redirect(f"/a/{token}?{page.query(done='cancelled')}")
