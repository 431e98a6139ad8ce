"""Dates as the public pages write them in full: "lundi 23 novembre 2026 à 10:20"."""

from __future__ import annotations

from datetime import date

from server.sites import LoadedSite
from server.web.page import Page


def long_date(page: Page, day: date) -> str:
    return page._(
        "date.long",
        weekday=page._(f"weekday.{day.weekday()}"),
        day=day.day,
        month=page._(f"month.{day.month}"),
        year=day.year,
    )


def when(page: Page, loaded: LoadedSite, start: float) -> str:
    local = loaded.site.local(start)
    return page._("date.at", date=long_date(page, local.date()), time=local.strftime("%H:%M"))
