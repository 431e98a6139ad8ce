"""Administration of a service's appointment slots (``/admin/{site}/services/{id}/appointments``):
the same fields as ``[services.appointments]`` in the site file, validated by the same model."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from config.site import WEEKDAYS, AppointmentConfig, ServiceConfig, SiteConfig
from server.appointments.calendar import check_site
from server.sites import LoadedSite
from server.web.admin import PageDep, admin_post, admin_site, form_error, store_config
from server.web.page import Page
from server.web.siteforms import FormError, _hours, _text, _validate

router = APIRouter(include_in_schema=False)

NUMBERS = ("duration_minutes", "parallel", "horizon_days", "min_notice_minutes")


def values_of(rules: AppointmentConfig | None) -> dict[str, Any]:
    if rules is None:
        return {
            "enabled": False,
            "duration_minutes": 15,
            "parallel": 1,
            "horizon_days": 30,
            "min_notice_minutes": 60,
            "hours": {},
            "closures": "",
            "public_holidays": "FR",
            "holiday_subdivision": "",
        }
    return {
        "enabled": True,
        **{k: getattr(rules, k) for k in NUMBERS},
        "hours": {day.value: ", ".join(periods) for day, periods in rules.hours.items()},
        "closures": "\n".join(d.isoformat() for d in rules.closures),
        "public_holidays": rules.public_holidays,
        "holiday_subdivision": rules.holiday_subdivision or "",
    }


def parse(form: Mapping[str, Any]) -> dict[str, Any] | None:
    """The appointment rules a form describes (None: the service takes none)."""
    if form.get("enabled") not in ("1", "on"):
        return None
    raw: dict[str, Any] = {"hours": _hours(form)}
    if not raw["hours"]:
        raise FormError("admin.appt.err.hours", "hours_mon")
    for key in NUMBERS:
        text = _text(form, key)
        if not text.isdigit():
            raise FormError("admin.err.whole_minutes", key)
        raw[key] = int(text)
    closures = []
    for word in re.split(r"[\s,;]+", _text(form, "closures")):
        if not word:
            continue
        try:
            closures.append(date.fromisoformat(word).isoformat())
        except ValueError:
            raise FormError("admin.appt.err.date", "closures", value=word) from None
    raw["closures"] = closures
    raw["public_holidays"] = _text(form, "public_holidays").upper()
    raw["holiday_subdivision"] = _text(form, "holiday_subdivision") or None
    return raw


def with_rules(cfg: SiteConfig, service: str, rules: dict[str, Any] | None) -> SiteConfig:
    data = cfg.model_dump(mode="json")
    for s in data["services"]:
        if s["id"] == service:
            s["appointments"] = rules
    new = _validate(data)
    try:
        check_site(new)
    except ValueError:
        raise FormError("admin.appt.err.holidays", "holiday_subdivision") from None
    return new


def _page(
    page: Page,
    loaded: LoadedSite,
    service: ServiceConfig,
    values: dict[str, Any],
    error: FormError | None = None,
) -> Response:
    weekdays = [{"code": d, "name": page._(f"weekday.{i}")} for i, d in enumerate(WEEKDAYS)]
    return page.render(
        "admin_appointments.html",
        section="admin",
        status=422 if error else 200,
        site={"id": loaded.id, "name": loaded.site.name},
        service={"id": service.id, "name": service.names.get(page.lang) or service.id},
        version=loaded.version,
        form=values,
        weekdays=weekdays,
        **form_error(page, error),
    )


def _service(loaded: LoadedSite, service_id: str) -> ServiceConfig | None:
    return next((s for s in loaded.config.services if s.id == service_id), None)


@router.get("/admin/{site}/services/{service}/appointments", response_class=HTMLResponse)
def edit(site: str, service: str, page: PageDep) -> Response:
    loaded = admin_site(page, site)
    found = _service(loaded, service)
    if found is None:
        return page.error(404, page._("error.not_found"))
    return _page(page, loaded, found, values_of(found.appointments))


@router.post("/admin/{site}/services/{service}/appointments")
async def save(site: str, service: str, request: Request) -> Response:
    page, loaded, form = await admin_post(request, site)
    found = _service(loaded, service)
    if found is None:
        return page.error(404, page._("error.not_found"))
    try:
        new_cfg = with_rules(loaded.config, service, parse(form))
        await run_in_threadpool(store_config, page, loaded, form, new_cfg)
    except FormError as exc:
        echo: dict[str, Any] = {
            k: form.get(k, "") for k in (*NUMBERS, "closures", "public_holidays")
        }
        echo["holiday_subdivision"] = form.get("holiday_subdivision", "")
        echo["enabled"] = form.get("enabled") in ("1", "on")
        echo["hours"] = {d: form.get(f"hours_{d}", "") for d in WEEKDAYS}
        return _page(page, loaded, found, echo, exc)
    page.session.flash("success", "admin.saved")
    return page.redirect(f"/admin/{site}/services/{service}")
