"""The statistics page (roles manager and admin) and the CSV export of tickets.

The figures are those of ``server.stats.site_stats`` (definitions in docs/statistics.md); this
module only lays them out, draws them (``charts``) and adds the arrivals heatmap
(``data.arrivals``, same definition of an arrival).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from server import db, feedback
from server.appointments import booking
from server.appointments.indicators import indicators as appointment_indicators
from server.export import appointments_csv_response, csv_response
from server.models import Figures, SiteStats
from server.sites import LoadedSite
from server.stats import FIRST_DAY, LAST_DAY, MAX_DAYS, site_stats
from server.web import charts, data, format
from server.web.page import MANAGERS, Page, Refusal

router = APIRouter(include_in_schema=False)

DEFAULT_DAYS = 7
DAILY_AXIS_DAYS = 62
"""Periods shorter than this chart every day (days without tickets included)."""
HEAT_LEVELS = 6


def get_page(request: Request) -> Page:
    return Page(request)


PageDep = Annotated[Page, Depends(get_page)]


def _site(page: Page, site_id: str) -> LoadedSite:
    return page.site(MANAGERS, site_id)


def period(page: Page, loaded: LoadedSite) -> tuple[date, date]:
    """The period asked for (``from``, ``to``), by default the last seven days; at most
    ``MAX_DAYS`` days, ending today at the latest."""
    today = loaded.site.day(page.ctx.now())

    def parse(name: str, default: date) -> date:
        try:
            value = date.fromisoformat(page.request.query_params.get(name, ""))
        except ValueError:
            return default
        if not FIRST_DAY <= value <= LAST_DAY:
            bounds = f"{FIRST_DAY.isoformat()} – {LAST_DAY.isoformat()}"
            raise Refusal(page.error(422, page._("stats.out_of_range", bounds=bounds)))
        return value

    last = min(parse("to", today), today)
    first = parse("from", last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        first, last = last, first
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    return first, last


def _names(loaded: LoadedSite, lang: str) -> dict[str, str]:
    return {s.id: s.name(lang) for s in loaded.site.services}


def _heat_level(count: int, top: int) -> int:
    if count <= 0 or top <= 0:
        return 0
    return max(1, round(count / top * (HEAT_LEVELS - 1)))


def heatmap_values(page: Page, arrivals: data.Arrivals) -> dict[str, Any]:
    """Rows Monday..Sunday (only days with arrivals), columns the hours with arrivals."""
    hours = arrivals.hours()
    weekdays = arrivals.weekdays()
    top = max(arrivals.counts.values(), default=0)
    rows: list[dict[str, Any]] = []
    for d in weekdays:
        cells = [arrivals.counts.get((d, h), 0) for h in hours]
        rows.append(
            {
                "name": page._(f"weekday.{d}"),
                "cells": [{"count": c, "level": _heat_level(c, top)} for c in cells],
            }
        )
    busiest = sorted(arrivals.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    loc = format.Localized(page.lang)
    peaks = [f"{page._(f'weekday.{d}')} {loc.hour_range(h)}" for (d, h), _c in busiest]
    labels = [loc.hour(h) for h in hours]
    svg = charts.arrivals_dots(
        [r["name"] for r in rows],
        labels,
        [[c["count"] for c in r["cells"]] for r in rows],
        title=page._("stats.heatmap"),
        no_data=page._("stats.no_data"),
        rtl=page._.direction == "rtl",
    )
    return {"hours": labels, "rows": rows, "peaks": peaks, "svg": svg}


def stats_values(page: Page, loaded: LoadedSite, stats: SiteStats) -> dict[str, Any]:
    names = _names(loaded, page.lang)
    first, last = stats.date_from, stats.date_to
    if (last - first).days < DAILY_AXIS_DAYS:
        days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    else:
        days = sorted({d.day.isoformat() for d in stats.days})
    services = [s.id for s in loaded.site.services if any(d.service == s.id for d in stats.days)]
    by_key = {(d.day.isoformat(), d.service): d for d in stats.days}
    loc = format.Localized(page.lang)
    order = {s.id: i for i, s in enumerate(loaded.site.services)}

    def figures(f: Figures) -> dict[str, Any]:
        return {
            "tickets": loc.number(f.tickets),
            "passages": loc.number(f.passages),
            "transferred_in": loc.number(f.transferred_in),
            "transferred_out": loc.number(f.transferred_out),
            "called": loc.number(f.called),
            "never_called": loc.number(f.never_called),
            **loc.waits(f),
            "service_time": loc.minutes(f.mean_service_seconds),
            "no_shows": loc.number(f.no_shows),
        }

    rows = [
        {
            "day": loc.day(d.day),
            "iso_day": d.day.isoformat(),
            "service": names.get(d.service, d.service),
            **figures(d),
        }
        for d in stats.days
    ]
    hours = [
        {
            "hour": loc.hour_range(h.hour),
            "scope": page._("stats.whole_site") if h.service is None else names.get(h.service),
            "site": h.service is None,
            "arrivals": loc.number(h.arrivals),
            "calls": loc.number(h.calls),
            **loc.waits(h),
        }
        for h in sorted(stats.hours, key=lambda h: (order.get(h.service or "", -1), h.hour))
    ]

    def minutes_or_none(day: str, service: str, field: str) -> float | None:
        found = by_key.get((day, service))
        value = getattr(found, field) if found else None
        return None if value is None else round(value / 60, 1)

    tickets_series = {
        names.get(s, s): [by_key[(d, s)].tickets if (d, s) in by_key else 0 for d in days]
        for s in services
    }
    medians = {
        names.get(s, s): [minutes_or_none(d, s, "waiting_p50_seconds") for d in days]
        for s in services
    }
    p90s = {
        names.get(s, s): [minutes_or_none(d, s, "waiting_p90_seconds") for d in days]
        for s in services
    }
    no_data = page._("stats.no_data")
    axis = [loc.day_month(date.fromisoformat(d)) for d in days]
    rtl = page._.direction == "rtl"
    tickets_svg = charts.tickets_per_day(
        axis,
        tickets_series,
        title=page._("stats.tickets_chart"),
        no_data=no_data,
        rtl=rtl,
        number=loc.number,
    )
    wait_svg = charts.waiting_per_day(
        axis,
        medians,
        p90s,
        title=page._("stats.wait_chart"),
        median_label=lambda n: f"{n} · {page._('stats.p50')}",
        p90_label=lambda n: f"{n} · {page._('stats.p90')}",
        no_data=no_data,
        minutes=lambda v: page._("stats.minutes", n=loc.number(v, 0 if v == int(v) else 1)),
        rtl=rtl,
    )
    return {
        "rows": rows,
        "hours": hours,
        "total": figures(stats.total),
        "services": [
            {"service": names.get(x.service, x.service), **figures(x)} for x in stats.services
        ],
        "period_text": page._("stats.period_text", first=loc.day(first), last=loc.day(last)),
        "tickets_svg": tickets_svg,
        "wait_svg": wait_svg,
    }


@router.get("/stats", response_class=HTMLResponse)
def stats_home(page: PageDep) -> Response:
    page.require(MANAGERS)
    return page.choose_site("stats", "stats", page._("stats.title"))


def satisfaction_values(
    page: Page, loaded: LoadedSite, first: date, last: date
) -> list[dict[str, Any]]:
    """Answers to "How was your visit?" per service over the period (docs/statistics.md)."""
    with db.read(page.ctx.engine) as conn:
        found = feedback.per_service(conn, loaded.id, first, last)
    names = _names(loaded, page.lang)
    loc = format.Localized(page.lang)
    return [
        {
            "service": names.get(s.service, s.service),
            "answers": loc.number(s.answers),
            "good": loc.share(s.good / s.answers),
            "so_so": loc.share(s.so_so / s.answers),
            "bad": loc.share(s.bad / s.answers),
        }
        for s in found.values()
    ]


def appointment_values(
    page: Page, loaded: LoadedSite, first: date, last: date
) -> dict[str, Any] | None:
    """The appointment indicators of the period (docs/statistics.md "Appointments"); None
    when no service of the site takes appointments."""
    if not booking.booking_services(loaded):
        return None
    found = appointment_indicators(page.ctx.engine, loaded, first, last, page.ctx.now())
    names = _names(loaded, page.lang)
    loc = format.Localized(page.lang)

    def slot(start: int | None, ahead: int | None) -> str:
        if start is None:
            return page._("stats.appt.none_free")
        local = loaded.site.local(start)
        when = f"{loc.day(local.date())} {local:%H:%M}"
        return page._("stats.appt.slot", when=when, n=loc.number(ahead))

    return {
        "rows": [
            {
                "day": loc.day(d.day),
                "iso_day": d.day.isoformat(),
                "service": names.get(d.service, d.service),
                "service_id": d.service,
                "booked": loc.number(d.booked),
                "checked_in": loc.number(d.checked_in),
                "no_shows": loc.number(d.no_shows),
                "on_time": loc.share(d.called_on_time_share),
                "within_delay": loc.share(d.within_target_share),
                "first_free": slot(d.first_free_start, d.first_free_days_ahead)
                if d.first_free_recorded
                else format.UNKNOWN,
            }
            for d in found.days
        ],
        "now": [
            {"service": names.get(f.service, f.service), "slot": slot(f.start, f.days_ahead)}
            for f in found.first_free
        ],
        "csv_url": f"/stats/{loaded.id}/appointments.csv?from={first.isoformat()}"
        f"&to={last.isoformat()}",
    }


@router.get("/stats/{site}", response_class=HTMLResponse)
def stats_page(site: str, page: PageDep) -> Response:
    loaded = _site(page, site)
    first, last = period(page, loaded)
    stats = site_stats(page.ctx.engine, loaded, first, last)
    arrivals = data.arrivals(page.ctx, loaded, first, last)
    query = f"from={first.isoformat()}&to={last.isoformat()}"
    return page.render(
        "stats.html",
        section="stats",
        site={"id": loaded.id, "name": loaded.site.name},
        first=first.isoformat(),
        last=last.isoformat(),
        csv_url=f"/stats/{site}/tickets.csv?{query}",
        heat=heatmap_values(page, arrivals),
        satisfaction=satisfaction_values(page, loaded, first, last),
        appointments=appointment_values(page, loaded, first, last),
        **stats_values(page, loaded, stats),
    )


# ---- CSV export ---------------------------------------------------------------------------
@router.get("/stats/{site}/tickets.csv")
def export_csv(site: str, page: PageDep) -> Response:
    """The passages CSV (``server.export``), for a signed-in manager; integrators use
    ``GET /api/v1/sites/{site}/passages.csv`` with HTTP Basic or a token."""
    loaded = _site(page, site)
    first, last = period(page, loaded)
    return page.finish(csv_response(page.ctx.engine, loaded, first, last))


@router.get("/stats/{site}/appointments.csv")
def export_appointments_csv(site: str, page: PageDep) -> Response:
    """The appointment indicators per service and day of the period, for a signed-in manager."""
    loaded = _site(page, site)
    first, last = period(page, loaded)
    response = appointments_csv_response(page.ctx.engine, loaded, first, last, page.ctx.now())
    return page.finish(response)
