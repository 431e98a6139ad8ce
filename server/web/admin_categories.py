"""Administration of the kiosk's categories (``/admin/{site}/categories/…``): the two-level
choice of a one-stop desk (categories first, then the needs of the one touched), the same
``[[categories]]`` and ``services[].category`` as the site file, validated by the same model.

A category has an id, a name per site language, a place in the kiosk's order, and services;
a service is in one category at most, so ticking it here takes it out of the one it was in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from config.site import CategoryConfig, SiteConfig
from server.sites import LoadedSite
from server.web.admin import (
    PageDep,
    admin_post,
    admin_site,
    delete_part,
    form_error,
    store_config,
)
from server.web.page import Page
from server.web.siteforms import FormError, _text, _validate

router = APIRouter(include_in_schema=False)


def category_values(cfg: SiteConfig, category: CategoryConfig | None) -> dict[str, Any]:
    """What the form shows: id, names, place (1 = first) and the services in it."""
    if category is None:
        return {"id": "", "names": {}, "position": len(cfg.categories) + 1, "services": []}
    position = [c.id for c in cfg.categories].index(category.id) + 1
    services = [s.id for s in cfg.services if s.category == category.id]
    return {
        "id": category.id,
        "names": dict(category.names),
        "position": position,
        "services": services,
    }


def parse_category(
    form: Mapping[str, Any], languages: list[str], chosen: list[str], old: CategoryConfig | None
) -> tuple[dict[str, Any], int]:
    """The category a form describes (``CategoryConfig`` fields) and its place (1 = first)."""
    names = {lang: _text(form, f"name_{lang}") for lang in languages}
    names = {lang: name for lang, name in names.items() if name}
    if not names:
        raise FormError("admin.err.category_name", f"name_{languages[0]}")
    text = _text(form, "position")
    if not text.isdigit() or not 1 <= int(text) <= 99:
        raise FormError("admin.err.position", "position")
    if not chosen:
        raise FormError("admin.err.category_needs_service", "service")
    raw: dict[str, Any] = {"id": old.id if old else _text(form, "id"), "names": names}
    if old is not None:
        raw["icon"] = old.icon  # set in the site file; this form does not edit it
    return raw, int(text)


def save_category(
    cfg: SiteConfig, raw: dict[str, Any], position: int, chosen: list[str], *, new: bool
) -> SiteConfig:
    """``cfg`` with the category at ``position`` holding exactly the ``chosen`` services."""
    data = cfg.model_dump(mode="json")
    ids = [c["id"] for c in data["categories"]]
    if new and raw["id"] in ids:
        raise FormError("admin.err.id_taken", "id")
    others = [c for c in data["categories"] if c["id"] != raw["id"]]
    others.insert(min(position, len(others) + 1) - 1, raw)
    data["categories"] = others
    for service in data["services"]:
        if service["id"] in chosen:
            service["category"] = raw["id"]
        elif service.get("category") == raw["id"]:
            service["category"] = None
    return _validate(data)


def delete_category(cfg: SiteConfig, category_id: str) -> SiteConfig:
    """``cfg`` without the category; its services go back to the kiosk's first screen."""
    data = cfg.model_dump(mode="json")
    data["categories"] = [c for c in data["categories"] if c["id"] != category_id]
    for service in data["services"]:
        if service.get("category") == category_id:
            service["category"] = None
    return _validate(data)


def _form(
    page: Page,
    loaded: LoadedSite,
    values: dict[str, Any],
    *,
    new: bool,
    error: FormError | None = None,
) -> Response:
    lang = page.lang
    services = []
    for s in loaded.config.services:
        elsewhere = s.category if s.category not in (None, values["id"]) else None
        holder = next((c for c in loaded.config.categories if c.id == elsewhere), None)
        services.append(
            {
                "id": s.id,
                "prefix": s.prefix,
                "name": s.names.get(lang) or next(iter(s.names.values())),
                "in_other": holder.name(lang) if holder else None,
            }
        )
    site = loaded.id
    return page.render(
        "admin_category.html",
        section="admin",
        status=422 if error else 200,
        site={"id": site, "name": loaded.site.name},
        version=loaded.version,
        title=page._("admin.add_category") if new else page._("admin.edit_category"),
        action=f"/admin/{site}/categories" + ("" if new else f"/{values['id']}"),
        is_new=new,
        form=values,
        services=services,
        site_languages=loaded.config.site.languages,
        **form_error(page, error),
    )


@router.get("/admin/{site}/categories/new", response_class=HTMLResponse)
def new_category(site: str, page: PageDep) -> Response:
    loaded = admin_site(page, site)
    return _form(page, loaded, category_values(loaded.config, None), new=True)


@router.get("/admin/{site}/categories/{category}", response_class=HTMLResponse)
def edit_category(site: str, category: str, page: PageDep) -> Response:
    loaded = admin_site(page, site)
    found = next((c for c in loaded.config.categories if c.id == category), None)
    if found is None:
        return page.error(404, page._("error.not_found"))
    return _form(page, loaded, category_values(loaded.config, found), new=False)


async def _save(request: Request, site: str, category: str | None) -> Response:
    page, loaded, form = await admin_post(request, site)
    cfg = loaded.config
    old = next((c for c in cfg.categories if c.id == category), None) if category else None
    if category is not None and old is None:
        return page.error(404, page._("error.not_found"))
    languages = list(cfg.site.languages)
    chosen = [str(v) for v in form.getlist("service")]
    try:
        raw, position = parse_category(form, languages, chosen, old)
        new_cfg = save_category(cfg, raw, position, chosen, new=old is None)
        await run_in_threadpool(store_config, page, loaded, form, new_cfg)
    except FormError as exc:
        echo = {
            "id": old.id if old else form.get("id", ""),
            "names": {lang: form.get(f"name_{lang}", "") for lang in languages},
            "position": form.get("position", ""),
            "services": chosen,
        }
        return _form(page, loaded, echo, new=old is None, error=exc)
    page.session.flash("success", "admin.saved")
    return page.redirect(f"/admin/{site}")


@router.post("/admin/{site}/categories")
async def create_category(site: str, request: Request) -> Response:
    return await _save(request, site, None)


@router.post("/admin/{site}/categories/{category}")
async def update_category(site: str, category: str, request: Request) -> Response:
    return await _save(request, site, category)


@router.post("/admin/{site}/categories/{category}/delete")
async def remove_category(site: str, category: str, request: Request) -> Response:
    return await delete_part(
        request,
        site,
        lambda cfg: delete_category(cfg, category),
        back=f"/admin/{site}/categories/{category}",
    )
