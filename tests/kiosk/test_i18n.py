"""The kiosk's catalogs: the committed .mo files say what the .po files say, and every sentence
the code shows has a translation in every catalog."""

from __future__ import annotations

import gettext
import re
from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk import i18n
from kiosk.i18n import LOCALE_DIR, PRIORITY_LABELS, WEEKDAY_NAMES, Texts
from kiosk.screens.checkin import OUTCOME_MESSAGES
from kiosk.screens.ticket import FAULT_MESSAGES

KIOSK = Path(__file__).resolve().parents[2] / "kiosk"
LANGS = ["en", "fr"]
_CALL = re.compile(r'\b_\(\s*"((?:[^"\\]|\\.)*)"\s*\)')
_NCALL = re.compile(r'\bn_\(\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"')
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August"]
MONTHS += ["September", "October", "November", "December"]


def used_messages() -> set[str]:
    """Message ids in ``_("...")`` calls of the kiosk's Python and kv files, plus the tables
    of ids translated where they are used."""
    ids: set[str] = set()
    for path in [*KIOSK.rglob("*.py"), *KIOSK.rglob("*.kv")]:
        text = path.read_text(encoding="utf-8")
        ids.update(m.group(1) for m in _CALL.finditer(text))
        for m in _NCALL.finditer(text):
            ids.update((m.group(1), m.group(2)))
    ids.update(
        PRIORITY_LABELS.values(),
        FAULT_MESSAGES.values(),
        OUTCOME_MESSAGES.values(),
        WEEKDAY_NAMES,
        MONTHS,
    )
    return ids


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


@pytest.mark.parametrize("lang", LANGS)
def test_compiled_catalog_matches_its_po_file(lang: str) -> None:
    """GIVEN the committed .mo WHEN read by the standard library THEN each message of the .po
    translates to its msgstr (python -m kiosk.i18n recompiles them)."""
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "kiosk.mo").open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "kiosk.po").open("rb") as fh:
        po = read_po(fh, locale=lang)
    checked = 0
    for msg in po:
        if not msg.id:
            continue
        strings = msg.string
        if isinstance(msg.id, tuple):
            assert isinstance(strings, tuple | list)
            assert mo.ngettext(msg.id[0], msg.id[1], 1) == strings[0]
            assert mo.ngettext(msg.id[0], msg.id[1], 5) == strings[1]
        else:
            assert mo.gettext(str(msg.id)) == strings, msg.id
        checked += 1
    mo_ids = {k if isinstance(k, str) else k[0] for k in mo._catalog if k}  # type: ignore[attr-defined]
    assert len(mo_ids) == checked


@pytest.mark.parametrize("lang", LANGS)
def test_every_sentence_shown_is_translated(lang: str) -> None:
    messages = po_messages(lang)
    missing = sorted(m for m in used_messages() if not messages.get(m))
    assert missing == []


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
