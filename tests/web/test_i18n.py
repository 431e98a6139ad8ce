"""The web pages' catalogs (gettext domain ``web``): every key the pages name is there, plural
forms and placeholders work, and the language a visitor gets. Completeness, placeholders and
compiled files of every catalog: tests/tickets/test_catalogs.py."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from server.web import i18n
from tickets.i18n import DOMAINS

LOCALE = DOMAINS["web"]
WEB = Path(__file__).resolve().parents[2] / "server" / "web"
LANGS = ["fr", "en", "es", "pt", "ar"]
_KEY = r"""["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']"""


def po(lang: str) -> dict[str, list[str]]:
    """Each message id of a ``web.po`` and its translations (one, or one per plural form)."""
    with (LOCALE / lang / "LC_MESSAGES" / "web.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    out: dict[str, list[str]] = {}
    for msg in catalog:
        if not msg.id:
            continue
        key = msg.id[0] if isinstance(msg.id, tuple) else msg.id
        strings = msg.string if isinstance(msg.string, tuple | list) else [msg.string]
        out[str(key)] = [str(s) for s in strings]
    return out


def used_keys() -> set[str]:
    """Keys named literally in the templates and the web code (``_("…")``, ``_.n("…"``,
    flash and error tables)."""
    used: set[str] = set()
    for path in [*(WEB / "templates").glob("*.html"), *WEB.glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\b_(?:\.n)?\(\s*" + _KEY, text))
        used |= set(re.findall(r'flash\(\s*"\w+",\s*' + _KEY, text))
    return used


def test_every_language_is_offered() -> None:
    assert i18n.languages() == tuple(LANGS)


def test_every_key_the_pages_use_is_in_the_catalogs() -> None:
    used = used_keys()
    assert len(used) > 300
    assert used - set(po("en")) == set()


def test_translator_fills_placeholders_and_plural_forms() -> None:
    en, fr = i18n.translator("en"), i18n.translator("fr")
    assert en("console.summary", n=3, next="A042") == "3 waiting for this counter. Next: A042."
    assert fr("console.summary", n=3, next="A042") == (
        "3 en attente pour ce guichet. Prochain : A042."
    )
    assert [en.n("book.places", n) for n in (0, 1, 2)] == ["0 places", "1 place", "2 places"]
    assert [fr.n("book.places", n) for n in (0, 1, 2)] == ["0 place", "1 place", "2 places"]
    assert en("no.such.key") == "no.such.key"
    assert i18n.translator("ar").direction == "rtl"
    assert en.direction == "ltr"


def test_language_choice() -> None:
    assert i18n.accepted("es-ES,es;q=0.9,en;q=0.8,*;q=0.1") == ["es", "es", "en"]
    assert i18n.accepted("en;q=0.5, pt-BR") == ["pt", "en"]
    assert i18n.accepted(None) == []
    assert i18n.pick_language("en-GB", "fr") == "en"
    assert i18n.pick_language("de", None, "pt") == "pt"
    assert i18n.pick_language("de", None) == "fr"
    assert i18n.pick_language("ar", among=("fr", "en")) == "fr"
