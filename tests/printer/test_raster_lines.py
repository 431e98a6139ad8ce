"""Text outside the printer's code page is printed as pictures of its lines, never as "?":
an Arabic ticket sent over TCP to the virtual printer, read back with the ESC/POS decoder."""

from __future__ import annotations

from dataclasses import replace

from PIL import Image, ImageChops

from config.printer import NetworkTransport, PrinterSettings
from printer import PrinterState, TicketContent, open_printer, raster, render_ticket
from printer.escpos_decode import EscposDecoder
from printer.print_engine import Picture, PrintedTicket, PrintEngine, TextLine
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE
from tests.printer.conftest import STATUS_PATIENCE
from tickets import rtl


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    if a.size != b.size:
        return False
    return ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is None


def test_an_arabic_ticket_prints_its_arabic_lines_as_pictures(
    virtual_printer: VirtualPrinter, reference: TicketContent
) -> None:
    """GIVEN a ticket in Arabic with an Arabic service name WHEN it is printed over TCP THEN
    the decoded print holds no "?", the number and the French site name are text, and each
    Arabic line is a GS v 0 picture of that line, shaped (joined letters) and right to left."""
    ticket = replace(
        reference, lang="ar", service_name="الحالة المدنية", service_name_2="État civil"
    )
    printer = open_printer(
        PrinterSettings(
            transport=NetworkTransport(host="127.0.0.1", port=virtual_printer.port),
            timeout_seconds=2,
            status_timeout_seconds=STATUS_PATIENCE,
        )
    )
    try:
        assert printer.print_ticket(ticket).state is PrinterState.READY
        virtual_printer.wait_for_tickets(1, timeout=PATIENCE)
    finally:
        printer.close()
    printed: PrintedTicket = virtual_printer.printed[0]
    texts = printed.text_lines()
    assert not any("?" in t for t in texts), texts
    assert printed.headline == "A042"
    assert "Mairie de Saint-Exemple" in texts
    assert "État civil" in texts
    assert not any(rtl.has_rtl(t) for t in texts)
    pictures = [e for e in printed.elements if isinstance(e, Picture) and e.kind == "raster"]
    # The service (double height), people ahead, wait, what to do next (two lines), follow.
    assert len(pictures) == 6
    service = raster.render_lines("الحالة المدنية", 576, 48, True)
    ahead = raster.render_lines("عدد الأشخاص أمامك: 3", 576, 24, False)
    assert service is not None and ahead is not None
    assert same_pixels(pictures[0].image, service[0].convert("1"))
    assert same_pixels(pictures[1].image, ahead[0].convert("1"))
    assert not any(line.startswith("[warning]") for line in printed.log)


def test_a_drawn_line_is_shaped_and_right_to_left() -> None:
    """The picture of an Arabic line is drawn from its presentation forms in visual order:
    "رقمك" (your number): reh alone (it never joins the next letter), then qaf initial, meem
    medial, kaf final; drawn left to right, so reh comes last."""
    shown = rtl.display_line("رقمك")
    assert shown == "\ufeda\ufee4\ufed7\ufead"
    assert rtl.display_line("A042") == "A042"
    mixed = rtl.display_line("عدد الأشخاص أمامك: 12")
    assert mixed.startswith("12 :")  # the number stays left to right, at the left end


def test_latin_letters_outside_the_code_page_are_drawn_not_replaced(
    reference: TicketContent,
) -> None:
    """GIVEN a Polish site name (ł is not in Windows-1252) THEN its line is a picture and the
    rest of the ticket stays text; a line inside the code page costs no picture."""
    content = replace(reference, site_name="Urząd Miasta Łódź", follow_url="")
    engine = PrintEngine(576)
    commands = EscposDecoder().feed(render_ticket(content, 80))
    (printed,) = [t for c in commands if (t := engine.apply(c)) is not None]
    texts = [e.text for e in printed.elements if isinstance(e, TextLine)]
    assert "État civil" in texts
    assert not any("?" in t or "Lodz" in t for t in texts)
    assert [e.kind for e in printed.elements if isinstance(e, Picture)] == ["raster"]
