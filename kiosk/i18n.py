"""The kiosk's languages: its gettext catalogs, and the wording of times and waits.

Every sentence the kiosk shows goes through the ``kiosk`` domain of Guichet's one translation
system (:mod:`tickets.i18n`: ``kiosk/locale/<lang>/LC_MESSAGES/kiosk.po``, compiled ``.mo``
committed beside it, ``python -m tickets.i18n`` compiles). Message ids are English.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

from tickets import i18n
from tickets.i18n import LANGUAGE_NAMES, MONTH_NAMES, WEEKDAY_NAMES, language_name

__all__ = [
    "LANGUAGE_NAMES",
    "MONTH_NAMES",
    "WEEKDAY_NAMES",
    "Texts",
    "catalog_languages",
    "language_name",
]

DOMAIN = "kiosk"
LOCALE_DIR = i18n.DOMAINS[DOMAIN]

PRIORITY_LABELS = {
    "pregnancy": "Pregnancy",
    "disability": "Disability or reduced mobility",
    "age": "Senior citizen",
}
"""Message ids of the priority reasons a site may offer (translated through the catalogs)."""


def catalog_languages() -> list[str]:
    """Languages the kiosk can be shown in."""
    return i18n.catalog_languages(DOMAIN)


class Texts:
    """The kiosk's wording in one language."""

    def __init__(self, lang: str) -> None:
        self._t = i18n.Catalog(DOMAIN, lang)
        self.lang = self._t.lang
        self.rtl = self._t.rtl

    def _(self, message: str) -> str:
        return self._t.gettext(message)

    def n_(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def clock(self, at: datetime) -> str:
        return self._("{hour}:{minute}").format(hour=str(at.hour), minute=f"{at.minute:02d}")

    def weekday(self, at: datetime) -> str:
        return self._(WEEKDAY_NAMES[at.weekday()])

    def date(self, at: datetime) -> str:
        """Long date of the idle screen: "Thursday 3 April" style, per the catalog."""
        month = self._(MONTH_NAMES[at.month - 1])
        return self._("{weekday} {day} {month}").format(
            weekday=self.weekday(at), day=at.day, month=month
        )

    def when(self, at: datetime, now: datetime) -> str:
        """A coming time: "today at 13:30", "tomorrow at 08:30", "Thursday at 09:00"."""
        days = (at.date() - now.date()).days
        clock = self.clock(at)
        if days == 0:
            return self._("today at {time}").format(time=clock)
        if days == 1:
            return self._("tomorrow at {time}").format(time=clock)
        return self._("{weekday} at {time}").format(weekday=self.weekday(at), time=clock)

    def wait(self, seconds: float) -> str:
        """Estimated wait as people read it: "about 12 min", "no wait"."""
        minutes = math.ceil(seconds / 60)
        if minutes <= 0:
            return self._("no wait")
        if minutes < 60:
            return self.n_("about {n} min", "about {n} min", minutes).format(n=minutes)
        hours, rest = divmod(minutes, 60)
        return self._("about {h} h {m:02d}").format(h=hours, m=rest)

    def short_wait(self, minutes: int) -> str:
        """The wait on a service card: "No wait", "12 min", "1 h 20"."""
        if minutes <= 0:
            return self._("No wait")
        if minutes < 60:
            return self._("{n} min").format(n=minutes)
        hours, rest = divmod(minutes, 60)
        return self._("{h} h {m:02d}").format(h=hours, m=rest)

    def people(self, n: int) -> str:
        if n == 0:
            return self._("nobody waiting")
        return self.n_("{n} waiting", "{n} waiting", n).format(n=n)

    def ahead(self, n: int) -> str:
        if n == 0:
            return self._("You are next")
        return self.n_("{n} person ahead of you", "{n} people ahead of you", n).format(n=n)


def compile_catalogs() -> list[Path]:
    """Compiles the kiosk's catalogs (see :func:`tickets.i18n.compile_catalogs`)."""
    return i18n.compile_catalogs([DOMAIN])


if __name__ == "__main__":
    for path in compile_catalogs():
        print(path)
