"""The board's words, in the languages a site may use (its first language large, the second
smaller beside it).

Every word goes through the ``display`` domain of Guichet's one translation system
(:mod:`tickets.i18n`: ``display/locale/<lang>/LC_MESSAGES/display.po``, compiled ``.mo``
committed beside it, ``python -m tickets.i18n`` compiles). Message ids are English.
"""

from __future__ import annotations

from datetime import datetime

from tickets import i18n
from tickets.i18n import MONTH_NAMES, WEEKDAY_NAMES, Catalog

DOMAIN = "display"
FALLBACK_LANGUAGE = "fr"
"""The language of a board that knows no site yet."""


def catalog(lang: str) -> Catalog:
    return i18n.catalog(DOMAIN, lang)


def text(message: str, lang: str, **values: object) -> str:
    """``message`` (an English message id) in ``lang``, its ``{placeholders}`` filled."""
    return catalog(lang).gettext(message).format(**values)


def pair(message: str, languages: tuple[str, ...] | list[str], **values: object) -> tuple[str, str]:
    """The text in the first language and, when the site has one, the second (or "")."""
    first = languages[0] if languages else FALLBACK_LANGUAGE
    main = text(message, first, **values)
    if len(languages) < 2:
        return main, ""
    other = text(message, languages[1], **values)
    return main, "" if other == main else other


def people(n: int, lang: str) -> str:
    """ "12 en attente" / "12 waiting"."""
    return catalog(lang).ngettext("{n} waiting", "{n} waiting", n).format(n=n)


def long_date(moment: datetime, lang: str) -> str:
    """ "mardi 24 novembre 2026" / "Tuesday 24 November 2026"."""
    cat = catalog(lang)
    return cat.gettext("{weekday} {day} {month} {year}").format(
        weekday=cat.gettext(WEEKDAY_NAMES[moment.weekday()]),
        day=moment.day,
        month=cat.gettext(MONTH_NAMES[moment.month - 1]),
        year=moment.year,
    )


def wait_text(minutes: int, lang: str) -> str:
    """ "≈ 15 min", or "≈ 1 h 20" from an hour on."""
    if minutes < 60:
        return text("≈ {m} min", lang, m=minutes)
    return text("≈ {h} h {m:02d}", lang, h=minutes // 60, m=minutes % 60)
