"""The kiosk's languages: gettext catalogs in kiosk/locale, and the wording of times and waits.

Every sentence the kiosk shows goes through these catalogs (``kiosk/locale/<lang>/LC_MESSAGES/
kiosk.po``). The compiled ``.mo`` files are committed beside them, compiled with Babel
(``python -m kiosk.i18n``); a test checks that each ``.mo`` says exactly what its ``.po`` says.
At run time only the standard library's gettext is used. Message ids are English.
"""

from __future__ import annotations

import gettext
import logging
import math
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "kiosk"

LANGUAGE_NAMES = {
    "fr": "Français",
    "en": "English",
    "de": "Deutsch",
    "es": "Español",
    "it": "Italiano",
    "nl": "Nederlands",
    "pt": "Português",
    "br": "Brezhoneg",
    "eu": "Euskara",
    "ca": "Català",
    "oc": "Occitan",
}
"""Each language's name in itself, as shown on the language buttons."""

PRIORITY_LABELS = {
    "pregnancy": "Pregnancy",
    "disability": "Disability or reduced mobility",
    "age": "Senior citizen",
}
"""Message ids of the priority reasons a site may offer (translated through the catalogs)."""

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def catalog_languages() -> list[str]:
    """Languages that have a compiled catalog."""
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))


def language_name(lang: str) -> str:
    return LANGUAGE_NAMES.get(lang, lang.upper())


class Texts:
    """The kiosk's wording in one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._t = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)
        if lang != "en" and not isinstance(self._t, gettext.GNUTranslations):
            log.warning("no kiosk catalog for language %r: showing English", lang)

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
        month = self._(
            (
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            )[at.month - 1]
        )
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
    """Compiles every kiosk/locale/*/LC_MESSAGES/kiosk.po to its .mo with Babel (a dev tool)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as fh:
            cat = read_po(fh, locale=po.parent.parent.name)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as fh:
            write_mo(fh, cat)
        written.append(mo)
    return written


if __name__ == "__main__":
    for path in compile_catalogs():
        print(path)
