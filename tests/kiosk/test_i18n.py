"""The kiosk's wording: times, waits and people per language (what every catalog of every
domain must hold is checked in tests/tickets/test_catalogs.py)."""

from __future__ import annotations

from datetime import datetime

from babel.messages.pofile import read_po

from kiosk import i18n
from kiosk.i18n import LOCALE_DIR, Texts


def po_messages(lang: str) -> dict[str, str]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "kiosk.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    out: dict[str, str] = {}
    for msg in catalog:
        if not msg.id:
            continue
        strings = msg.string
        if isinstance(msg.id, tuple):
            assert isinstance(strings, tuple | list)
            for i, text in enumerate(msg.id):
                out[text] = str(strings[i])
        else:
            out[str(msg.id)] = str(strings)
    return out


def test_french_catalog_is_not_english() -> None:
    fr = po_messages("fr")
    same = [k for k, v in fr.items() if k == v and not k.startswith("{") and k != "{n} min"]
    assert same == []


def test_texts_word_times_and_waits_per_language() -> None:
    at = datetime(2026, 11, 26, 13, 30)
    now = datetime(2026, 11, 23, 10, 0)
    fr, en = Texts("fr"), Texts("en")
    assert fr.when(at, now) == "jeudi à 13\u00a0h\u00a030"  # no line break inside a time
    assert en.when(at, now) == "Thursday at 13:30"
    assert fr.when(now.replace(hour=14), now) == "aujourd'hui à 14\u00a0h\u00a000"
    assert en.when(datetime(2026, 11, 24, 8, 30), now) == "tomorrow at 8:30"
    assert fr.wait(0) == "sans attente"
    assert fr.wait(61) == "environ 2 min"
    assert en.wait(90 * 60) == "about 1 h 30"
    assert fr.people(1) == "1 en attente"
    assert en.people(3) == "3 waiting"
    assert fr.date(now) == "lundi 23 novembre"


def test_a_language_without_catalog_shows_english() -> None:
    assert Texts("de")._("Your ticket") == "Your ticket"
    assert set(i18n.catalog_languages()) >= {"fr", "en"}
