"""The statistics charts, drawn on the server as SVG with pygal.

pygal is a maintained Python package that writes plain SVG (no browser library, nothing to
download at page load, works on a closed network). Its SVG carries a small script for
tooltips; we remove it, so pages keep a strict Content-Security-Policy (no inline script) and
every figure is also given as a table next to its chart.

pygal is imported only when a chart is drawn (the statistics page), and the import hook it
adds to ``sys.meta_path`` (for its map plugins, which we do not use) is taken out again: it
lacks ``find_spec`` and makes every later failed import in the process warn.

pygal lays a chart out left to right (time runs rightwards, the value axis on the left), so the
SVG is always drawn left to right, in an Arabic page too: each text of a right-to-left page is
isolated as right-to-left (Unicode RLI ... PDI) inside it, so it reads right but stays where
pygal anchored it (inheriting the page's ``direction: rtl`` would flip every anchor: axis labels
over the axis, legend texts over their keys and out of the frame).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any
from xml.etree import ElementTree

PALETTE = ("#1a4a8f", "#c2410c", "#0f7b55", "#a3307b", "#8a6100", "#2b7bb9", "#5b5f66")
"""Distinguishable colours (also in grey scale), each at least 4.5:1 on white."""
RLI, PDI = "\u2067", "\u2069"
"""Unicode's right-to-left isolate and its end."""
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'DejaVu Sans', Arial, sans-serif"


def _pygal() -> ModuleType:
    import pygal

    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]
    return pygal


def _style(colors: Sequence[str] = PALETTE) -> Any:
    style = _pygal().style
    return style.Style(
        background="transparent",
        plot_background="#ffffff",
        foreground="#161b26",
        foreground_strong="#161b26",
        foreground_subtle="#475163",
        guide_stroke_color="#cfd6e0",
        major_guide_stroke_color="#8b95a5",
        font_family=FONT,
        label_font_size=15,
        major_label_font_size=15,
        legend_font_size=15,
        title_font_size=16,
        value_font_size=14,
        tooltip_font_size=14,
        no_data_font_size=20,
        opacity=".9",
        opacity_hover="1",
        colors=tuple(colors),
    )


def _common(no_data: str) -> dict[str, Any]:
    return {
        "title": None,
        "js": [],
        "disable_xml_declaration": True,
        "no_data_text": no_data,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 2,
        "truncate_legend": -1,
        "truncate_label": -1,
        "show_y_guides": True,
        "width": 1100,
        "height": 420,
        "margin": 12,
        "margin_right": 56,
        "max_scale": 8,
        "print_values": False,
        "explicit_size": False,
        "classes": ["pygal-chart", "guichet-chart"],
        "tooltip_border_radius": 4,
        "x_title": None,
        "y_title": None,
    }


def axis_ticks(top: float, most: int = 8, *, whole: bool = False) -> list[float]:
    """Round values from 0 to at least ``top`` (steps of 1, 2 or 5 times a power of ten, at
    most ``most`` + 1 ticks; ``whole``: steps of at least 1), so the highest value sits under
    the highest labelled line."""
    if not top > 0:
        return [0.0, 1.0]
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1) if whole else step
    count = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def to_svg(chart: Any, label: str, *, rtl: bool = False) -> str:
    """The chart as inline SVG, without scripts, labelled for screen readers, laid out left
    to right; ``rtl``: its texts read right to left (the module's docstring says why)."""
    tree = chart.render_tree()
    for parent in tree.iter():
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.endswith("script"):
                parent.remove(child)
        text = isinstance(parent.tag, str) and parent.tag.endswith(("text", "tspan"))
        if rtl and text and parent.text and parent.text.strip():
            parent.text = RLI + parent.text + PDI
    tree.set("role", "img")
    tree.set("aria-label", label)
    tree.set("direction", "ltr")
    return ElementTree.tostring(tree, encoding="unicode")


def tickets_per_day(
    days: list[str],
    series: dict[str, list[int]],
    *,
    title: str,
    no_data: str,
    rtl: bool = False,
    number: Callable[[float], str] = lambda v: f"{v:g}",
) -> str:
    """Stacked bars: tickets per day, one colour per service."""
    top = max((sum(day) for day in zip(*series.values(), strict=True)), default=0)
    chart = _pygal().StackedBar(style=_style(), **_common(no_data))
    if top > 0:  # pygal fails on labels of an empty chart
        chart.y_labels = axis_ticks(top, whole=True)
        chart.range = (0, chart.y_labels[-1])
    chart.value_formatter = number
    chart.x_labels = days
    chart.x_label_rotation = -30 if len(days) > 10 else 0
    chart.show_minor_x_labels = len(days) <= 20
    chart.x_labels_major_every = max(1, len(days) // 10)
    for name, values in series.items():
        chart.add(name, values)
    return to_svg(chart, title, rtl=rtl)


def waiting_per_day(
    days: list[str],
    medians: dict[str, list[float | None]],
    p90s: dict[str, list[float | None]],
    *,
    title: str,
    median_label: Callable[[str], str],
    p90_label: Callable[[str], str],
    no_data: str,
    minutes: Callable[[float], str] = lambda v: f"{v:.1f} min",
    rtl: bool = False,
) -> str:
    """Lines in minutes: each service's median (solid) and 90th percentile (dashed);
    ``minutes`` writes a value of the axis ("4,5 min" in French)."""
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(medians))]
    known = [v for series in (*medians.values(), *p90s.values()) for v in series if v is not None]
    chart = _pygal().Line(
        style=_style(colors + colors),
        allow_interruptions=True,
        dots_size=4,
        range=(0, None),
        **_common(no_data),
    )
    if known:  # pygal fails on labels of an empty chart
        chart.y_labels = axis_ticks(max(known))
        chart.range = (0, chart.y_labels[-1])
    chart.x_labels = days
    chart.x_label_rotation = -30 if len(days) > 10 else 0
    chart.value_formatter = minutes
    for name, values in medians.items():
        chart.add(median_label(name), values)
    for name, values in p90s.items():
        chart.add(p90_label(name), values, stroke_style={"width": 2, "dasharray": "6, 5"})
    return to_svg(chart, title, rtl=rtl)


def arrivals_dots(
    weekdays: list[str],
    hours: list[str],
    counts: list[list[int]],
    *,
    title: str,
    no_data: str,
    rtl: bool = False,
) -> str:
    """A punch card: one row per weekday, one column per hour, dot size = arrivals."""
    chart = _pygal().Dot(
        style=_style([PALETTE[0]] * max(1, len(weekdays))),
        show_legend=False,
        **{**_common(no_data), "height": 90 + 60 * max(1, len(weekdays))},
    )
    chart.x_labels = hours
    for name, row in zip(weekdays, counts, strict=True):
        chart.add(name, row)
    return to_svg(chart, title, rtl=rtl)
