"""The ticket: what it says (:class:`TicketContent`) and its exact ESC/POS bytes
(:func:`render_ticket`), built with python-escpos against a printer profile.

Character set: every ticket selects the Windows-1252 code table (``ESC t 16``, "WPC1252" in
Epson manuals) once, right after ``ESC @``. It holds every character French needs, including
``œ Œ €`` which the DOS code pages lack (CP858 has ``€`` but not ``œ``), and it stays fixed for
the whole ticket so no code-page switch can leak into the print. A line holding a character
outside it (Arabic, ``ł``, ``東``…) is printed as a picture of that line instead
(:mod:`printer.raster`: drawn with DejaVu Sans, shaped and right to left for Arabic, sent as
``GS v 0``), so no text is ever printed as ``?``. Without that font it falls back to the
unaccented base letter when there is one (``ł`` → ``l``), else ``?``.

The fixed words come from the ``printer`` catalogs (:mod:`tickets.i18n`), in the ticket's
language.
"""

from __future__ import annotations

import functools
import textwrap
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image

from printer import raster
from tickets.i18n import Catalog, catalog

CODE_PAGE = "CP1252"
CODE_TABLE_NUMBER = 16
"""``ESC t 16``: Windows-1252 (WPC1252) on Epson TM printers and most compatibles."""
FONT_A_DOTS = (12, 24)
"""Width and height of one character of ESC/POS font A (dots)."""
LOGO_MAX_DOTS = (384, 96)
"""A logo is scaled down to fit this box (width, height in dots)."""


@dataclass(frozen=True)
class Paper:
    """A roll width and what the print head does with it."""

    mm: int
    dots: int
    """Printable width (dots at 203 dpi)."""
    qr_module_dots: int
    """Side of one QR code module (dots)."""

    @property
    def columns(self) -> int:
        """Characters of font A at normal size on one line."""
        return self.dots // FONT_A_DOTS[0]


PAPERS: dict[int, Paper] = {80: Paper(80, 576, 6), 58: Paper(58, 384, 5)}


def paper_for(paper_mm: int) -> Paper:
    try:
        return PAPERS[paper_mm]
    except KeyError:
        raise ValueError(f"paper_mm must be 58 or 80, not {paper_mm}") from None


@dataclass(frozen=True)
class TicketContent:
    """Everything printed on one ticket. ``issued_at`` is aware, in the site's time zone."""

    site_name: str
    label: str
    """The ticket number as shown to the public, e.g. "A042"."""
    service_name: str
    issued_at: datetime
    people_ahead: int
    wait_minutes: int | None
    """Estimated wait (minutes); None when there is no estimate yet (line not printed)."""
    follow_url: str
    """Link to the "follow my ticket" page, printed as a QR code; empty: no QR code."""
    footer: str = ""
    service_name_2: str | None = None
    """The service name in the site's second language, printed under the first."""
    priority: str | None = None
    """Printed as a highlighted line under the number, e.g. "Prioritaire"."""
    lang: str = "fr"
    """Language of the fixed words (any language with a ``printer`` catalog)."""
    reprint: bool = False
    """A copy of a ticket already printed: marked "DUPLICATA" / "REPRINT"."""
    appointment_at: datetime | None = None
    """A checked-in appointment's time (aware, site time zone), printed under the number."""


def words(lang: str) -> Catalog:
    """The ticket's fixed words in ``lang``: the ``printer`` catalog (English without one)."""
    return catalog("printer", lang)


def format_wait(minutes: int, lang: str) -> str:
    w = words(lang)
    if minutes < 1:
        return w.gettext("under 1 min")
    if minutes < 60:
        return w.gettext("{n} min").format(n=minutes)
    hours, rest = divmod(minutes, 60)
    if rest:
        return w.gettext("{h} h {m:02d}").format(h=hours, m=rest)
    return w.gettext("{h} h").format(h=hours)


# Letters Unicode does not decompose into a base letter and a mark.
_NO_DECOMPOSITION = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "Ħ": "H", "ħ": "h"}


