"""The web pages' texts: the ``web`` gettext domain of :mod:`tickets.i18n`.

The catalogs are ``server/web/locale/<lang>/LC_MESSAGES/web.po`` (and their compiled ``.mo``).
Their message ids are the pages' keys (``"console.summary"``), not English sentences: the
templates name what they show, and English is one catalog among the others, the reference
wording translators start from. A test holds every catalog complete, with the same
placeholders (``{n}``, ``{counter}``…) as English.

A page's language is, in order: the ``lang`` query parameter (the switch in the header,
remembered in a cookie), the cookie, the language chosen at the kiosk (the follow page), the
browser's ``Accept-Language``, the site's first language, French. A key a catalog lacks falls
back to French, then to the key itself, so a forgotten translation shows up as readable text,
never as an error page.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tickets.i18n import LANGUAGE_NAMES, Catalog, Direction, base_language, catalog_languages

DOMAIN = "web"
DEFAULT_LANG = "fr"
ORDER = ("fr", "en", "es", "pt", "ar")
"""How the language switch lists the catalogs (others follow, alphabetically)."""

__all__ = ["LANGUAGE_NAMES", "Translator", "languages", "pick_language", "translator"]


@cache
def languages() -> tuple[str, ...]:
    """Every language with a ``web`` catalog, in the switch's order."""
    found = catalog_languages(DOMAIN)
    return tuple(sorted(found, key=lambda c: (ORDER.index(c) if c in ORDER else len(ORDER), c)))


@cache
def _catalog(lang: str) -> Catalog:
    return Catalog(DOMAIN, lang)


class Translator:
    """The texts of one language: ``_("nav.signed_in_as", user=name)`` in templates and code, and
    ``_.n("key", count, …)`` for a text whose wording depends on a number (plural forms come
    from the catalog's ``Plural-Forms``: two in French, six in Arabic)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.direction: Direction = _catalog(lang).direction

    def __call__(self, key: str, /, **values: Any) -> str:
        text = _catalog(self.lang).gettext(key)
        if text == key and self.lang != DEFAULT_LANG:
            text = _catalog(DEFAULT_LANG).gettext(key)
        return text.format(**values) if values else text

    def n(self, key: str, count: int, /, **values: Any) -> str:
        """The form of ``key`` for ``count`` (``{n}`` is ``count`` unless given)."""
        values.setdefault("n", count)
        text = _catalog(self.lang).ngettext(key, key, count)
        if text == key and self.lang != DEFAULT_LANG:
            text = _catalog(DEFAULT_LANG).ngettext(key, key, count)
        return text.format(**values)


def translator(lang: str) -> Translator:
    return Translator(lang)


def translate(lang: str, key: str, /, **values: Any) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` placeholders filled in."""
    return Translator(lang)(key, **values)


def accepted(header: str | None) -> list[str]:
    """The languages of an ``Accept-Language`` header, most wanted first
    (``"es-ES,es;q=0.9,en;q=0.8"`` → ``["es", "es", "en"]``)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and weight > 0:
            ranked.append((-weight, i, base_language(tag)))
    return [code for _w, _i, code in sorted(ranked)]


def pick_language(*candidates: str | None, among: tuple[str, ...] | None = None) -> str:
    """The first candidate that has a catalog (and is ``among`` those given), else French."""
    usable = among if among is not None else languages()
    for c in candidates:
        if c and base_language(c) in usable:
            return base_language(c)
    return DEFAULT_LANG
