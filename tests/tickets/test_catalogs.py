"""Every gettext catalog of every domain (tickets.i18n.DOMAINS): complete, with the message
id's placeholders, its committed .mo saying what its .po says, and every message the code
shows present.

One place for what the kiosk, the board, the printer and the web pages must all hold;
``python -m tickets.i18n`` recompiles the .mo files. The web pages' message ids are keys
("console.summary"): there the English catalog's wording is the reference the others follow.
"""

from __future__ import annotations

import gettext
import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog as PoCatalog
from babel.messages.pofile import read_po

from tickets import i18n

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {"kiosk", "display", "printer", "web"}
"""Domains that must exist in these languages at least."""
REQUIRED_LANGUAGES = {"en", "fr", "es", "pt", "ar"}
KEYED = {"web"}
"""Domains whose message ids are keys, not English sentences."""
_CALL = re.compile(r'\b(?:_|gettext|text|pair)\(\s*"((?:[^"\\]|\\.)*)"\s*[,)]')
_NCALL = re.compile(r'\b(?:n_|ngettext)\(\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"')


def po_files() -> list[tuple[str, str, Path]]:
    found = []
    for domain, folder in i18n.DOMAINS.items():
        for po in sorted(folder.glob(f"*/LC_MESSAGES/{domain}.po")):
            found.append((domain, po.parent.parent.name, po))
    return found


PO_FILES = po_files()
IDS = [f"{domain}-{lang}" for domain, lang, _ in PO_FILES]


def read(po: Path, lang: str) -> PoCatalog:
    with po.open("rb") as fh:
        return read_po(fh, locale=lang)


def placeholders(text: str) -> list[tuple[str, str]]:
    return sorted(
        (name, spec or "")
        for _, name, spec, _ in string.Formatter().parse(text)
        if name is not None
    )


def used_messages(domain: str) -> set[str]:
    """Message ids the domain's package passes to its catalogs in literal calls, plus the
    tables of ids it translates where they are used."""
    folder = i18n.DOMAINS[domain].parent
    ids: set[str] = set()
    for path in [*folder.rglob("*.py"), *folder.rglob("*.kv")]:
        text = path.read_text(encoding="utf-8")
        ids.update(m.group(1) for m in _CALL.finditer(text))
        for m in _NCALL.finditer(text):
            ids.update((m.group(1), m.group(2)))
    if domain == "kiosk":
        from kiosk.i18n import MONTH_NAMES, PRIORITY_LABELS, WEEKDAY_NAMES
        from kiosk.screens.checkin import OUTCOME_MESSAGES
        from kiosk.screens.ticket import FAULT_MESSAGES

        ids.update(PRIORITY_LABELS.values(), FAULT_MESSAGES.values(), WEEKDAY_NAMES, MONTH_NAMES)
        ids.update(OUTCOME_MESSAGES.values())
    elif domain == "display":
        from display.texts import MONTH_NAMES as DISPLAY_MONTHS
        from display.texts import WEEKDAY_NAMES as DISPLAY_DAYS

        ids.update(DISPLAY_DAYS, DISPLAY_MONTHS)
    elif domain == "printer":
        from printer.status import STATE_LABELS

        ids.update(STATE_LABELS.values())
    return ids


def english(domain: str) -> dict[str, str]:
    """For a keyed domain, each key's English wording (a plural's last form); else nothing."""
    if domain not in KEYED:
        return {}
    po = i18n.DOMAINS[domain] / "en" / "LC_MESSAGES" / f"{domain}.po"
    out = {}
    for msg in read(po, "en"):
        if msg.id:
            key = msg.id if isinstance(msg.id, str) else msg.id[0]
            out[key] = str(msg.string if isinstance(msg.string, str) else msg.string[-1])
    return out


def all_ids(domain: str) -> set[str]:
    ids: set[str] = set()
    for d, lang, po in PO_FILES:
        if d == domain:
            for msg in read(po, lang):
                if msg.id:
                    ids.update([msg.id] if isinstance(msg.id, str) else msg.id)
    return ids


