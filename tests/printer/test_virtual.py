"""The virtual printer: PNG tickets that read like the real ones, and simulated faults."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal, cast

import pytest
import zxingcpp
from PIL import Image

from config.printer import PrinterSettings, VirtualTransport
from printer import PrinterState, TicketContent, open_printer, render_ticket
from printer.status import REQUEST_OFFLINE_CAUSE, REQUEST_PAPER, REQUEST_PRINTER
from printer.ticket_png import BORDER
from printer.virtual import VirtualPrinter


def qr_texts(png: Path) -> list[str]:
    with Image.open(png) as img:
        return [r.text for r in zxingcpp.read_barcodes(img)]


def tallest_ink_band(png: Path) -> int:
    """Height (pixels) of the tallest run of consecutive rows holding black print."""
    with Image.open(png) as img:
        grey = img.convert("L")
    width, height = grey.size
    best = run = 0
    for y in range(height):
        darkest, _ = cast(tuple[int, int], grey.crop((0, y, width, y + 1)).getextrema())
        run = run + 1 if darkest < 50 else 0
        best = max(best, run)
    return best


@pytest.mark.parametrize(("paper_mm", "paper_px"), [(80, 639), (58, 464)])
def test_reference_ticket_png_has_the_number_and_a_readable_qr(
    tmp_path: Path, reference: TicketContent, paper_mm: Literal[58, 80], paper_px: int
) -> None:
    printer = open_printer(
        PrinterSettings(transport=VirtualTransport(output_dir=tmp_path), paper_mm=paper_mm)
    )
    assert printer.print_ticket(reference).state is PrinterState.READY
    vp = printer.virtual
    assert vp is not None
    assert [p.name for p in vp.tickets] == ["0001-A042.png"]
    png = vp.tickets[0]
    log = (tmp_path / "0001-A042.txt").read_text(encoding="utf-8").splitlines()
    assert "[center 8x8 bold] A042" in log
    assert "[center 2x2 bold] État civil" in log
    assert "[center 1x1 bold] Attente estimée : 12 min" in log
    assert qr_texts(png) == [reference.follow_url]
    with Image.open(png) as img:
        assert img.width == paper_px + 2 * BORDER
        assert img.height > 700
    assert tallest_ink_band(png) >= 100  # the number: over 12 mm tall at 203 dpi


def test_faults_answer_like_an_epson_printer(tmp_path: Path) -> None:
    vp = VirtualPrinter(tmp_path)
    assert vp.feed(REQUEST_PRINTER + REQUEST_PAPER) == b"\x12\x12"
    vp.simulate("paper_near_end")
    assert vp.feed(REQUEST_PRINTER + REQUEST_PAPER) == b"\x12\x1e"
    vp.simulate("paper_out")
    assert vp.feed(REQUEST_PRINTER + REQUEST_OFFLINE_CAUSE + REQUEST_PAPER) == b"\x1a\x32\x7e"
    vp.simulate("cover_open")
    assert vp.feed(REQUEST_PRINTER + REQUEST_OFFLINE_CAUSE) == b"\x1a\x16"
    vp.simulate("no_answer")
    assert vp.feed(REQUEST_PRINTER) == b""
    with pytest.raises(ValueError, match="unknown fault"):
        vp.simulate("on_fire")


def test_a_ticket_sent_during_a_fault_comes_out_when_it_clears(
    tmp_path: Path, reference: TicketContent
) -> None:
    vp = VirtualPrinter(tmp_path)
    vp.simulate("cover_open")
    vp.feed(render_ticket(reference, 80))
    assert vp.tickets == []
    vp.simulate(None)
    assert [p.name for p in vp.tickets] == ["0001-A042.png"]


def test_file_names_keep_print_order_across_restarts(
    tmp_path: Path, reference: TicketContent
) -> None:
    first = VirtualPrinter(tmp_path)
    for label in ("A042", "B007"):
        first.feed(render_ticket(dataclasses.replace(reference, label=label), 80))
    second = VirtualPrinter(tmp_path)
    second.feed(render_ticket(dataclasses.replace(reference, label="C100"), 80))
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == ["0001-A042.png", "0002-B007.png", "0003-C100.png"]


def test_wait_for_tickets_gives_up_after_its_timeout(tmp_path: Path) -> None:
    with pytest.raises(TimeoutError, match="0 ticket"):
        VirtualPrinter(tmp_path).wait_for_tickets(1, timeout=0.05)


def test_logo_is_rendered_above_the_site_name(tmp_path: Path, reference: TicketContent) -> None:
    logo_file = tmp_path / "logo.png"
    Image.new("L", (200, 60), 0).save(logo_file)  # a black block
    out = tmp_path / "out"
    printer = open_printer(
        PrinterSettings(transport=VirtualTransport(output_dir=out), logo=logo_file)
    )
    printer.print_ticket(reference)
    log = (out / "0001-A042.txt").read_text(encoding="utf-8").splitlines()
    assert log[:2] == ["[image 200x60]", "[center 1x2 bold] Mairie de Saint-Exemple"]
    assert not [line for line in log if line.startswith("[warning]")]


def test_unreadable_logo_prints_without_it(tmp_path: Path, reference: TicketContent) -> None:
    printer = open_printer(
        PrinterSettings(transport=VirtualTransport(output_dir=tmp_path), logo=tmp_path / "no.png")
    )
    assert printer.logo is None
    assert printer.print_ticket(reference).state is PrinterState.READY
