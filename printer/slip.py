"""The appointment slip: what a kiosk prints after booking a time for the person in front of
it (date, time, place, service, short code, a QR code of the page that moves or cancels it).
It holds no personal data: the booking asked for none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from printer.ticket import CODE_PAGE, _writer, paper_for, print_qr, printable


@dataclass(frozen=True)
class SlipContent:
    site_name: str
    service_name: str
    starts_at: datetime
    """Aware, in the site's time zone."""
    code: str
    """The short code as people type it (``K7QM-3XHP``)."""
    manage_url: str
    """The appointment's page (``/a/{token}``), printed as a QR code; empty: no QR code."""
    footer: str = ""
    lang: str = "fr"


_WORDS = {
    "fr": {
        "title": "RENDEZ-VOUS",
        "date": "Date",
        "time": "Heure",
        "code": "Code",
        "colon": " : ",
        "arrive": "À votre arrivée, tapez ce code sur la borne ou présentez ce QR code au lecteur.",
        "manage": "Pour déplacer ou annuler : scannez ce QR code.",
    },
    "en": {
        "title": "APPOINTMENT",
        "date": "Date",
        "time": "Time",
        "code": "Code",
        "colon": ": ",
        "arrive": "When you arrive, type this code on the kiosk or show this QR code to it.",
        "manage": "To move or cancel it: scan this QR code.",
    },
}


def slip_words(lang: str) -> dict[str, str]:
    return _WORDS["en"] if lang.lower().startswith("en") else _WORDS["fr"]


def render_slip(content: SlipContent, paper_mm: int) -> bytes:
    """The exact ESC/POS bytes of one slip, from ``ESC @`` to the cut: site, title, service,
    date, time (large), code (large), what to do on arrival, the QR code (native ``GS ( k``)."""
    paper = paper_for(paper_mm)
    w = slip_words(content.lang)
    p = _writer(paper_mm)
    p.hw("INIT")
    p.charcode(CODE_PAGE)
    p.set(align="center")

    def lines(text: str, mult: int = 1, bold: bool = False) -> None:
        import textwrap

        text = printable(text)
        if not text:
            return
        p.set(custom_size=True, width=mult, height=mult, bold=bold)
        for line in textwrap.wrap(text, max(1, paper.columns // mult)):
            p.textln(line)

    lines(content.site_name, 1, bold=True)
    p.ln()
    lines(w["title"], 2, bold=True)
    lines(content.service_name, 1, bold=True)
    p.ln()
    lines(f"{w['date']}{w['colon']}{content.starts_at:%d/%m/%Y}", 1)
    lines(f"{w['time']}{w['colon']}{content.starts_at:%H:%M}", 2, bold=True)
    p.ln()
    lines(f"{w['code']}{w['colon']}{content.code}", 2, bold=True)
    p.ln()
    lines(w["arrive"], 1)
    print_qr(p, paper, content.manage_url, lambda: lines(w["manage"], 1))
    if content.footer:
        lines(content.footer, 1)
    p.set(custom_size=True, width=1, height=1, bold=False)
    p.print_and_feed(3)
    p.cut(feed=False)
    return bytes(p.output)
