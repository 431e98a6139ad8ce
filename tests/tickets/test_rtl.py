"""tickets/rtl.py without Kivy: shaping, reordering per line, brackets, untouched Latin."""

from __future__ import annotations

from tickets import rtl


def test_latin_text_goes_through_untouched() -> None:
    for text in ("A042", "Mairie de Saint-Exemple (centre)", "État civil : 3", ""):
        assert rtl.shape(text) == text
        assert rtl.visual_line(text) == text
        assert not rtl.has_rtl(text)


def test_arabic_is_shaped_in_logical_order_then_reordered_per_line() -> None:
    """Shaping keeps the logical order (the first letter first) and only changes letters;
    reordering draws the first letter rightmost, and the digits stay left to right."""
    shaped = rtl.shape("رقمك 12")
    assert shaped == "\ufead\ufed7\ufee4\ufeda 12"  # reh, qaf, meem, kaf: contextual forms
    assert rtl.visual_line(shaped) == "12 \ufeda\ufee4\ufed7\ufead"


def test_lam_alef_joins_into_one_ligature() -> None:
    assert "\ufefb" in rtl.shape("لا") or "\ufefc" in rtl.shape("لا")


def test_brackets_read_the_right_way_round() -> None:
    """The Rust bidi core reorders without mirroring glyphs: brackets are turned here, for a
    Latin word in brackets inside Arabic and for Arabic in brackets, nested too."""
    word = "الاجتماعي"
    assert rtl.visual_line(f"{word} (CCAS)") == "(CCAS) " + word[::-1]
    assert rtl.visual_line("(نص)") == "(صن)"
    assert rtl.visual_line("(أ (ب) ج)") == "(ج (ب) أ)"
