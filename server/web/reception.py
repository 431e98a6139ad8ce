"""Reception: today's expected appointments, marked present with a note the counter agent
sees when calling; and booking for the person at the desk (a service, then one click on a
time). Staff of the site only; every change goes through the rules the API uses."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from server.appointments import booking
from server.appointments.announce import announce
from server.appointments.booking import Contact, Status
from server.appointments.checkin import check_in
from server.appointments.messages import Kind
from server.errors import ApiError
from server.states import window_floor
from server.web.booking import _contact, start_of
from server.web.console import PageDep, staff_site
from server.web.dates import long_date, when
from server.web.page import STAFF, Page

router = APIRouter(include_in_schema=False)

SLOTS_SHOWN = 24
"""Free times offered at the desk: the next ones, across days."""


@router.get("/reception", response_class=HTMLResponse)
def reception_home(page: PageDep) -> Response:
    page.require(STAFF)
    return page.choose_site("reception", "console", page._("reception.title"))


@router.get("/reception/{site}", response_class=HTMLResponse)
def reception(site: str, page: PageDep) -> Response:
    loaded = staff_site(page, site)
    now = page.ctx.now()
    today, _floor = window_floor(loaded, now)
    rows = []
    for appt in booking.of_day(page.ctx.engine, loaded.id, today):
        if appt.status == Status.CANCELLED:
            continue
        service = loaded.site.service(appt.service)
        rows.append(
            {
                "id": appt.id,
                "time": loaded.site.local(appt.starts_at).strftime("%H:%M"),
                "service": service.name(page.lang) if service else appt.service,
                "name": appt.name or "",
                "code": appt.display_code,
                "present": appt.status == Status.CHECKED_IN,
                "note": appt.note,
            }
        )
    booked = page.request.query_params.get("booked", "")[:16]
    found = booking.by_code(page.ctx.engine, loaded.id, booked) if booked else None
    return page.render(
        "reception.html",
        section="console",
        site={"id": loaded.id, "name": loaded.site.name},
        today=long_date(page, loaded.site.day(now)),
        rows=rows,
        services=[
            {"id": s.id, "name": s.name(page.lang)} for s in booking.booking_services(loaded)
        ],
        booked={"code": found.display_code, "when": when(page, loaded, found.starts_at)}
        if found
        else None,
    )


async def _post(request: Request, site: str) -> tuple[Page, dict[str, str]]:
    raw = await request.form()
    form = {k: v[:300] for k, v in raw.items() if isinstance(v, str)}
    page = await run_in_threadpool(Page, request)
    await run_in_threadpool(staff_site, page, site, action=True)
    page.check_csrf(raw)
    return page, form


@router.post("/reception/{site}/check-in")
async def mark_present(site: str, request: Request) -> Response:
    page, form = await _post(request, site)
    return await run_in_threadpool(_mark_present, page, site, form)


def _mark_present(page: Page, site: str, form: dict[str, str]) -> Response:
    note = form.get("note", "").strip()[:200]
    try:
        done = check_in(page.ctx, page.principal, site, form.get("code", ""), note or None)
    except ApiError as exc:
        page.session.flash("error", "reception.refused", reason=exc.body.message)
    else:
        page.session.flash("success", "reception.present", ticket=done.ticket.label)
    return page.redirect(f"/reception/{site}")


def _slots(page: Page, site: str, service: str) -> tuple[Any, list[dict[str, Any]]]:
    loaded = staff_site(page, site)
    found = loaded.site.service(service)
    if found is None or found.appointments is None:
        return loaded, []
    slots = booking.free_slots(page.ctx.engine, loaded, service, page.ctx.now())[:SLOTS_SHOWN]
    shown = []
    for s in slots:
        local = loaded.site.local(s.start)
        shown.append(
            {
                "start": int(s.start),
                "day": long_date(page, local.date()),
                "time": local.strftime("%H:%M"),
            }
        )
    return loaded, shown


@router.get("/reception/{site}/book/{service}", response_class=HTMLResponse)
def book_form(site: str, service: str, page: PageDep) -> Response:
    return _book_page(page, site, service)


def _book_page(
    page: Page,
    site: str,
    service: str,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    loaded, slots = _slots(page, site, service)
    found = loaded.site.service(service)
    if found is None or found.appointments is None:
        return page.error(404, page._("error.not_found"))
    days: dict[str, list[dict[str, Any]]] = {}
    for s in slots:
        days.setdefault(s["day"], []).append(s)
    return page.render(
        "reception_book.html",
        section="console",
        status=422 if error else 200,
        site={"id": loaded.id, "name": loaded.site.name},
        service={"id": service, "name": found.name(page.lang)},
        days=days,
        error=error,
        form=form or {},
    )


@router.post("/reception/{site}/book/{service}")
async def book(site: str, service: str, request: Request) -> Response:
    page, form = await _post(request, site)
    return await run_in_threadpool(_book, page, site, service, form)


def _book(page: Page, site: str, service: str, form: dict[str, str]) -> Response:
    loaded = staff_site(page, site, action=True)
    contact, error = _contact(page, form)
    start = start_of(form)
    if contact is not None and start is not None:
        lang = form.get("lang", "")
        if lang in loaded.site.languages:
            contact = Contact(contact.name, contact.email, contact.phone, lang)
        try:
            appt = booking.book(
                page.ctx.engine, loaded, service, start, page.ctx.now(), contact, "console"
            )
        except ApiError as exc:
            error = page._("book.refused", reason=exc.body.message)
        else:
            announce(page.ctx, loaded, appt, Kind.BOOKED)
            return page.redirect(f"/reception/{site}?{urlencode({'booked': appt.code})}")
    return _book_page(page, site, service, error or page._("book.pick_slot"), form)
