"""How many service cards fit on one screen, in how many columns, on how many pages (no Kivy).

The services screen asks ``plan_grid`` for a plan: it tries page counts from one upwards and,
for each, every grid shape (columns x rows) with room for the page's cards, best shape first.
A shape fits when each card is at least a touch target high and wide enough, and every text
of every card fits it at the smallest allowed size, as ``measure`` says (the screen measures
with Kivy's text renderer; tests pass their own). When the cards need more than one page,
each page gets one more card that leads to the next page ("Other services"). The first plan
that fits wins: as few pages as possible, then the largest, best-shaped cards.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Measure = Callable[[str, float, float], tuple[float, float]]
"""``measure(text, font_size, width) -> (widest word, height)`` of text wrapped to ``width``."""

CARD_ASPECT = 1.6
"""Preferred width / height of a card: long names read better on wide cards."""


@dataclass(frozen=True, slots=True)
class CardTexts:
    """What one card must show, each text at the smallest size it may shrink to."""

    name: str
    badge: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CardMetrics:
    """A card's fixed parts, in window pixels."""

    padding: float
    spacing: float
    top_row: float
    """Height of the row with the icon and the wait."""
    min_font: float
    """Smallest size of any text (the wait may shrink to it, the name too)."""
    detail_font: float
    min_height: float
    """A card is a touch target: never lower than this."""
    min_width: float


@dataclass(frozen=True, slots=True)
class GridPlan:
    cols: int
    rows: int
    pages: tuple[tuple[int, ...], ...]
    """Indices of the cards on each page; with more than one page, each page also ends with
    the "other services" card."""
    card_size: tuple[float, float]

    @property
    def paged(self) -> bool:
        return len(self.pages) > 1


def shapes(slots: int, width: float, height: float, gap: float) -> list[tuple[int, int]]:
    """Grid shapes with room for ``slots`` cards, best first: the largest card (its height and
    its width over the preferred aspect, whichever is smaller), then the fewest empty slots."""
    found = []
    for cols in range(1, slots + 1):
        rows = math.ceil(slots / cols)
        if (rows - 1) * cols >= slots:
            continue
        w = (width - (cols - 1) * gap) / cols
        h = (height - (rows - 1) * gap) / rows
        found.append((-min(w / CARD_ASPECT, h), cols * rows - slots, cols, rows))
    return [(cols, rows) for _, _, cols, rows in sorted(found)]


def card_fits(texts: CardTexts, w: float, h: float, m: CardMetrics, measure: Measure) -> bool:
    if w < m.min_width or h < m.min_height:
        return False
    inner_w = w - 2 * m.padding
    inner_h = h - 2 * m.padding - m.top_row - m.spacing
    badge_w = inner_w - m.top_row - m.spacing
    word, badge_h = measure(texts.badge, m.min_font, badge_w)
    if word > badge_w or badge_h > m.top_row:
        return False
    word, name_h = measure(texts.name, m.min_font, inner_w)
    if word > inner_w:
        return False  # a word would be cut in two
    need = name_h
    if texts.detail:
        word, detail_h = measure(texts.detail, m.detail_font, inner_w)
        if word > inner_w:
            return False
        need += m.spacing + detail_h
    return need <= inner_h


def split(n: int, pages: int) -> tuple[tuple[int, ...], ...]:
    """``n`` cards over ``pages`` pages, as even as possible, the fuller pages first."""
    base, extra = divmod(n, pages)
    out, start = [], 0
    for p in range(pages):
        size = base + (1 if p < extra else 0)
        out.append(tuple(range(start, start + size)))
        start += size
    return tuple(out)


def plan_grid(
    cards: Sequence[CardTexts],
    width: float,
    height: float,
    gap: float,
    metrics: CardMetrics,
    measure: Measure,
    more: CardTexts | None = None,
) -> GridPlan:
    """The plan for ``cards`` in a ``width`` x ``height`` area (window pixels). ``more`` is the
    "other services" card added to each page when there are several."""
    n = len(cards)
    if n == 0:
        return GridPlan(1, 1, ((),), (width, height))
    for pages in range(1, n + 1):
        layout = split(n, pages)
        extra = 1 if pages > 1 else 0
        slots = max(len(p) for p in layout) + extra
        for cols, rows in shapes(slots, width, height, gap):
            w = (width - (cols - 1) * gap) / cols
            h = (height - (rows - 1) * gap) / rows
            texts = list(cards) + ([more] if extra and more is not None else [])
            if all(card_fits(t, w, h, metrics, measure) for t in texts):
                return GridPlan(cols, rows, layout, (w, h))
    # Not even one card per page fits (a window far too small): one card per page, and the
    # "other services" card below it.
    rows = 1 if n == 1 else 2
    return GridPlan(1, rows, split(n, n), (width, (height - (rows - 1) * gap) / rows))
