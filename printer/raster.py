"""Lines the printer's code page cannot print, drawn as small raster pictures.

A thermal printer prints text from its character ROM, one code page at a time: Arabic, Polish
``ł`` or Chinese are not in the ticket's Windows-1252 table. Such a line is drawn here with
Pillow in DejaVu Sans (the font the appliances install), one picture per printed line, at the
height of the ESC/POS text it replaces, and sent with ``GS v 0`` like the logo. Arabic is shaped
and laid out right to left first (:mod:`tickets.rtl`): Pillow's basic layout, like the printer,
draws one glyph per character, left to right.

A picture costs about 20 times the bytes of its text (docs/printer.md): only lines that need
it are drawn.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from PIL import Image

from tickets import rtl

log = logging.getLogger(__name__)

LINE_GAP = 6
"""Dots of white under each drawn line (the text lines' spacing is 30 dots for 24-dot cells)."""


@functools.cache
def _font(size: int, bold: bool) -> Any:
    from PIL import ImageFont

    # BASIC layout: the text is already shaped and in visual order. Pillow's RAQM layout
    # (when libraqm is present) would reorder it a second time.
    return ImageFont.truetype(rtl.FONT_FILES[bold], size, layout_engine=ImageFont.Layout.BASIC)


def wrap(text: str, width: int, font: Any) -> list[str]:
    """``text`` broken at spaces into lines (logical order) that fit ``width`` dots once
    shaped; a word wider than the line is cut."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and font.getlength(rtl.shape(candidate)) > width:
            lines.append(current)
            candidate = word
        while font.getlength(rtl.shape(candidate)) > width and len(candidate) > 1:
            cut = len(candidate)
            while cut > 1 and font.getlength(rtl.shape(candidate[:cut])) > width:
                cut -= 1
            lines.append(candidate[:cut])
            candidate = candidate[cut:]
        current = candidate
    if current:
        lines.append(current)
    return lines


def render_lines(text: str, width: int, height: int, bold: bool) -> list[Image.Image] | None:
    """One mode "1" picture per line of ``text`` wrapped to ``width`` dots, each ``height``
    dots of text plus a gap, as narrow as its ink (the printer centres it). None when the font
    is missing."""
    try:
        font = _font(height, bold)
    except OSError as exc:
        log.warning("cannot draw a line the code page lacks: %s", exc)
        return None
    pictures = []
    ascent, descent = font.getmetrics()
    for line in wrap(text, width, font):
        shown = rtl.display_line(line)
        # A whole number of bytes per row, as GS v 0 sends it.
        w = min(width, -(-(int(font.getlength(shown)) + 2) // 8) * 8)
        img = Image.new("1", (w, ascent + descent + LINE_GAP), 1)
        from PIL import ImageDraw

        ImageDraw.Draw(img).text((1, 0), shown, font=font, fill=0)
        pictures.append(img)
    return pictures
