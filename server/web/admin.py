"""Administration of a site's services and counters (role admin).

Each change builds a new ``SiteConfig`` and stores it with ``server.sites.load_site``, the
function behind ``guichet site load``: the site's configuration version changes, and kiosks
and boards receive the new configuration at their next sync. Forms carry the version they
were read at; a save over a configuration changed meanwhile is refused, never merged blindly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from config.loader import ConfigError, load_model
from config.site import WEEKDAYS, SiteConfig
from server.sites import LoadedSite, load_site
from server.web import siteforms
from server.web.page import ADMINS, Page
from server.web.public import embed_code
from server.web.siteforms import FormError

router = APIRouter(include_in_schema=False)


def get_page(request: Request) -> Page:
    return Page(request)


PageDep = Annotated[Page, Depends(get_page)]


def admin_site(page: Page, site_id: str, *, action: bool = False) -> LoadedSite:
    return page.site(ADMINS, site_id, action=action)


async def admin_post(request: Request, site_id: str) -> tuple[Page, LoadedSite, FormData]:
    """A form post to an admin page: authorised (401/403), CSRF-checked (403)."""
    form = await request.form()
    page = await run_in_threadpool(Page, request)
    loaded = await run_in_threadpool(admin_site, page, site_id, action=True)
    page.check_csrf(form)
    return page, loaded, form


def store_config(
    page: Page, loaded: LoadedSite, form: Mapping[str, Any], cfg: SiteConfig
) -> dict[str, str]:
    """Stores ``cfg`` when the form was read at the current version; returns new tokens."""
    if form.get("version") not in (None, loaded.version):
        raise FormError("admin.stale")
    tokens = load_site(page.ctx.engine, cfg)
    page.ctx.notifier.config_changed(cfg.site.id)  # this process's streams (SQLite too)
    return tokens


def site_files_of(page: Page, site_id: str) -> list[str]:
    """The site files of the server's settings that describe ``site_id``."""
    found = []
    for path in page.ctx.settings.site_files:
        try:
            if load_model(SiteConfig, Path(path)).site.id == site_id:
                found.append(str(path))
        except ConfigError:
            continue
    return found


def form_error(page: Page, exc: FormError | None) -> dict[str, Any]:
    """What a form's template needs to show ``exc``: its text, in the page's language, and
    the input it is about (marked invalid, described by the text, focused)."""
    if exc is None:
        return {"error": None, "error_field": None}
    return {"error": page._(exc.key, **exc.values), "error_field": exc.field}


def _site_ref(loaded: LoadedSite) -> dict[str, str]:
    return {"id": loaded.id, "name": loaded.site.name}


# ---- overview -----------------------------------------------------------------------------
@router.get("/admin", response_class=HTMLResponse)
def admin_home(page: PageDep) -> Response:
    page.require(ADMINS)
    return page.choose_site("admin", "admin", page._("admin.title"))


def hours_lines(page: Page, hours: Mapping[Any, list[str]]) -> list[tuple[str, str]]:
    """Opening hours, consecutive days with the same periods grouped: ("lun.–ven.",
    "08:30-12:00") (apart, so that the periods stay left to right in an Arabic page)."""
    by_day = {str(getattr(d, "value", d)): tuple(p) for d, p in hours.items()}
    lines: list[tuple[str, str]] = []
    i = 0
    while i < len(WEEKDAYS):
        periods = by_day.get(WEEKDAYS[i])
        j = i
        while j + 1 < len(WEEKDAYS) and by_day.get(WEEKDAYS[j + 1]) == periods:
            j += 1
        if periods:
            days = page._(f"weekday_short.{i}")
            if j > i:
                days += "–" + page._(f"weekday_short.{j}")
            lines.append((days, ", ".join(periods)))
        i = j + 1
    return lines


