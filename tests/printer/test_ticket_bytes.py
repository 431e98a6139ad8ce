"""The exact ESC/POS bytes of a ticket (as python-escpos's own tests check its Dummy printer)."""

from __future__ import annotations

import dataclasses

import pytest
from PIL import Image, ImageDraw

from printer.escpos_decode import EscposDecoder
from printer.ticket import TicketContent, printable, render_ticket

ESC, GS = b"\x1b", b"\x1d"
URL = b"https://guichet.example.fr/t/7Hq2xK9p"


def qr_commands(module: int) -> bytes:
    """GS ( k, QR model 2: functions 165 (model), 167 (module size), 169 (error correction M),
    180 (store data), 181 (print)."""
    store_len = len(URL) + 3
    return (
        GS + b"(k\x04\x00" + b"1A" + b"2\x00"
        + GS + b"(k\x03\x00" + b"1C" + bytes([module])
        + GS + b"(k\x03\x00" + b"1E" + b"1"
        + GS + b"(k" + bytes([store_len & 0xFF, store_len >> 8]) + b"1P0" + URL
        + GS + b"(k\x03\x00" + b"1Q0"
    )  # fmt: skip


NEXT_STEP = {
    48: b"Asseyez-vous et regardez l'\xe9cran. Votre num\xe9ro y\nsera affich\xe9 et annonc\xe9.\n",
    32: b"Asseyez-vous et regardez\nl'\xe9cran. Votre num\xe9ro y sera\n"
    b"affich\xe9 et annonc\xe9.\n",
}
"""What happens next, wrapped to the paper's columns (80 mm: 48, 58 mm: 32)."""


def reference_bytes(module: int, columns: int = 48) -> bytes:
    return (
        ESC + b"@"  # initialise
        + ESC + b"t\x10"  # code table 16: WPC1252
        + ESC + b"a\x01"  # centre
        + GS + b"!\x01" + ESC + b"E\x01" + b"Mairie de Saint-Exemple\n"  # 1x2, bold
        + b"\n"
        + GS + b"!\x11" + b"\xc9tat civil\n"  # 2x2: "État civil" in CP1252
        + GS + b"!\x77" + b"A042\n"  # 8x8: the number
        + GS + b"!\x00" + ESC + b"E\x00" + b"\n"
        + b"Personnes avant vous : 3\n"
        + ESC + b"E\x01" + b"Attente estim\xe9e : 12 min\n"
        + b"\n"
        + ESC + b"E\x00" + NEXT_STEP[columns]
        + b"\n"
        + b"Suivez votre ticket\n"
        + qr_commands(module)
        + b"\n"
        + b"23/11/2026  14:05\n"
        + b"Merci de votre visite\n"
        + ESC + b"d\x03"  # feed 3 lines
        + GS + b"VB\x00"  # feed to the cutter, partial cut
    )  # fmt: skip


def test_reference_ticket_80mm_exact_bytes(reference: TicketContent) -> None:
    assert render_ticket(reference, 80) == reference_bytes(module=6)


def test_reference_ticket_58mm_differs_by_qr_module_size_and_wrapping(
    reference: TicketContent,
) -> None:
    assert render_ticket(reference, 58) == reference_bytes(module=5, columns=32)


def test_ticket_without_logo_stays_under_one_kilobyte(reference: TicketContent) -> None:
    long = dataclasses.replace(
        reference,
        service_name="Passeports et cartes nationales d'identité",
        service_name_2="Passports and identity cards",
        priority="Prioritaire",
        footer="Horaires : du lundi au vendredi de 8 h 30 à 12 h et de 13 h 30 à 17 h",
        follow_url="https://guichet.mairie-saint-exemple.fr/suivi/mairie/7Hq2xK9pLm3Nq8Rt",
    )
    for mm in (58, 80):
        assert len(render_ticket(long, mm)) <= 1024


