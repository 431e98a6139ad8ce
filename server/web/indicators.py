"""The public indicators page of a site (``/indicators/{site}``) and its embeddable version
(``/embed/{site}/indicators``): last month's waits per service, share within 15 minutes,
busiest and quietest hours, from ``server.indicators`` (the JSON of
``GET /api/v1/public/sites/{site}/indicators``), written in the page's language."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from server.indicators import IndicatorCache, check_month, last_month
from server.models import IndicatorFigures, PublicIndicators
from server.web import format
from server.web.page import Page, Refusal
from server.web.public import PageDep, limited

router = APIRouter(include_in_schema=False)


def _values(page: Page, site_id: str) -> dict[str, Any]:
    ctx = page.ctx
    loaded = ctx.sites.get_by_engine(ctx.engine, site_id)
    if loaded is None:
        raise Refusal(page.error(404, page._("error.not_found")))
    page.use_site_languages(loaded.site.languages)
    today = loaded.site.day(ctx.now())
    month = page.request.query_params.get("month") or last_month(today)
    try:
        check_month(month, today)
    except ValueError:
        raise Refusal(page.error(422, page._("ind.bad_month"))) from None
    request: Request = page.request
    cache: IndicatorCache = request.app.state.indicators
    found = cache.get(ctx.engine, loaded, month)
    return values(page, found)


def values(page: Page, ind: PublicIndicators) -> dict[str, Any]:
    loc = format.Localized(page.lang)

    def figures(f: IndicatorFigures) -> dict[str, Any]:
        return {**loc.waits(f), "passages": loc.number(f.passages)}

    def appointment(f: IndicatorFigures) -> dict[str, str]:
        return {
            "count": loc.number(f.appointments),
            "delay": loc.minutes(f.appointment_delay_p50_seconds),
            "on_time": loc.share(f.appointment_on_time_share),
        }

    def hours(items: list[Any]) -> list[dict[str, str]]:
        return [
            {
                "range": loc.hour_range(h.hour),
                "per_day": page._("ind.per_day", n=loc.number(h.arrivals_per_day, 1)),
            }
            for h in items
        ]

    answers = sum(s.satisfaction_answers for s in ind.services)
    good = sum(
        round((s.satisfaction_good_share or 0) * s.satisfaction_answers) for s in ind.services
    )

    def satisfaction(share: float | None, n: int) -> str:
        if not n:
            return format.UNKNOWN
        return page._.n("ind.satisfied_n", n, share=loc.share(share), n=loc.number(n))

    first = date.fromisoformat(ind.month + "-01")
    return {
        "site_id": ind.site,
        "site_name": ind.name,
        "month": loc.month(first),
        "month_code": ind.month,
        "tickets": loc.number(ind.tickets),
        "days_open": loc.number(ind.days_open),
        "has_data": ind.tickets > 0,
        "whole": figures(ind.site_figures),
        "services": [
            {
                "name": s.names.get(page.lang) or next(iter(s.names.values()), s.id),
                "satisfied": satisfaction(s.satisfaction_good_share, s.satisfaction_answers),
                **figures(s),
            }
            for s in ind.services
            if s.passages
        ],
        "has_answers": answers > 0,
        "appointments": [
            {
                "name": s.names.get(page.lang) or next(iter(s.names.values()), s.id),
                **appointment(s),
            }
            for s in ind.services
            if s.appointments
        ],
        "whole_appointments": appointment(ind.site_figures),
        "whole_satisfied": satisfaction(good / answers if answers else None, answers),
        "busiest": hours(ind.busiest_hours),
        "quietest": hours(ind.quietest_hours),
        "json_url": f"/api/v1/public/sites/{ind.site}/indicators?month={ind.month}",
    }


@router.get("/indicators/{site}", response_class=HTMLResponse)
def indicators_page(site: str, page: PageDep) -> Response:
    limited(page)
    response = page.render("indicators.html", section="public", **_values(page, site))
    response.headers["Cache-Control"] = "public, max-age=600"
    return response


@router.get("/embed/{site}/indicators", response_class=HTMLResponse)
def indicators_embed(site: str, page: PageDep) -> Response:
    """The indicators for an iframe on the town's website (any site may frame it)."""
    limited(page)
    response = page.render("embed_indicators.html", frame_ancestors="*", **_values(page, site))
    response.headers["Cache-Control"] = "public, max-age=600"
    return response