@router.get("/admin/{site}", response_class=HTMLResponse)
def admin_overview(site: str, page: PageDep) -> Response:
    loaded = admin_site(page, site)
    cfg, lang = loaded.config, page.lang
    names = {s.id: s.names.get(lang) or next(iter(s.names.values())) for s in cfg.services}
    services = []
    for s in cfg.services:
        minutes = getattr(s, siteforms.CLOSING_FIELD, None)
        closing = (
            page._("admin.closing_minutes", n=minutes) if minutes else page._("admin.closing_rule")
        )
        services.append(
            {
                "id": s.id,
                "prefix": s.prefix,
                "name": names[s.id],
                "hours": hours_lines(page, s.hours),
                "closing": closing,
                "priority_allowed": s.priority_allowed,
            }
        )
    counters = [
        {"id": c.id, "label": c.label, "service_names": [names.get(x, x) for x in c.services]}
        for c in cfg.counters
    ]
    for path in site_files_of(page, site):
        page.session.flashes.append(("warning", "admin.site_file", {"path": path}))
    public_url, lang = page.ctx.settings.public_url, cfg.site.languages[0]
    code = embed_code(public_url, site, lang, page._("wait.title"))
    indicators_code = embed_code(
        public_url, site, lang, page._("ind.title"), page="/indicators", height=640
    )
    booking_code = (
        embed_code(public_url, site, lang, page._("book.title"), page="/book", height=640)
        if any(s.appointments is not None for s in cfg.services)
        else None
    )
    categories = [
        {
            "id": c.id,
            "name": c.name(page.lang),
            "service_names": [names[s.id] for s in cfg.services if s.category == c.id],
        }
        for c in cfg.categories
    ]
    return page.render(
        "admin_site.html",
        section="admin",
        tab="config",
        site=_site_ref(loaded),
        version=loaded.version,
        services=services,
        counters=counters,
        categories=categories,
        embed_code=code,
        indicators_code=indicators_code,
        booking_code=booking_code,
    )


# ---- services -----------------------------------------------------------------------------
def _service_form(
    page: Page,
    loaded: LoadedSite,
    values: dict[str, Any],
    *,
    new: bool,
    error: FormError | None = None,
) -> Response:
    weekdays = [{"code": d, "name": page._(f"weekday.{i}")} for i, d in enumerate(WEEKDAYS)]
    title = page._("admin.add_service") if new else page._("admin.edit_service")
    action = (
        f"/admin/{loaded.id}/services" if new else f"/admin/{loaded.id}/services/{values['id']}"
    )
    return page.render(
        "admin_service.html",
        section="admin",
        status=422 if error else 200,
        site=_site_ref(loaded),
        version=loaded.version,
        title=title,
        action=action,
        is_new=new,
        form=values,
        weekdays=weekdays,
        **form_error(page, error),
        site_languages=loaded.config.site.languages,
        has_closing=siteforms.has_closing_field(),
    )


@router.get("/admin/{site}/services/new", response_class=HTMLResponse)
def new_service(site: str, page: PageDep) -> Response:
    loaded = admin_site(page, site)
    return _service_form(page, loaded, siteforms.service_values(None), new=True)


@router.get("/admin/{site}/services/{service}", response_class=HTMLResponse)
def edit_service(site: str, service: str, page: PageDep) -> Response:
    loaded = admin_site(page, site)
    found = next((s for s in loaded.config.services if s.id == service), None)
    if found is None:
        return page.error(404, page._("error.not_found"))
    return _service_form(page, loaded, siteforms.service_values(found), new=False)


def _form_echo(form: Mapping[str, Any], languages: list[str]) -> dict[str, Any]:
    """The values just posted, to show the form again with its error."""
    return {
        "id": form.get("id", ""),
        "prefix": form.get("prefix", ""),
        "names": {lang: form.get(f"name_{lang}", "") for lang in languages},
        "hours": {d: form.get(f"hours_{d}", "") for d in WEEKDAYS},
        "mean_service_minutes": form.get("mean_service_minutes", ""),
        "priority_allowed": form.get("priority_allowed") in ("1", "on"),
        siteforms.CLOSING_FIELD: form.get(siteforms.CLOSING_FIELD, ""),
    }


async def _save_service(request: Request, site: str, service: str | None) -> Response:
    page, loaded, form = await admin_post(request, site)
    cfg = loaded.config
    old = next((s for s in cfg.services if s.id == service), None) if service else None
    if service is not None and old is None:
        return page.error(404, page._("error.not_found"))
    try:
        raw = siteforms.parse_service(form, list(cfg.site.languages), old)
        new_cfg = siteforms.save_service(cfg, raw, new=old is None)
        await run_in_threadpool(store_config, page, loaded, form, new_cfg)
    except FormError as exc:
        echo = _form_echo(form, list(cfg.site.languages))
        if old is not None:
            echo["id"] = old.id
        return _service_form(page, loaded, echo, new=old is None, error=exc)
    page.session.flash("success", "admin.saved")
    return page.redirect(f"/admin/{site}")


