"""Pictograms drawn with Kivy canvas instructions (no image files, no third-party icon set).

Each drawing works in a unit square (0..1, origin bottom left) that ``KioskIcon`` maps onto its
widget. Service icons are named in the site file (``icon = "family"``); an unknown name draws
the generic document.
"""

from __future__ import annotations

from collections.abc import Callable

from kivy.graphics import (
    Color,
    Ellipse,
    Line,
    PopMatrix,
    PushMatrix,
    Rectangle,
    RoundedRectangle,
    Scale,
    Triangle,
)
from kivy.properties import BooleanProperty, ColorProperty, StringProperty
from kivy.uix.widget import Widget

Draw = Callable[["_Pen"], None]


class _Pen:
    """Draws in unit coordinates onto a widget's canvas."""

    def __init__(self, x: float, y: float, size: float, fg: tuple, bg: tuple) -> None:
        self.x, self.y, self.s = x, y, size
        self.fg, self.bg = fg, bg

    def p(self, u: float, v: float) -> tuple[float, float]:
        return (self.x + u * self.s, self.y + v * self.s)

    def ink(self, background: bool = False) -> None:
        Color(*(self.bg if background else self.fg))

    def disc(self, cu: float, cv: float, r: float) -> None:
        x, y = self.p(cu - r, cv - r)
        Ellipse(pos=(x, y), size=(2 * r * self.s, 2 * r * self.s))

    def box(self, u: float, v: float, w: float, h: float, radius: float = 0.0) -> None:
        pos, size = self.p(u, v), (w * self.s, h * self.s)
        if radius:
            RoundedRectangle(pos=pos, size=size, radius=[radius * self.s])
        else:
            Rectangle(pos=pos, size=size)

    def tri(self, *uv: float) -> None:
        pts: list[float] = []
        for i in range(0, len(uv), 2):
            pts.extend(self.p(uv[i], uv[i + 1]))
        Triangle(points=pts)

    def line(self, *uv: float, width: float = 0.05, close: bool = False) -> None:
        pts: list[float] = []
        for i in range(0, len(uv), 2):
            pts.extend(self.p(uv[i], uv[i + 1]))
        Line(points=pts, width=max(1.0, width * self.s), close=close, cap="round", joint="round")

    def ring(self, cu: float, cv: float, r: float, width: float = 0.05) -> None:
        cx, cy = self.p(cu, cv)
        Line(circle=(cx, cy, r * self.s), width=max(1.0, width * self.s))


def _family(p: _Pen) -> None:
    p.ink()
    p.disc(0.33, 0.72, 0.11)
    p.box(0.18, 0.12, 0.30, 0.46, 0.12)
    p.disc(0.66, 0.66, 0.09)
    p.box(0.54, 0.12, 0.24, 0.40, 0.10)
    p.disc(0.5, 0.40, 0.06)


def _passport(p: _Pen) -> None:
    p.ink()
    p.box(0.2, 0.08, 0.6, 0.84, 0.06)
    p.ink(background=True)
    p.ring(0.5, 0.56, 0.17, 0.035)
    p.line(0.33, 0.56, 0.67, 0.56, width=0.03)
    p.line(0.5, 0.39, 0.5, 0.73, width=0.03)
    p.box(0.33, 0.2, 0.34, 0.05)


def _building(p: _Pen) -> None:
    p.ink()
    p.tri(0.1, 0.68, 0.9, 0.68, 0.5, 0.92)
    p.box(0.1, 0.1, 0.8, 0.08)
    p.box(0.14, 0.62, 0.72, 0.06)
    for u in (0.18, 0.37, 0.56, 0.75):
        p.box(u, 0.18, 0.07, 0.44)


def _hands(p: _Pen) -> None:
    p.ink()
    p.disc(0.35, 0.6, 0.17)
    p.disc(0.65, 0.6, 0.17)
    p.tri(0.19, 0.54, 0.81, 0.54, 0.5, 0.14)
    p.box(0.3, 0.5, 0.4, 0.12)


def _document(p: _Pen) -> None:
    p.ink()
    p.box(0.22, 0.08, 0.56, 0.84, 0.05)
    p.ink(background=True)
    for v in (0.66, 0.52, 0.38, 0.24):
        p.box(0.32, v, 0.36, 0.05)


def _ticket(p: _Pen) -> None:
    p.ink()
    p.box(0.12, 0.24, 0.76, 0.52, 0.06)
    p.ink(background=True)
    p.disc(0.12, 0.5, 0.08)
    p.disc(0.88, 0.5, 0.08)
    for v in (0.34, 0.46, 0.58):
        p.box(0.38, v, 0.05, 0.06)


def _clock(p: _Pen) -> None:
    p.ink()
    p.ring(0.5, 0.5, 0.38, 0.07)
    p.line(0.5, 0.5, 0.5, 0.74, width=0.06)
    p.line(0.5, 0.5, 0.68, 0.42, width=0.06)


def _calendar(p: _Pen) -> None:
    p.ink()
    p.box(0.14, 0.12, 0.72, 0.68, 0.06)
    p.box(0.28, 0.74, 0.08, 0.14, 0.03)
    p.box(0.64, 0.74, 0.08, 0.14, 0.03)
    p.ink(background=True)
    p.box(0.2, 0.18, 0.6, 0.46)
    p.ink()
    for u in (0.26, 0.44, 0.62):
        for v in (0.46, 0.26):
            p.box(u, v, 0.12, 0.12)


