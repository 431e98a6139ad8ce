"""Guichet's one translation system: gettext catalogs, the same way in every process.

Each process package keeps its own catalog domain beside its code::

    kiosk/locale/<lang>/LC_MESSAGES/kiosk.po      (and .mo)
    display/locale/<lang>/LC_MESSAGES/display.po
    printer/locale/<lang>/LC_MESSAGES/printer.po
    server/web/locale/<lang>/LC_MESSAGES/web.po

Message ids are English, except in the ``web`` domain whose ids are the pages' keys
(``"console.summary"``) and which has an English catalog like any other. The ``.po`` files are
what translators edit; the compiled ``.mo`` files are committed beside them (``python -m
tickets.i18n`` compiles every domain with Babel, a development tool) and a test checks that each
``.mo`` says exactly what its ``.po`` says. At run time only the standard library's gettext is
used, so an appliance needs nothing more. Plural rules come from each catalog's ``Plural-Forms``
header (Arabic has six forms).

Languages are BCP 47 tags reduced to their base (``pt-BR`` reads the ``pt`` catalog). Arabic is
written right to left: :func:`direction` says so, and each process lays itself out from it (the
pages set ``dir="rtl"``, the kiosk and the board mirror their rows and shape the text).
"""

from __future__ import annotations

import functools
import gettext
import logging
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
"""The folder holding the process packages, each with its ``locale`` folder."""

DOMAINS: dict[str, Path] = {
    "kiosk": ROOT / "kiosk" / "locale",
    "display": ROOT / "display" / "locale",
    "printer": ROOT / "printer" / "locale",
    "web": ROOT / "server" / "web" / "locale",
}
"""Every catalog domain and the folder it lives in."""

SOURCE_LANGUAGE = "en"
"""The language of the message ids: it needs no catalog to be shown."""

LANGUAGE_NAMES = {
    "fr": "Français",
    "en": "English",
    "es": "Español",
    "pt": "Português",
    "ar": "العربية",
    "de": "Deutsch",
    "it": "Italiano",
    "nl": "Nederlands",
    "br": "Brezhoneg",
    "eu": "Euskara",
    "ca": "Català",
    "oc": "Occitan",
}
"""Each language's name in itself, as shown on language buttons and menus."""

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
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
)
"""Message ids of the days and months, in every domain that writes dates."""

RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})
"""Languages written right to left."""

Direction = Literal["ltr", "rtl"]


def base_language(tag: str) -> str:
    """``"pt-BR"`` and ``"pt_BR"`` → ``"pt"``; ``"AR"`` → ``"ar"``."""
    return tag.replace("_", "-").split("-", 1)[0].strip().lower()


def direction(lang: str) -> Direction:
    """The writing direction of a language: ``"rtl"`` for Arabic, ``"ltr"`` otherwise."""
    return "rtl" if base_language(lang) in RTL_LANGUAGES else "ltr"


def language_name(lang: str) -> str:
    return LANGUAGE_NAMES.get(base_language(lang), lang.upper())


def catalog_languages(domain: str) -> list[str]:
    """Languages with a compiled catalog for ``domain``, plus the source language."""
    found = {p.parent.parent.name for p in DOMAINS[domain].glob(f"*/LC_MESSAGES/{domain}.mo")}
    return sorted(found | {SOURCE_LANGUAGE})


class Catalog:
    """One domain's messages in one language (English ids when there is no catalog)."""

    def __init__(self, domain: str, lang: str) -> None:
        self.domain = domain
        self.lang = base_language(lang)
        self.direction: Direction = direction(self.lang)
        self._t = gettext.translation(domain, DOMAINS[domain], languages=[self.lang], fallback=True)
        if self.lang != SOURCE_LANGUAGE and not isinstance(self._t, gettext.GNUTranslations):
            log.warning("no %s catalog for language %r: showing English", domain, lang)

    @property
    def rtl(self) -> bool:
        return self.direction == "rtl"

    def gettext(self, message: str) -> str:
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self._t.pgettext(context, message)


@functools.cache
def catalog(domain: str, lang: str) -> Catalog:
    """The shared :class:`Catalog` of ``domain`` in ``lang`` (read once per process)."""
    return Catalog(domain, lang)


def compile_catalogs(domains: list[str] | None = None) -> list[Path]:
    """Compiles every ``<domain>.po`` of the given domains (all by default) to its ``.mo``
    with Babel. Babel is a development dependency: appliances only read the ``.mo`` files."""
    from datetime import UTC, datetime

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for domain in domains or list(DOMAINS):
        for po in sorted(DOMAINS[domain].glob(f"*/LC_MESSAGES/{domain}.po")):
            raw = po.read_bytes()
            with po.open("rb") as fh:
                cat = read_po(fh, locale=po.parent.parent.name)
            if b"POT-Creation-Date:" not in raw:
                # Babel would stamp the compile time: the same .po gives the same .mo.
                cat.creation_date = datetime(1970, 1, 1, tzinfo=UTC)
            mo = po.with_suffix(".mo")
            with mo.open("wb") as fh:
                write_mo(fh, cat, use_fuzzy=False)
            written.append(mo)
    return written


if __name__ == "__main__":
    for path in compile_catalogs():
        print(path.relative_to(ROOT))
