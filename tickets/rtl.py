"""Arabic shaped and right to left for renderers that do neither: Kivy's and the printer's.

Kivy (SDL2_ttf) and Pillow without libraqm draw one glyph per code point, left to right. Arabic
needs two steps they skip: **shaping** (each letter takes its initial, medial, final or isolated
form, and lam-alef joins) and **reordering** (a right-to-left paragraph reads from the right,
numbers and Latin words inside it stay left to right). Both are done here, with maintained
libraries: ``arabic-reshaper`` maps letters to their contextual presentation forms (U+FB50 to
U+FEFF, which DejaVu Sans draws), ``python-bidi`` (the Rust ``unicode-bidi`` crate) applies the
Unicode bidirectional algorithm.

The order matters: shape the whole logical text first (forms depend on the neighbours), break
it into lines in logical order, then reorder each line on its own, so the first line on the
screen holds the beginning of the sentence. :func:`shape` and :func:`visual_line` are those two
steps; :class:`ShapingCoreLabel` hooks them into a Kivy core text label, the one place where the
kiosk and the board hand text to the renderer.

A text holding no right-to-left letter goes through untouched, and neither library is imported
until one does: a French kiosk never loads them. A text holding Arabic letters is a
right-to-left paragraph (its first line starts at the right), whatever the language of the
screen around it.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_RTL_LETTERS = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
"""Hebrew, Arabic, Syriac, Thaana, N'Ko… and the Arabic presentation forms."""
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")

FONT_FILES = {
    False: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    True: "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
}
"""Fonts (by boldness) with Arabic presentation forms as well as Latin: Debian's
fonts-dejavu-core, installed on the appliances and by scripts/apt-deps.sh."""
FONT_NAME = "GuichetArabic"
"""The name Kivy knows them by."""


def has_rtl(text: str) -> bool:
    """Whether ``text`` holds a right-to-left letter (and so needs this module)."""
    return _RTL_LETTERS.search(text) is not None


@functools.cache
def _reshaper() -> Any:
    import arabic_reshaper

    # Harakat (short-vowel marks) kept; ligatures limited to those every Arabic font draws
    # (lam-alef): the decorative ones (ﷲ, ﷺ…) are missing from DejaVu Sans.
    config = {"delete_harakat": False, "support_ligatures": True}
    config.update(
        {
            name: False
            for name in arabic_reshaper.reshaper_config.default_config
            if name.startswith(("ARABIC LIGATURE ALLAH", "ARABIC LIGATURE SALLALLAHOU"))
            or name.startswith("ARABIC LIGATURE JALLAJALALOUHOU")
        }
    )
    return arabic_reshaper.ArabicReshaper(configuration=config)


def shape(text: str) -> str:
    """``text`` in logical order with its Arabic letters in their contextual forms (the
    characters that join change; the rest is left alone)."""
    if _ARABIC.search(text) is None:
        return text
    shaped: str = _reshaper().reshape(text)
    return shaped


def visual_line(line: str) -> str:
    """One line of (shaped) logical text in the order it is drawn, left to right. A line with
    right-to-left letters is a right-to-left paragraph; others come back unchanged."""
    if not has_rtl(line):
        return line
    from bidi import get_display

    shown: str = get_display(line, base_dir="R")
    return _mirror_brackets(shown)


_OPENERS = {"(": ")", "[": "]", "{": "}", "«": "»"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}


def _mirror_brackets(shown: str) -> str:
    """Turns the brackets of right-to-left runs the right way round. The Rust bidi core
    reorders without mirroring glyphs (the renderer's job, UAX #9 rule L4, which Kivy and
    Pillow do not do): a pair laid out right to left reads ``)…(``. A closing bracket met before
    any opening one, then its opening bracket, are such a pair and are swapped."""
    chars = list(shown)
    stack: list[tuple[int, str, bool]] = []  # (index, char, is a reversed pair's first half)
    for i, ch in enumerate(chars):
        if ch in _OPENERS:
            if stack and stack[-1][2] and _CLOSERS.get(stack[-1][1]) == ch:
                j = stack.pop()[0]
                chars[i], chars[j] = chars[j], chars[i]
            else:
                stack.append((i, ch, False))
        elif ch in _CLOSERS:
            if stack and not stack[-1][2] and _OPENERS[stack[-1][1]] == ch:
                stack.pop()
            else:
                stack.append((i, ch, True))
    return "".join(chars)