def test_every_required_domain_has_every_language() -> None:
    have = {(d, lang) for d, lang, _ in PO_FILES}
    missing = sorted(
        f"{d}/{lang}" for d in REQUIRED for lang in REQUIRED_LANGUAGES if (d, lang) not in have
    )
    assert missing == []


@pytest.mark.parametrize(("domain", "lang", "po"), PO_FILES, ids=IDS)
def test_catalog_is_complete_with_the_ids_placeholders(domain: str, lang: str, po: Path) -> None:
    """GIVEN a .po file THEN it has every message of its domain (what its other languages have
    and what the code shows), none empty or fuzzy, each with exactly its id's placeholders."""
    catalog = read(po, lang)
    problems = []
    seen: set[str] = set()
    nplurals = catalog.num_plurals
    wording = english(domain)
    for msg in catalog:
        if not msg.id:
            continue
        if msg.fuzzy:
            problems.append(f"fuzzy: {msg.id!r}")
        if isinstance(msg.id, tuple):
            seen.update(msg.id)
            forms = [str(f) for f in msg.string or ()]
            if len(forms) != nplurals:
                problems.append(f"{len(forms)} plural forms, not {nplurals}: {msg.id!r}")
            want = placeholders(wording.get(msg.id[0], msg.id[1]))
            for form in forms:
                if not form:
                    problems.append(f"empty: {msg.id!r}")
                elif placeholders(form) != want:
                    problems.append(f"placeholders of {form!r} differ from {msg.id[1]!r}")
        else:
            seen.add(str(msg.id))
            if not msg.string:
                problems.append(f"empty: {msg.id!r}")
            elif placeholders(str(msg.string)) != placeholders(wording.get(msg.id, msg.id)):
                problems.append(f"placeholders of {msg.string!r} differ from {msg.id!r}")
    wanted = all_ids(domain) | (used_messages(domain) if domain in REQUIRED else set())
    problems += [f"missing: {m!r}" for m in sorted(wanted - seen)]
    assert problems == []


@pytest.mark.parametrize(("domain", "lang", "po"), PO_FILES, ids=IDS)
def test_compiled_catalog_matches_its_po_file(domain: str, lang: str, po: Path) -> None:
    """GIVEN the committed .mo WHEN read by the standard library THEN each message of the .po
    translates to its msgstr, plural forms included, and it holds nothing else."""
    with po.with_suffix(".mo").open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    catalog = read(po, lang)
    # The .po header's plural rule, as the standard library reads one.
    plural = gettext.c2py(catalog.plural_expr)
    checked = 0
    for msg in catalog:
        if not msg.id:
            continue
        if isinstance(msg.id, tuple):
            strings = [str(f) for f in msg.string or ()]
            for n in range(0, 200):  # every form of every plural rule is reached below 200
                form = plural(n)
                assert mo.ngettext(msg.id[0], msg.id[1], n) == strings[form], (msg.id, n)
        else:
            assert mo.gettext(str(msg.id)) == msg.string, msg.id
        checked += 1
    mo_ids = {k if isinstance(k, str) else k[0] for k in mo._catalog if k}  # type: ignore[attr-defined]
    assert len(mo_ids) == checked


@pytest.mark.parametrize(("domain", "lang", "po"), PO_FILES, ids=IDS)
def test_translations_are_not_the_english_ids(domain: str, lang: str, po: Path) -> None:
    """A catalog other than English translates its sentences (formats and names may match)."""
    if lang == "en":
        return
    wording = english(domain)
    same = [
        m.id
        for m in read(po, lang)
        if isinstance(m.id, str)
        and wording.get(m.id, m.id) == m.string
        and re.search(r"[a-z]{3,} [a-z]{3,}", m.string)
    ]
    assert same == []


@pytest.mark.parametrize("lang", sorted(REQUIRED_LANGUAGES))
def test_catalog_language_reads_its_plural_rule(lang: str) -> None:
    """Arabic has six plural forms; the standard library reads them from the header."""
    cat = i18n.Catalog("kiosk", lang)
    assert cat.lang == lang
    assert cat.rtl == (lang == "ar")