@router.post("/admin/{site}/services")
async def create_service(site: str, request: Request) -> Response:
    return await _save_service(request, site, None)


@router.post("/admin/{site}/services/{service}")
async def update_service(site: str, service: str, request: Request) -> Response:
    return await _save_service(request, site, service)


@router.post("/admin/{site}/services/{service}/delete")
async def remove_service(site: str, service: str, request: Request) -> Response:
    return await delete_part(
        request,
        site,
        lambda cfg: siteforms.delete_service(cfg, service),
        back=f"/admin/{site}/services/{service}",
    )


async def delete_part(
    request: Request, site: str, delete: Callable[[SiteConfig], SiteConfig], *, back: str
) -> Response:
    """Stores the site without what ``delete`` removes; on refusal, back to its form."""
    page, loaded, form = await admin_post(request, site)
    try:
        new_cfg = delete(loaded.config)
        await run_in_threadpool(store_config, page, loaded, form, new_cfg)
    except FormError as exc:
        page.session.flash("error", exc.key, **exc.values)
        return page.redirect(back)
    page.session.flash("success", "admin.deleted")
    return page.redirect(f"/admin/{site}")


# ---- counters -----------------------------------------------------------------------------
def _counter_form(
    page: Page,
    loaded: LoadedSite,
    values: dict[str, Any],
    *,
    new: bool,
    error: FormError | None = None,
) -> Response:
    lang = page.lang
    services = [
        {"id": s.id, "prefix": s.prefix, "name": s.names.get(lang) or next(iter(s.names.values()))}
        for s in loaded.config.services
    ]
    title = page._("admin.add_counter") if new else page._("admin.edit_counter")
    action = (
        f"/admin/{loaded.id}/counters" if new else f"/admin/{loaded.id}/counters/{values['id']}"
    )
    return page.render(
        "admin_counter.html",
        section="admin",
        status=422 if error else 200,
        site=_site_ref(loaded),
        version=loaded.version,
        title=title,
        action=action,
        is_new=new,
        form=values,
        services=services,
        **form_error(page, error),
    )


@router.get("/admin/{site}/counters/new", response_class=HTMLResponse)
def new_counter(site: str, page: PageDep) -> Response:
    loaded = admin_site(page, site)
    values = siteforms.counter_values(None, list(loaded.config.services))
    return _counter_form(page, loaded, values, new=True)


@router.get("/admin/{site}/counters/{counter}", response_class=HTMLResponse)
def edit_counter(site: str, counter: str, page: PageDep) -> Response:
    loaded = admin_site(page, site)
    found = next((c for c in loaded.config.counters if c.id == counter), None)
    if found is None:
        return page.error(404, page._("error.not_found"))
    values = siteforms.counter_values(found, list(loaded.config.services))
    return _counter_form(page, loaded, values, new=False)


async def _save_counter(request: Request, site: str, counter: str | None) -> Response:
    page, loaded, form = await admin_post(request, site)
    cfg = loaded.config
    old = next((c for c in cfg.counters if c.id == counter), None) if counter else None
    if counter is not None and old is None:
        return page.error(404, page._("error.not_found"))
    chosen = [str(v) for v in form.getlist("service")]
    try:
        raw = siteforms.parse_counter(form, chosen, old)
        new_cfg = siteforms.save_counter(cfg, raw, new=old is None)
        await run_in_threadpool(store_config, page, loaded, form, new_cfg)
    except FormError as exc:
        ranks = {s.id: form.get(f"rank_{s.id}", "") for s in cfg.services}
        echo = {
            "id": old.id if old else form.get("id", ""),
            "label": form.get("label", ""),
            "services": chosen,
            "ranks": ranks,
        }
        return _counter_form(page, loaded, echo, new=old is None, error=exc)
    page.session.flash("success", "admin.saved")
    return page.redirect(f"/admin/{site}")


@router.post("/admin/{site}/counters")
async def create_counter(site: str, request: Request) -> Response:
    return await _save_counter(request, site, None)


@router.post("/admin/{site}/counters/{counter}")
async def update_counter(site: str, counter: str, request: Request) -> Response:
    return await _save_counter(request, site, counter)


@router.post("/admin/{site}/counters/{counter}/delete")
async def remove_counter(site: str, counter: str, request: Request) -> Response:
    return await delete_part(
        request,
        site,
        lambda cfg: siteforms.delete_counter(cfg, counter),
        back=f"/admin/{site}/counters/{counter}",
    )
