"""What the follow page offers besides following (docs/appointments.md): an appointment told it
runs late keeps waiting or books another slot (``server.appointments.punctuality``); a walk-in
leaves a mobile number or e-mail address to be told when few people are ahead
(``server.stepout``). Like the page itself and its feedback form, the follow token is the only
key: no session, no cookie."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from server import stepout
from server.appointments import punctuality
from server.appointments.models import EMAIL_RE, PHONE_RE
from server.errors import ApiError
from server.models import TOKEN_RE
from server.web.booking import other_slot_page, parse_day, read_form, refused, start_of
from server.web.page import Page
from server.web.public import limited

router = APIRouter(include_in_schema=False)

_TOKEN = re.compile(TOKEN_RE)
_EMAIL = re.compile(EMAIL_RE)
_PHONE = re.compile(PHONE_RE)


def _back(token: str, lang: str, anchor: str = "", **query: str) -> str:
    params = {**query, **({"lang": lang} if lang.isalpha() else {})}
    return f"/t/{token}" + (f"?{urlencode(params)}" if params else "") + anchor


def _gone(page: Page) -> Response:
    return page.error(404, page._("follow.unknown"))


# ---- an appointment running late ------------------------------------------------------------
@router.post("/t/{token}/late")
async def late_choice(token: str, request: Request) -> Response:
    form = await read_form(request)
    page = await run_in_threadpool(Page, request)
    limited(page)
    if not _TOKEN.match(token) or form.get("choice") != punctuality.Choice.WAIT:
        return page.error(422, page._("error.bad_request"))
    try:
        await run_in_threadpool(punctuality.choose_wait, page.ctx, token)
    except ApiError:
        return _gone(page)
    return page.finish(
        Response(status_code=303, headers={"Location": _back(token, form.get("lang", ""))})
    )


def _rebook_page(
    page: Page, token: str, form: dict[str, str] | None = None, start: int | None = None
) -> Response:
    try:
        loaded, appt, _ticket = punctuality.told(page.ctx, token)
    except ApiError:
        return _gone(page)
    page.use_site_languages(loaded.site.languages, appt.lang)
    url = f"/t/{token}/rebook"
    error, status = None, 200
    if form is not None:
        status = 422
        if start is None:
            error = page._("book.pick_slot")
        else:
            try:
                new = punctuality.rebook(page.ctx, token, start, "web")
            except ApiError as exc:
                if exc.body.code == "called":
                    error, status = page._("late.rebook_gone"), 409
                else:
                    error, status = refused(page, exc)
            else:
                where = f"/a/{new.token}?{urlencode({'done': 'booked', 'lang': page.lang})}"
                return page.redirect(where)
    first = loaded.site.day(start) if start else None
    if form is None:
        first = parse_day(page.request.query_params.get("from"))
    return other_slot_page(page, loaded, appt, url, first, error, status)


@router.get("/t/{token}/rebook", response_class=HTMLResponse)
def rebook_form(token: str, request: Request) -> Response:
    page = Page(request)
    limited(page)
    return _rebook_page(page, token)


@router.post("/t/{token}/rebook", response_class=HTMLResponse)
async def rebook(token: str, request: Request) -> Response:
    form = await read_form(request)
    page = await run_in_threadpool(Page, request)
    limited(page)
    return await run_in_threadpool(_rebook_page, page, token, form, start_of(form))


# ---- a walk-in steps out --------------------------------------------------------------------
def contact_of(text: str) -> tuple[str | None, str | None] | None:
    """(e-mail, phone) from what was typed in the one field, or None when it is neither."""
    text = text.strip()
    if "@" in text:
        return (text, None) if _EMAIL.match(text) else None
    return (None, text) if _PHONE.match(text) else None


@router.post("/t/{token}/step-out")
async def step_out(token: str, request: Request) -> Response:
    form = await read_form(request)
    page = await run_in_threadpool(Page, request)
    limited(page)
    lang = form.get("lang", "")
    if not _TOKEN.match(token):
        return _gone(page)
    contact = contact_of(form.get("contact", ""))
    if contact is None:
        where = _back(token, lang, "#step-out", step_out="bad")
    else:
        try:
            await run_in_threadpool(stepout.leave, page.ctx, token, *contact, lang or "fr")
        except ApiError as exc:
            if exc.status == 404:
                return _gone(page)
        where = _back(token, lang, "#step-out")
    return page.finish(Response(status_code=303, headers={"Location": where}))


@router.post("/t/{token}/step-out/forget")
async def step_out_forget(token: str, request: Request) -> Response:
    form = await read_form(request)
    page = await run_in_threadpool(Page, request)
    limited(page)
    if not _TOKEN.match(token):
        return _gone(page)
    try:
        await run_in_threadpool(stepout.withdraw, page.ctx, token)
    except ApiError:
        return _gone(page)
    where = _back(token, form.get("lang", ""), "#step-out")
    return page.finish(Response(status_code=303, headers={"Location": where}))