def printable(text: str) -> str:
    """``text`` made safe for the printer: one line, no control characters (so no stray
    command can reach the printer), every character encodable in the ticket's code page."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if unicodedata.category(ch) == "Cc":
            out.append(" ")
            continue
        try:
            ch.encode(CODE_PAGE)
            out.append(ch)
        except UnicodeEncodeError:
            base = _NO_DECOMPOSITION.get(ch) or "".join(
                c
                for c in unicodedata.normalize("NFKD", ch)
                if not unicodedata.combining(c) and _encodable(c)
            )
            out.append(base or "?")
    return " ".join("".join(out).split())


def _encodable(ch: str) -> bool:
    try:
        ch.encode(CODE_PAGE)
    except UnicodeEncodeError:
        return False
    return True


def one_line(text: str) -> str:
    """``text`` on one line (NFC), control characters made spaces: no stray command can reach
    the printer."""
    text = unicodedata.normalize("NFC", text)
    return " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in text).split())


def encodable(text: str) -> bool:
    """Whether every character of ``text`` is in the ticket's code page."""
    return all(_encodable(ch) for ch in text)


def fit_logo(image: Image.Image, paper: Paper) -> Image.Image:
    """``image`` scaled down (never up) into the logo box and the paper's width."""
    max_w = min(LOGO_MAX_DOTS[0], paper.dots)
    max_h = LOGO_MAX_DOTS[1]
    img = image
    if img.width > max_w or img.height > max_h:
        ratio = min(max_w / img.width, max_h / img.height)
        size = (max(1, round(img.width * ratio)), max(1, round(img.height * ratio)))
        img = img.resize(size, Image.Resampling.LANCZOS)
    return img


def load_logo(path: Path, paper_mm: int) -> Image.Image:
    """Reads a logo file and fits it to the paper. Raises OSError if it cannot be read."""
    with Image.open(path) as img:
        img.load()
        return fit_logo(img.copy(), paper_for(paper_mm))


@functools.cache
def _profile(paper_mm: int) -> Any:
    """The python-escpos profile: an Epson TM-T20II (WPC1252 as table 16, native QR codes,
    cutter), with the head width of the chosen roll."""
    from escpos.capabilities import get_profile_class

    base = get_profile_class("TM-T20II")
    data = dict(base.profile_data)
    data["media"] = {"dpi": 203, "width": {"mm": paper_mm, "pixels": paper_for(paper_mm).dots}}
    return type(f"Guichet{paper_mm}mmProfile", (base,), {"profile_data": data})()


def _writer(paper_mm: int) -> Any:
    from escpos.printer import Dummy

    out = Dummy(profile="TM-T20II")
    out.profile = _profile(paper_mm)
    return out


def _size(width: int, height: int) -> dict[str, Any]:
    return {"custom_size": True, "width": width, "height": height}


CLEAR_PARTIAL = b"\x1b@" + b"\x1bd\x04" + b"\x1dVB\x00"
"""Sent before a ticket when the previous one was cut off mid-way (the connection dropped):
``ESC @`` (forget any half-received command and styles), feed 4 lines, then ``GS V 66 0``
(feed to the cutter and cut), so the stub of the broken ticket leaves the printer on its own
and the next ticket starts on clean paper."""