def display_line(text: str) -> str:
    """A single line of logical text ready for a renderer that neither shapes nor reorders
    (the printer's raster lines)."""
    return visual_line(shape(text))


class ShapingCoreLabel:
    """Mixin for a Kivy core text label class (``kivy.core.text.Label``): text holding Arabic
    is shaped when set, wrapped by Kivy in logical order, and each wrapped line reordered when
    drawn. Widths are measured on the shaped text, so lines break where they really end.

    Kept free of Kivy imports (this package never imports Kivy): each process makes its class
    with ``shaping_label_class(kivy.core.text.Label)``.
    """

    _text: str
    options: dict[str, Any]
    _base_font: Any = None
    _fonts: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        text, self._text = self._text, ""  # Kivy's constructor stores the text unseen
        self._set_text(text)

    def _get_text(self) -> str:
        return self._text

    def _set_text(self, text: str) -> None:
        if has_rtl(text):
            text = shape(text)
            self._use_font(True)
        elif self._base_font is not None:
            self._use_font(False)
        if text != self._text:
            self._text = text

    def _use_font(self, rtl: bool) -> None:
        """Kivy's own font (Roboto) has no Arabic: labels holding Arabic use DejaVu Sans,
        registered like Roboto (a regular and a bold file) so ``bold`` picks the bold face."""
        if rtl:
            if self._base_font is None:
                self._base_font = self.options.get("font_name")
            if FONT_NAME not in self._fonts:
                register = type(self).register  # type: ignore[attr-defined]
                register(FONT_NAME, FONT_FILES[False], fn_bold=FONT_FILES[True])
            self.options["font_name"] = FONT_NAME
        else:
            self.options["font_name"] = self._base_font
            self._base_font = None
        self.resolve_font_name()  # type: ignore[attr-defined]

    text = property(_get_text, _set_text)
    label = property(_get_text, _set_text)

    def render_lines(self, lines: Any, options: Any, render_text: Any, y: Any, size: Any) -> Any:
        # Drawn in visual order; the laid-out lines keep their logical text (a texture drawn
        # again from them must not be reordered twice).
        logical = []
        for line in lines:
            for word in line.words:
                if has_rtl(word.text):
                    logical.append((word, word.text))
                    word.text = visual_line(word.text)
        try:
            return super().render_lines(lines, options, render_text, y, size)  # type: ignore[misc]
        finally:
            for word, text in logical:
                word.text = text


def shaping_label_class(base: type) -> type:
    """``base`` (Kivy's core text label class) with :class:`ShapingCoreLabel` in front."""
    return type(f"Shaping{base.__name__}", (ShapingCoreLabel, base), {})


def install(label_module: Any) -> None:
    """Makes every Kivy ``Label`` shape and reorder its text: ``label_module`` is
    ``kivy.uix.label``, whose ``CoreLabel`` renders every label's text (markup labels
    excepted: they use ``CoreMarkupLabel``, so text that may be Arabic is never markup).
    Idempotent; call it before the first label is made."""
    if not issubclass(label_module.CoreLabel, ShapingCoreLabel):
        label_module.CoreLabel = shaping_label_class(label_module.CoreLabel)


class MirroredRow:
    """Mixin for a Kivy ``BoxLayout`` (listed before it): a horizontal row laid out from the
    right while the running app's ``rtl`` property is true, and laid out again when it changes.
    The subclass names the running app (``running_app = staticmethod(App.get_running_app)``):
    this package never imports Kivy."""

    orientation: str
    _trigger_layout: Any

    @staticmethod
    def running_app() -> Any:
        raise NotImplementedError

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        app = self.running_app()
        if app is not None and "rtl" in app.properties():
            app.bind(rtl=self._trigger_layout)

    def do_layout(self, *args: Any) -> None:
        super().do_layout(*args)  # type: ignore[misc]
        if self.orientation == "horizontal" and getattr(self.running_app(), "rtl", False):
            mirror_row(self)


def mirror_row(box: Any) -> None:
    """Mirrors a laid-out horizontal row of widgets (a Kivy ``BoxLayout`` after its
    ``do_layout``): the first child on the right, as a right-to-left reader expects."""
    for child in box.children:
        child.x = box.x + box.right - child.right
