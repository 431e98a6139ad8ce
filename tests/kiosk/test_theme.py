"""Readable by everyone: contrast of every text colour on its background, and no colour in a
kv file that does not come from the theme."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk import theme

KIOSK = Path(__file__).resolve().parents[2] / "kiosk"


@pytest.mark.parametrize(("fg", "bg"), theme.TEXT_ON)
def test_text_colour_contrast_is_at_least_4_5(fg: str, bg: str) -> None:
    ratio = theme.contrast_ratio(theme.HEX[fg], theme.HEX[bg])
    assert ratio >= 4.5, f"{fg} on {bg}: {ratio:.2f}:1"


def test_contrast_formula_matches_wcag_reference_values() -> None:
    assert theme.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert theme.contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)
    assert theme.contrast_ratio("#FFFFFF", "#FFFFFF") == pytest.approx(1.0)


def test_kv_files_take_their_text_colours_from_the_theme() -> None:
    """GIVEN every kv file WHEN a text colour is set THEN it names a theme colour (T.X), so
    the contrast test above covers it."""
    offenders = []
    for kv in KIOSK.rglob("*.kv"):
        for n, line in enumerate(kv.read_text(encoding="utf-8").splitlines(), 1):
            m = re.match(r"\s*(color|fg|button_fg|current_fg):\s*(.+)", line)
            if m and re.search(r"\(\s*[\d.]+\s*,", m.group(2)):
                offenders.append(f"{kv.name}:{n}: {line.strip()}")
    assert offenders == []


def test_two_centimetre_target_at_the_reference_panel() -> None:
    assert theme.TOUCH / theme.REFERENCE_DPI * 2.54 >= 2.0
    assert theme.scale_for(1024, 600) == 1.0
    assert theme.scale_for(600, 1024) == 1.0
    assert theme.scale_for(1920, 1080) == pytest.approx(1.8)
