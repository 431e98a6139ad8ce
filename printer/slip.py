"""The appointment slip: what a kiosk prints after booking a time for the person in front of
it (date, time, place, service, short code, a QR code of the page that moves or cancels it).
It holds no personal data: the booking asked for none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from printer.ticket import CODE_PAGE, LineWriter, _writer, paper_for, print_qr
from tickets.i18n import catalog


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


def render_slip(content: SlipContent, paper_mm: int) -> bytes:
    """The exact ESC/POS bytes of one slip, from ``ESC @`` to the cut: site, title, service,
    date, time (large), code (large), what to do on arrival, the QR code (native ``GS ( k``)."""
    paper = paper_for(paper_mm)
    w = catalog("printer", content.lang)
    p = _writer(paper_mm)
    p.hw("INIT")
    p.charcode(CODE_PAGE)
    p.set(align="center")
    writer = LineWriter(p, paper)
    lines = writer.lines

    lines(content.site_name, 1, bold=True)
    p.ln()
    lines(w.gettext("APPOINTMENT"), 2, bold=True, height_mult=2)
    lines(content.service_name, 1, bold=True)
    p.ln()
    lines(w.gettext("Date: {date}").format(date=f"{content.starts_at:%d/%m/%Y}"), 1)
    at = f"{content.starts_at:%H:%M}"
    lines(w.gettext("Time: {time}").format(time=at), 2, bold=True, height_mult=2)
    p.ln()
    lines(w.gettext("Code: {code}").format(code=content.code), 2, bold=True, height_mult=2)
    p.ln()
    lines(w.gettext("When you arrive, type this code on the kiosk or show this QR code to it."), 1)
    caption = w.gettext("To move or cancel it: scan this QR code.")
    print_qr(p, paper, content.manage_url, lambda: lines(caption, 1))
    if content.footer:
        writer.style(False, 1, 1)
        p.ln()
        lines(content.footer, 1)
    writer.style(False, 1, 1)
    p.print_and_feed(3)
    p.cut(feed=False)
    return bytes(p.output)