def test_number_is_as_large_as_the_line_allows(reference: TicketContent) -> None:
    def size_byte(label: str, mm: int) -> int:
        data = render_ticket(dataclasses.replace(reference, label=label), mm)
        at = data.index(label.encode()) - 1
        assert data[at - 2 : at] == GS + b"!"
        return data[at]

    assert size_byte("A042", 80) == 0x77  # 8x8: 4 x 96 dots on a 576-dot line
    assert size_byte("A042", 58) == 0x77  # 8x8: exactly the 384-dot line
    assert size_byte("AB1234", 58) == 0x44  # 5x5: 6 x 60 dots fit 384
    assert size_byte("AB1234", 80) == 0x77


def test_french_characters_round_trip_through_the_code_page(reference: TicketContent) -> None:
    text = "é è à ç ô œ € Œ ù ï « »"
    data = render_ticket(dataclasses.replace(reference, footer=text), 80)
    assert data.count(ESC + b"t") == 1  # one code table for the whole ticket
    assert text.encode("cp1252") in data
    assert text.encode("cp1252").decode("cp1252") == text


def test_characters_outside_the_code_page_fall_back_to_their_base_letter() -> None:
    # ó and á are in CP1252 and stay; ź, ř lose their mark; Ł has no decomposition.
    assert printable("Łódź, Dvořák, 東京") == "Lódz, Dvorák, ??"


def test_control_characters_never_reach_the_printer(reference: TicketContent) -> None:
    hostile = dataclasses.replace(
        reference,
        site_name="Mairie\x1bd\x40\x1dV\x00",
        footer="ligne\nsuivante\tfin\x10\x04\x01",
    )
    data = render_ticket(hostile, 80)
    commands = EscposDecoder().feed(data)
    texts = [c.data for c in commands if c.name == "text"]
    assert b"Mairie d@ V" in texts
    assert b"ligne suivante fin" in texts
    assert [c.name for c in commands].count("cut") == 1
    assert "status_request" not in [c.name for c in commands]
    assert "unknown" not in [c.name for c in commands]


def test_english_words_reprint_and_priority(reference: TicketContent) -> None:
    content = dataclasses.replace(
        reference, lang="en", reprint=True, priority="Priority", wait_minutes=75
    )
    data = render_ticket(content, 80)
    assert b"*** REPRINT ***\n" in data
    assert b"People ahead of you: 3\n" in data  # English puts no space before a colon
    assert b"Estimated wait: 1 h 15\n" in data
    assert (
        b"Please take a seat and watch the screen. Your\nnumber will be shown and called out.\n"
        in data
    )
    assert b"Priority\n" in data
    assert b"*** DUPLICATA ***\n" in render_ticket(dataclasses.replace(content, lang="fr"), 80)
    assert b"DUPLICATA" not in render_ticket(reference, 80)


def test_no_estimate_no_url_no_footer_prints_neither(reference: TicketContent) -> None:
    data = render_ticket(
        dataclasses.replace(reference, wait_minutes=None, follow_url="", footer=""), 80
    )
    assert b"Attente" not in data
    assert GS + b"(k" not in data
    assert b"Suivez" not in data
    assert data.endswith(b"23/11/2026  14:05\n" + ESC + b"d\x03" + GS + b"VB\x00")


def test_logo_is_a_centred_raster_image_fitted_to_the_paper(reference: TicketContent) -> None:
    logo = Image.new("L", (800, 200), 255)
    ImageDraw.Draw(logo).rectangle((100, 50, 700, 150), fill=0)
    for mm, width_bytes in ((80, 48), (58, 48)):
        data = render_ticket(reference, mm, logo=logo)
        commands = EscposDecoder().feed(data)
        raster = [c for c in commands if c.name == "raster"]
        assert len(raster) == 1
        m, wb, height = raster[0].args
        # 800x200 scaled into the 384x96 logo box: 384x96 dots, 48 bytes a row.
        assert (m, wb, height) == (0, width_bytes, 96)
        names = [c.name for c in commands]
        assert names.index("align") < names.index("raster")  # centred by ESC a 1


@pytest.mark.parametrize("mm", [57, 110])
def test_unknown_paper_width_is_refused(reference: TicketContent, mm: int) -> None:
    with pytest.raises(ValueError, match="58 or 80"):
        render_ticket(reference, mm)
