"""The kiosk's look: palette, type sizes and touch-target sizes, in one place.

Sizes are in design pixels of the reference panel, a 7-inch 1024x600 touchscreen (about
170 dpi: sqrt(1024² + 600²) / 7 = 169.5). The kiosk multiplies them by ``scale`` (the window's
short side / 600), so a 1920x1080 screen (short side 1080) gets everything 1.8 times larger,
and a portrait 600x1024 screen the same sizes as the reference.

Every text colour is used on one background only; ``TEXT_ON`` lists those pairs so a test can
check each against the WCAG 2 contrast threshold for normal text (4.5:1).
"""

from __future__ import annotations

REFERENCE_SHORT_SIDE = 600
"""Short side of the reference panel (pixels)."""
REFERENCE_DPI = 170.0
"""Pixel density assumed for the reference 7-inch 1024x600 panel (dots per inch)."""
MIN_TOUCH_CM = 2.0
"""Smallest side of anything a finger must hit (centimetres)."""
TOUCH = round(MIN_TOUCH_CM / 2.54 * REFERENCE_DPI) + 2
"""Smallest touch target in design pixels (2 cm at 170 dpi is 134 px; a little margin)."""
MIN_FONT = 24
"""Smallest text allowed at 1024x600 (pixels)."""

# Type scale (design pixels).
FONT_SMALL = 24
FONT_BODY = 28
FONT_BUTTON = 30
FONT_TITLE = 40
FONT_HEADLINE = 52
FONT_CLOCK = 64
FONT_NUMBER = 200

# Service cards (design pixels): the services screen fits as many as these allow on a page.
CARD_PADDING = 12
CARD_SPACING = 6
CARD_TOP_ROW = 44
"""Height of a card's first row: the service's pictogram and its wait."""
CARD_MIN_WIDTH = 180
CARD_GAP = 12
"""Space between two cards."""


def rgba(hex_colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """Kivy colour (0..1 floats) from "#RRGGBB"."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    return (r, g, b, alpha)


# Palette (hex), calm blues on a warm paper white.
HEX = {
    "background": "#F3F1EC",
    "surface": "#FFFFFF",
    "ink": "#1C2B3A",
    "ink_muted": "#46525F",
    "header": "#1E3A56",
    "on_header": "#FFFFFF",
    "on_header_muted": "#D3DEE8",
    "primary": "#1F5F8B",
    "on_primary": "#FFFFFF",
    "secondary": "#E4EBF1",
    "on_secondary": "#1C2B3A",
    "closed": "#E2E0DB",
    "on_closed": "#4A4F55",
    "priority": "#5B3D7A",
    "on_priority": "#FFFFFF",
    "warning": "#FBEFCF",
    "on_warning": "#5A3A00",
    "danger": "#F8E0DC",
    "on_danger": "#8A1F14",
    "accent": "#226656",
    "border": "#C9CED4",
    "icon_bg": "#DCE8F1",
    "dot_online": "#2E8B57",
    "dot_offline": "#D98E04",
    "dot_error": "#C62828",
    "dot_never": "#8A939C",
}

TEXT_ON: list[tuple[str, str]] = [
    ("ink", "background"),
    ("ink_muted", "background"),
    ("ink", "surface"),
    ("ink_muted", "surface"),
    ("on_header", "header"),
    ("on_header_muted", "header"),
    ("on_primary", "primary"),
    ("on_secondary", "secondary"),
    ("on_closed", "closed"),
    ("on_priority", "priority"),
    ("on_warning", "warning"),
    ("on_danger", "danger"),
    ("primary", "surface"),
    ("primary", "background"),
    ("accent", "surface"),
    ("priority", "surface"),
]
"""(text colour, background colour) pairs the screens use."""

BACKGROUND = rgba(HEX["background"])
SURFACE = rgba(HEX["surface"])
INK = rgba(HEX["ink"])
INK_MUTED = rgba(HEX["ink_muted"])
HEADER = rgba(HEX["header"])
ON_HEADER = rgba(HEX["on_header"])
ON_HEADER_MUTED = rgba(HEX["on_header_muted"])
PRIMARY = rgba(HEX["primary"])
ON_PRIMARY = rgba(HEX["on_primary"])
SECONDARY = rgba(HEX["secondary"])
ON_SECONDARY = rgba(HEX["on_secondary"])
CLOSED = rgba(HEX["closed"])
ON_CLOSED = rgba(HEX["on_closed"])
PRIORITY = rgba(HEX["priority"])
ON_PRIORITY = rgba(HEX["on_priority"])
WARNING = rgba(HEX["warning"])
ON_WARNING = rgba(HEX["on_warning"])
DANGER = rgba(HEX["danger"])
ON_DANGER = rgba(HEX["on_danger"])
ACCENT = rgba(HEX["accent"])
BORDER = rgba(HEX["border"])
ICON_BG = rgba(HEX["icon_bg"])
DOT = {
    "online": rgba(HEX["dot_online"]),
    "offline": rgba(HEX["dot_offline"]),
    "error": rgba(HEX["dot_error"]),
    "never": rgba(HEX["dot_never"]),
}


def relative_luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b, _ = rgba(hex_colour)
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio between two colours (1 to 21)."""
    a, b = relative_luminance(fg), relative_luminance(bg)
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


def scale_for(width: float, height: float) -> float:
    """How much larger than the reference panel this window draws everything."""
    return max(0.5, min(width, height) / REFERENCE_SHORT_SIDE)


DIRECTIONAL_ICONS = frozenset({"back", "next"})
"""Pictograms that point along the reading direction: mirrored on the cards of a right-to-left
visit (the "other services" card's arrow points left)."""
