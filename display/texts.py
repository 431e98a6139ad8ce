"""The board's words, in the languages a site may use (French first, English second…).

Headings show the site's first language large and the second smaller beside it.
"""

from __future__ import annotations

from datetime import datetime

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "now_calling": "Appel en cours",
        "last_calls": "Derniers appels",
        "ticket": "Ticket",
        "counter": "Guichet",
        "waiting": "En attente",
        "people": "{n} en attente",
        "nobody": "Pas d'attente",
        "wait": "≈ {m} min",
        "wait_hours": "≈ {h} h {m:02d}",
        "closed": "Fermé",
        "welcome": "Bienvenue",
        "take_ticket": "Prenez un ticket à la borne d'accueil",
        "recall": "Rappel",
        "starting": "Démarrage du tableau d'affichage…",
        "no_site": "En attente de la configuration du site",
        "virtual": "Boîtier virtuel : chiffre = guichet, N suivant, R rappel, D terminé, "
        "A absent, O ouvrir, C fermer",
    },
    "en": {
        "now_calling": "Now calling",
        "last_calls": "Last calls",
        "ticket": "Ticket",
        "counter": "Counter",
        "waiting": "Waiting",
        "people": "{n} waiting",
        "nobody": "No wait",
        "wait": "≈ {m} min",
        "wait_hours": "≈ {h} h {m:02d}",
        "closed": "Closed",
        "welcome": "Welcome",
        "take_ticket": "Please take a ticket at the kiosk",
        "recall": "Recall",
        "starting": "Starting the display board…",
        "no_site": "Waiting for the site configuration",
        "virtual": "Virtual box: digit = counter, N next, R recall, D done, A absent, "
        "O open, C close",
    },
}

_DAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "en": (
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
    ),
}


def text(key: str, lang: str, **values: object) -> str:
    table = TEXTS.get(lang) or TEXTS["fr"]
    return (table.get(key) or TEXTS["fr"][key]).format(**values)


def pair(key: str, languages: tuple[str, ...] | list[str], **values: object) -> tuple[str, str]:
    """The text in the first language and, when the site has one, the second (or "")."""
    first = languages[0] if languages else "fr"
    main = text(key, first, **values)
    if len(languages) < 2:
        return main, ""
    other = text(key, languages[1], **values)
    return main, "" if other == main else other


def long_date(moment: datetime, lang: str) -> str:
    """ "mardi 24 novembre 2026" / "Tuesday 24 November 2026"."""
    lang = lang if lang in _DAYS else "fr"
    day, month = _DAYS[lang][moment.weekday()], _MONTHS[lang][moment.month - 1]
    return f"{day} {moment.day} {month} {moment.year}"


def wait_text(minutes: int, lang: str) -> str:
    """ "≈ 15 min", or "≈ 1 h 20" from an hour on."""
    if minutes < 60:
        return text("wait", lang, m=minutes)
    return text("wait_hours", lang, h=minutes // 60, m=minutes % 60)