class LineWriter:
    """Text lines on a ticket: styles sent only when they change, text wrapped to the paper,
    and text outside the code page (Arabic, Polish…) drawn as pictures, never "?"."""

    def __init__(self, p: Any, paper: Paper) -> None:
        self.p = p
        self.paper = paper
        self.current: dict[str, Any] = {"bold": False, "size": (1, 1)}  # after ESC @

    def style(self, bold: bool, width_mult: int, height_mult: int) -> None:
        """Sends only the settings that change (``GS !`` size, ``ESC E`` bold)."""
        if self.current["size"] != (width_mult, height_mult):
            self.p.set(**_size(width_mult, height_mult))
            self.current["size"] = (width_mult, height_mult)
        if self.current["bold"] != bold:
            self.p.set(bold=bold)
            self.current["bold"] = bold

    def lines(
        self, text: str, width_mult: int, *, bold: bool = False, height_mult: int = 1
    ) -> None:
        text = one_line(text)
        if not text:
            return
        if not encodable(text):
            pictures = raster.render_lines(text, self.paper.dots, 24 * height_mult, bold)
            if pictures is not None:
                for picture in pictures:
                    self.p.image(picture, center=False)
                return
            text = printable(text)  # no font to draw with: the nearest letters
        self.style(bold, width_mult, height_mult)
        for line in textwrap.wrap(text, max(1, self.paper.columns // width_mult)):
            self.p.textln(line)


def print_qr(p: Any, paper: Paper, url: str, caption: Callable[[], None]) -> bool:
    """A native QR code (``GS ( k``, model 2) of ``url`` under ``caption()``, after a blank
    line; nothing when ``url`` is empty. Characters that are not printable are dropped."""
    from escpos.constants import QR_ECLEVEL_M, QR_MODEL_2

    url = "".join(ch for ch in url if ch.isprintable() and not ch.isspace())
    if not url:
        return False
    p.ln()
    caption()
    # Alignment is already centred: python-escpos refuses qr(native=True, center=True).
    p.qr(url, ec=QR_ECLEVEL_M, size=paper.qr_module_dots, model=QR_MODEL_2, native=True)
    return True


def render_ticket(
    content: TicketContent, paper_mm: int, *, logo: Image.Image | None = None
) -> bytes:
    """The exact ESC/POS bytes of one ticket, from ``ESC @`` to the cut.

    Layout, centred: logo, site name, DUPLICATA, service (and its second-language line), the
    number as large as the line allows (up to 8x8 via ``GS !``), priority, the appointment's
    time (a checked-in appointment), people ahead and
    estimated wait, what happens next (sit down, watch the screen), the QR code of
    ``follow_url`` (native ``GS ( k``, model 2), date and time,
    footer; then a feed and a partial cut.
    """
    paper = paper_for(paper_mm)
    w = words(content.lang)
    p = _writer(paper_mm)
    p.hw("INIT")
    p.charcode(CODE_PAGE)
    p.set(align="center")

    writer = LineWriter(p, paper)
    style, lines = writer.style, writer.lines

    if logo is not None:
        p.image(fit_logo(logo, paper), center=False)
    lines(content.site_name, 1, bold=True, height_mult=2)
    if content.reprint:
        lines(f"*** {w.gettext('REPRINT')} ***", 1, bold=True)
    p.ln()
    lines(content.service_name, 2, bold=True, height_mult=2)
    if content.service_name_2:
        lines(content.service_name_2, 1)

    label = printable(content.label) or "?"
    mult = max(1, min(8, paper.columns // len(label)))
    style(True, mult, mult)
    p.textln(label)
    if content.priority:
        lines(content.priority, 2, bold=True, height_mult=2)
    if content.appointment_at is not None:
        at = f"{content.appointment_at:%H:%M}"
        lines(w.gettext("Appointment: {time}").format(time=at), 2, bold=True)
    style(False, 1, 1)  # some printers feed a blank line as tall as the current size
    p.ln()

    lines(w.gettext("People ahead of you: {n}").format(n=max(0, content.people_ahead)), 1)
    if content.wait_minutes is not None:
        wait = format_wait(content.wait_minutes, content.lang)
        lines(w.gettext("Estimated wait: {wait}").format(wait=wait), 1, bold=True)
    p.ln()
    lines(
        w.gettext(
            "Please take a seat and watch the screen. Your number will be shown and called out."
        ),
        1,
    )

    if print_qr(p, paper, content.follow_url, lambda: lines(w.gettext("Follow your ticket"), 1)):
        p.ln()
    style(False, 1, 1)
    p.textln(content.issued_at.strftime("%d/%m/%Y  %H:%M"))
    if content.footer:
        lines(content.footer, 1)
    p.print_and_feed(3)
    p.cut(feed=False)  # GS V 66 0: feed to the cutter, then a partial cut
    return bytes(p.output)
