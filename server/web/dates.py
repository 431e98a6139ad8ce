"""Dates as the public pages write them in full, by Babel in the page's language:
"lundi 23 novembre 2026 à 10:20", "Monday, November 23, 2026 at 10:20"."""

from __future__ import annotations

from datetime import date

from server.sites import LoadedSite
from server.web.format import Localized
from server.web.page import Page


def long_date(page: Page, day: date) -> str:
    """ "mardi 24 novembre 2026", "Tuesday, November 24, 2026" (Babel, the full form)."""
    return Localized(page.lang).day(day, "full")


def when(page: Page, loaded: LoadedSite, start: float) -> str:
    local = loaded.site.local(start)
    return page._("date.at", date=long_date(page, local.date()), time=local.strftime("%H:%M"))
