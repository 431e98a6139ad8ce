"""Service cards for sites of 1 to 16 services with long names, at every kiosk size.

The plan (kiosk/layout.py) is checked with a simple text measure; the screens are checked
from Kivy's widget tree: every text's drawn box (its texture, not only its widget) lies inside
its card, no two boxes overlap, no word is cut, every card is a touch target, and every
service is on a page.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kiosk import theme as T
from kiosk.layout import CardMetrics, CardTexts, plan_grid, shapes, split
from kiosk.selftest import KioskDriver
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE
from tests.kiosk.test_screens import to_services
from tests.sites import CATEGORIES, LONG_NAMES, big_site

SIZES = [(1024, 600), (1280, 800), (1920, 1080), (600, 1024)]
COUNTS = [1, 5, 9, 12, 16]


def fake_measure(text: str, font: float, width: float) -> tuple[float, float]:
    """Every character 0.6 em wide, lines 1.2 em high, wrapped at word boundaries."""
    words = text.split()
    lines, line = 1, 0.0
    for word in words:
        w = len(word) * 0.6 * font
        if line and line + 0.6 * font + w > width:
            lines, line = lines + 1, w
        else:
            line += (0.6 * font if line else 0) + w
    widest = max((len(w) * 0.6 * font for w in words), default=0.0)
    return widest, lines * 1.2 * font


METRICS = CardMetrics(
    padding=12, spacing=6, top_row=44, min_font=24, detail_font=24, min_height=136, min_width=180
)


def test_shapes_prefer_large_wide_cards() -> None:
    assert shapes(1, 760, 470, 12)[0] == (1, 1)
    assert shapes(4, 760, 470, 12)[0] == (2, 2)
    assert shapes(9, 760, 470, 12)[0] == (3, 3)


def test_split_keeps_pages_even() -> None:
    assert split(16, 2) == (tuple(range(8)), tuple(range(8, 16)))
    assert [len(p) for p in split(7, 3)] == [3, 2, 2]


def test_short_names_share_one_page_and_long_ones_take_two() -> None:
    short = [CardTexts(f"Service {i}", "10 min", "2 waiting") for i in range(9)]
    plan = plan_grid(short, 760, 470, 12, METRICS, fake_measure)
    assert (plan.cols, plan.rows, len(plan.pages)) == (3, 3, 1)
    long = [CardTexts(fr, "10 min", "2 waiting") for fr, _ in LONG_NAMES[:9]]
    more = CardTexts("Other services", "1 / 2")
    plan = plan_grid(long, 760, 470, 12, METRICS, fake_measure, more=more)
    assert plan.paged
    assert sorted(i for page in plan.pages for i in page) == list(range(9))
    w, h = plan.card_size
    assert w >= 180 and h >= 136
    for card in long:
        inner = w - 24
        word, height = fake_measure(card.name, 24, inner)
        assert word <= inner and height + 6 + 28.8 <= h - 24 - 44 - 6


def test_a_window_too_small_for_any_card_gets_one_card_per_page() -> None:
    plan = plan_grid([CardTexts("A"), CardTexts("B")], 100, 100, 12, METRICS, fake_measure)
    assert plan.pages == ((0,), (1,))
    assert (plan.cols, plan.rows) == (1, 2)  # the card and "other services"


# ---- on screen ---------------------------------------------------------------------------

OpenUI = Callable[..., KioskDriver]


def text_boxes(widget: Any) -> list[tuple[Any, tuple[float, float, float, float]]]:
    """Every visible label under ``widget`` with the box its texture is drawn in (window
    coordinates: x0, y0, x1, y1)."""
    from kivy.uix.label import Label

    out = []
    for w in widget.walk(restrict=True):
        if isinstance(w, Label) and w.text.strip() and shown(w):
            tw, th = w.texture_size
            cx, cy = w.to_window(w.center_x, w.center_y)
            out.append((w, (cx - tw / 2, cy - th / 2, cx + tw / 2, cy + th / 2)))
    return out


def shown(widget: Any) -> bool:
    """Whether ``widget`` is drawn: neither it nor a parent is fully transparent (a hidden
    card's texts are not on screen, wherever they are)."""
    while widget is not None:
        if widget.opacity == 0:
            return False
        widget = widget.parent if widget.parent is not widget else None
    return True


def layout_problems(d: KioskDriver, size: tuple[int, int]) -> list[str]:
    screen = d.screen("services")
    scale = T.scale_for(*size)
    problems: list[str] = []
    boxes: list[tuple[str, tuple[float, float, float, float]]] = []
    for card in screen.visible_cards():
        x0, y0 = card.to_window(card.x, card.y)
        x1, y1 = x0 + card.width, y0 + card.height
        if min(card.size) / scale < T.TOUCH - 0.5:
            problems.append(f"card {card.name!r} {card.size} under 2 cm")
        if x0 < -1 or y0 < -1 or x1 > size[0] + 1 or y1 > size[1] + 1:
            problems.append(f"card {card.name!r} outside the window")
        for label, (a, b, c, e) in text_boxes(card):
            if a < x0 - 1 or b < y0 - 1 or c > x1 + 1 or e > y1 + 1:
                problems.append(f"{label.text!r} leaves its card")
            problems += text_problems(label, scale)
            boxes.append((label.text, (a, b, c, e)))
    return problems + overlaps(boxes)


def text_problems(label: Any, scale: float) -> list[str]:
    """A label's text under the smallest font, or with a word wider than its box."""
    from kiosk.widgets import measure_text

    problems = []
    if label.font_size / scale < T.MIN_FONT - 0.01:
        problems.append(f"{label.text!r} at {label.font_size / scale:.1f} px")
    word, _ = measure_text(label.text, label.font_size, label.width, label.bold)
    if label.text_size[0] is not None and word > label.width + 0.5:
        problems.append(f"{label.text!r}: a word is cut")
    return problems


def overlaps(boxes: list[tuple[str, tuple[float, float, float, float]]]) -> list[str]:
    """ "a overlaps b" for each two named boxes (x0, y0, x1, y1) that overlap by over half a
    pixel."""
    problems = []
    for i, (t1, b1) in enumerate(boxes):
        for t2, b2 in boxes[i + 1 :]:
            if (
                b1[0] < b2[2] - 0.5
                and b2[0] < b1[2] - 0.5
                and b1[1] < b2[3] - 0.5
                and b2[1] < b1[3] - 0.5
            ):
                problems.append(f"{t1!r} overlaps {t2!r}")
    return problems


@pytest.mark.kivy
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_service_card_keeps_its_texts_inside_and_apart(
    open_ui: OpenUI, tmp_path: Path, size: tuple[int, int]
) -> None:
    """GIVEN sites of 1, 5, 9, 12 and 16 services with long names, some with people waiting,
    one closed WHEN the services screen shows each page THEN every text's drawn box lies inside
    its card, no two overlap, no word is cut, no text is under 24 design px, every card is a
    2 cm target, and each service appears on exactly one page."""
    problems: list[str] = []
    for n in COUNTS:
        d = open_ui(size, site_file=big_site(tmp_path / f"site-{n}.toml", n))
        for i in range(min(n, 4)):
            for _ in range(i * 3):
                d.runtime.core.take_number(f"s{i + 1}", None, "fr")
        to_services(d)
        screen = d.screen("services")
        seen: list[str] = []
        pages = len(screen._plan.pages)
        for page in range(pages):
            d.settle()
            shown = screen.visible_cards()
            seen += [c.service_id for c in shown if c.service_id]
            problems += [f"{n} services, page {page + 1}: {p}" for p in layout_problems(d, size)]
            shot = d.screenshot(tmp_path / f"services-{n}-{size[0]}x{size[1]}-p{page + 1}.png")
            if pages > 1:
                d.tap(shown[-1])  # "other services"
        assert sorted(seen) == sorted(f"s{i + 1}" for i in range(n))
        if pages > 1:
            assert screen.page == 0  # the last page's "other services" leads back to the first
        assert pages <= math.ceil(n / 3)  # at least three services on a page
        with Image.open(shot) as png:
            assert png.size == size
        d.close()
    assert problems == []


@pytest.mark.kivy
@pytest.mark.parametrize("size", [(1024, 600), (600, 1024)], ids=["1024x600", "600x1024"])
def test_a_one_stop_desk_chooses_a_category_then_a_need(
    open_ui: OpenUI, printer: VirtualPrinter, tmp_path: Path, size: tuple[int, int]
) -> None:
    """GIVEN 16 services sorted into 4 categories WHEN the visitor opens the services screen
    THEN the four categories are on one page, each with its shortest wait and its number of
    requests; touching one shows its services and "All requests", every text inside its card;
    a service taken there prints its ticket; "All requests" goes back."""
    site = big_site(tmp_path / "one-stop.toml", 16, categories=True)
    d = open_ui(size, site_file=site)
    to_services(d)
    screen = d.screen("services")
    d.settle()
    first = screen.visible_cards()
    assert [c.name for c in first] == [fr for _, fr, _, _ in CATEGORIES]
    assert first[1].detail == "5 démarches" and first[1].badge == "Sans attente"
    assert layout_problems(d, size) == []
    d.screenshot(tmp_path / f"categories-{size[0]}x{size[1]}.png")

    d.tap(first[1])  # Famille, enfance et solidarité
    d.settle()
    inside = screen.visible_cards()
    assert [c.service_id for c in inside] == ["s2", "s4", "s5", "s10", "s13", ""]
    assert inside[-1].name == "Toutes les démarches"
    assert layout_problems(d, size) == []
    d.screenshot(tmp_path / f"category-famille-{size[0]}x{size[1]}.png")

    d.tap(inside[-1])
    d.settle()
    assert [c.name for c in screen.visible_cards()] == [fr for _, fr, _, _ in CATEGORIES]
    d.tap(d.card("s7"))  # revealed in its category ("vie"), then touched
    ticket = d.screen("ticket")
    assert d.wait_until(lambda: d.current == "ticket" and ticket.state == "printed", PATIENCE)
    assert ticket.service_name == LONG_NAMES[6][0]
