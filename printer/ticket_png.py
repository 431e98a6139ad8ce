"""Draws a :class:`~printer.print_engine.PrintedTicket` as a PNG that looks like the thermal
ticket: white paper as wide as the roll, black 1-bit print within the head width (203 dpi, one
pixel per dot), DejaVu Sans for the printer's font (Pillow's own font if DejaVu is missing),
characters scaled like the printer scales them, and the cut at the bottom.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from printer.print_engine import CELL, Feed, Picture, PrintedTicket, Run, TextLine

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
DOTS_PER_MM = 203 / 25.4
TOP_MARGIN = 24
BORDER = 14
PAPER_GREY = (232, 232, 228)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.lru_cache(maxsize=64)
def _font(bold: bool, size: int) -> Font:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(str(FONT_DIR / name), size)
    except OSError:
        return ImageFont.load_default(size)


def _run_image(run: Run) -> Image.Image:
    """One run of text in its own cell height, scaled like the printer scales font A."""
    cell_h = CELL[1] * run.height
    size = 20 * run.height
    font = _font(run.bold, size)
    width = max(1, int(font.getlength(run.text)) + 2)
    img = Image.new("L", (width, cell_h), 0)
    draw = ImageDraw.Draw(img)
    baseline = round(cell_h * 19 / 24)
    draw.text((1, baseline), run.text, fill=255, font=font, anchor="ls")
    if run.underline:
        draw.line((0, baseline + 2, width, baseline + 2), fill=255, width=max(1, run.height))
    if run.width != run.height:
        img = img.resize(
            (max(1, round(width * run.width / run.height)), cell_h), Image.Resampling.LANCZOS
        )
    if run.invert:
        img = Image.eval(img, lambda v: 255 - v)
    return img


def _line_image(line: TextLine, max_width: int) -> Image.Image:
    parts = [_run_image(r) for r in line.runs]
    height = max(p.height for p in parts)
    width = sum(p.width for p in parts)
    img = Image.new("L", (max(1, width), height), 0)
    x = 0
    for part in parts:
        img.paste(part, (x, height - part.height))  # runs share the bottom of the line
        x += part.width
    if img.width > max_width:  # DejaVu is wider than font A on some lines: squeeze to fit
        img = img.resize((max_width, height), Image.Resampling.LANCZOS)
    return img


def _x(align: int, width: int, area: int) -> int:
    if align == 1:
        return (area - width) // 2
    if align == 2:
        return area - width
    return 0


def render_png(ticket: PrintedTicket, paper_mm: int) -> Image.Image:
    """The ticket as an RGB image: one pixel per printer dot, paper on a grey desk."""
    head = ticket.paper_dots
    blocks: list[tuple[Image.Image | None, int, int]] = []  # (ink, x, height)
    for element in ticket.elements:
        if isinstance(element, TextLine):
            if element.runs:
                text = _line_image(element, head)
                blocks.append((text, _x(element.align, text.width, head), element.height))
            else:
                blocks.append((None, 0, element.height))
        elif isinstance(element, Picture):
            picture = Image.eval(element.image.convert("L"), lambda v: 255 - v)
            blocks.append((picture, _x(element.align, picture.width, head), picture.height))
        elif isinstance(element, Feed):
            blocks.append((None, 0, element.dots))
    total = TOP_MARGIN + sum(h for _, _, h in blocks) + CELL[1]
    print_area = Image.new("L", (head, total), 0)
    y = TOP_MARGIN
    for ink, x, height in blocks:
        if ink is not None:
            print_area.paste(ink, (x, y))
        y += height
    # Thermal paper has no grey: a dot is burnt or not.
    dots = print_area.point(lambda v: 0 if v >= 110 else 255).convert("L")

    paper_w = max(head + 16, round(paper_mm * DOTS_PER_MM))
    page = Image.new("RGB", (paper_w + 2 * BORDER, total + 2 * BORDER), PAPER_GREY)
    draw = ImageDraw.Draw(page)
    draw.rectangle(  # soft shadow, then the paper
        (BORDER + 3, BORDER + 3, BORDER + paper_w + 2, BORDER + total + 2), fill=(205, 205, 200)
    )
    draw.rectangle((BORDER, BORDER, BORDER + paper_w - 1, BORDER + total - 1), fill="white")
    page.paste(dots.convert("RGB"), (BORDER + (paper_w - head) // 2, BORDER))
    cut_y = BORDER + total - 1
    if ticket.cut == "partial":
        for x0 in range(BORDER, BORDER + paper_w, 12):
            draw.line((x0, cut_y, min(x0 + 6, BORDER + paper_w - 1), cut_y), fill=(90, 90, 90))
    elif ticket.cut == "full":
        draw.line((BORDER, cut_y, BORDER + paper_w - 1, cut_y), fill=(90, 90, 90))
    return page