def _printer(p: _Pen) -> None:
    p.ink()
    p.box(0.28, 0.6, 0.44, 0.28)
    p.box(0.1, 0.3, 0.8, 0.34, 0.06)
    p.box(0.28, 0.08, 0.44, 0.3)
    p.ink(background=True)
    p.box(0.33, 0.13, 0.34, 0.2)


def _person(p: _Pen) -> None:
    p.disc(0.5, 0.8, 0.11)
    p.box(0.36, 0.34, 0.28, 0.36, 0.1)
    p.box(0.38, 0.08, 0.1, 0.3)
    p.box(0.52, 0.08, 0.1, 0.3)


def _pregnancy(p: _Pen) -> None:
    p.ink()
    _person(p)
    p.disc(0.62, 0.5, 0.14)


def _disability(p: _Pen) -> None:
    p.ink()
    p.disc(0.44, 0.84, 0.09)
    p.line(0.42, 0.7, 0.42, 0.44, 0.68, 0.44, 0.76, 0.16, width=0.07)
    p.line(0.42, 0.6, 0.62, 0.6, width=0.06)
    p.ring(0.42, 0.32, 0.22, 0.06)


def _age(p: _Pen) -> None:
    p.ink()
    p.disc(0.42, 0.82, 0.1)
    p.line(0.42, 0.7, 0.48, 0.44, width=0.09)
    p.line(0.48, 0.44, 0.38, 0.1, width=0.07)
    p.line(0.48, 0.44, 0.58, 0.1, width=0.07)
    p.line(0.46, 0.64, 0.68, 0.5, width=0.06)
    p.line(0.7, 0.56, 0.7, 0.08, width=0.05)


def _arrow_down(p: _Pen) -> None:
    p.ink()
    p.box(0.4, 0.42, 0.2, 0.48)
    p.tri(0.18, 0.46, 0.82, 0.46, 0.5, 0.1)


def _language(p: _Pen) -> None:
    p.ink()
    p.ring(0.5, 0.5, 0.38, 0.06)
    p.line(0.12, 0.5, 0.88, 0.5, width=0.05)
    p.line(0.5, 0.12, 0.5, 0.88, width=0.05)
    p.line(0.5, 0.88, 0.32, 0.5, 0.5, 0.12, width=0.05)
    p.line(0.5, 0.88, 0.68, 0.5, 0.5, 0.12, width=0.05)


def _priority(p: _Pen) -> None:
    p.ink()
    p.tri(0.5, 0.9, 0.2, 0.5, 0.8, 0.5)
    p.box(0.38, 0.12, 0.24, 0.42)


def _back(p: _Pen) -> None:
    p.ink()
    p.tri(0.1, 0.5, 0.45, 0.82, 0.45, 0.18)
    p.box(0.4, 0.4, 0.5, 0.2)


def _next(p: _Pen) -> None:
    p.ink()
    p.tri(0.9, 0.5, 0.55, 0.82, 0.55, 0.18)
    p.box(0.1, 0.4, 0.5, 0.2)


def _sound(p: _Pen) -> None:
    p.ink()
    p.box(0.1, 0.36, 0.18, 0.28)
    p.tri(0.22, 0.5, 0.5, 0.84, 0.5, 0.16)
    p.box(0.22, 0.36, 0.12, 0.28)
    p.line(0.62, 0.36, 0.68, 0.5, 0.62, 0.64, width=0.06)
    p.line(0.74, 0.24, 0.86, 0.5, 0.74, 0.76, width=0.06)


ICONS: dict[str, Draw] = {
    "family": _family,
    "passport": _passport,
    "building": _building,
    "hands": _hands,
    "document": _document,
    "ticket": _ticket,
    "clock": _clock,
    "calendar": _calendar,
    "printer": _printer,
    "pregnancy": _pregnancy,
    "disability": _disability,
    "age": _age,
    "arrow_down": _arrow_down,
    "language": _language,
    "priority": _priority,
    "back": _back,
    "next": _next,
    "sound": _sound,
}


class KioskIcon(Widget):
    """A square pictogram centred in the widget. ``background`` is the colour under it (used
    to cut details out of filled shapes)."""

    name = StringProperty("document")
    color = ColorProperty((0, 0, 0, 1))
    background = ColorProperty((1, 1, 1, 1))
    mirrored = BooleanProperty(False)
    """Drawn left to right reversed: the arrows of a right-to-left visit ("back", "next")."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.bind(
            pos=self._redraw,
            size=self._redraw,
            name=self._redraw,
            color=self._redraw,
            background=self._redraw,
            mirrored=self._redraw,
        )

    def _redraw(self, *_: object) -> None:
        self.canvas.clear()
        side = min(self.width, self.height)
        if side <= 0:
            return
        pen = _Pen(
            self.x + (self.width - side) / 2,
            self.y + (self.height - side) / 2,
            side,
            tuple(self.color),
            tuple(self.background),
        )
        with self.canvas:
            if self.mirrored:
                # Not ``self.center``: a cached alias, still the old centre when a ``pos``
                # change (a mirrored row moving the icon) calls this; the arrow was then
                # flipped around its old place, out of sight.
                PushMatrix()
                Scale(-1, 1, 1, origin=(self.x + self.width / 2, self.y + self.height / 2))
            ICONS.get(self.name, _document)(pen)
            if self.mirrored:
                PopMatrix()
