"""The virtual printer's own ESC/POS decoder and print engine."""

from __future__ import annotations

from PIL import Image

from printer.escpos_decode import Command, EscposDecoder
from printer.print_engine import Picture, PrintEngine, TextLine
from printer.ticket import TicketContent, render_ticket

ESC, GS = b"\x1b", b"\x1d"


def run(data: bytes, paper_dots: int = 576) -> PrintEngine:
    engine = PrintEngine(paper_dots)
    for cmd in EscposDecoder().feed(data):
        engine.apply(cmd)
    return engine


def test_commands_are_recognised_with_their_arguments() -> None:
    data = (
        ESC + b"@" + ESC + b"t\x10" + ESC + b"a\x01" + GS + b"!\x77" + b"A1\n"
        + b"\x10\x04\x04" + GS + b"(k\x03\x001C\x06" + GS + b"VB\x00"
    )  # fmt: skip
    assert EscposDecoder().feed(data) == [
        Command("init"),
        Command("code_table", (16,)),
        Command("align", (1,)),
        Command("char_size", (0x77,)),
        Command("text", data=b"A1"),
        Command("lf"),
        Command("status_request", (4,)),
        Command("code2d", (ord("1"), ord("C")), b"\x06"),
        Command("cut", (66, 0)),
    ]


def test_split_anywhere_the_stream_decodes_the_same(reference: TicketContent) -> None:
    """GIVEN a ticket with a raster logo and a QR code, WHEN it arrives cut at every possible
    byte boundary THEN the decoder yields the same commands as in one piece."""
    logo = Image.new("1", (64, 16), 0)
    data = render_ticket(reference, 80, logo=logo)
    whole = EscposDecoder().feed(data)
    for cut in range(1, len(data)):
        decoder = EscposDecoder()
        parts = decoder.feed(data[:cut]) + decoder.feed(data[cut:])
        merged: list[Command] = []
        for cmd in parts:  # a text run split in two arrives as two text commands
            if merged and cmd.name == merged[-1].name == "text":
                merged[-1] = Command("text", data=merged[-1].data + cmd.data)
            else:
                merged.append(cmd)
        assert merged == whole, cut
        assert decoder.pending == 0


def test_status_request_inside_image_data_is_data_not_a_request() -> None:
    image_bytes = b"\x10\x04\x01\x10"  # one row of 4 bytes that looks like DLE EOT 1
    data = GS + b"v0\x00\x04\x00\x01\x00" + image_bytes + b"\x10\x04\x02"
    names = [c.name for c in EscposDecoder().feed(data)]
    assert names == ["raster", "status_request"]


def test_unknown_command_is_reported_not_printed() -> None:
    engine = run(ESC + b"\x07" + b"ok\n")
    assert engine.warnings == ["ignored command unknown 1b 07"]
    assert engine.ticket.text_lines() == ["ok"]
    assert "[warning] ignored command unknown 1b 07" in engine.ticket.log


def test_text_wraps_at_the_head_width_like_the_printer() -> None:
    engine = run(ESC + b"@" + GS + b"!\x11" + b"x" * 30 + b"\n")  # 2x: 24 columns on 576 dots
    lines = [e for e in engine.ticket.elements if isinstance(e, TextLine)]
    assert [len(line.text) for line in lines] == [24, 6]
    assert all(r.width == 2 and r.height == 2 for line in lines for r in line.runs)


def test_alignment_is_taken_at_the_start_of_a_line() -> None:
    engine = run(ESC + b"a\x01" + b"one" + ESC + b"a\x02" + b"\n" + b"two\n")
    lines = [e for e in engine.ticket.elements if isinstance(e, TextLine)]
    assert [(line.text, line.align) for line in lines] == [("one", 1), ("two", 2)]


def test_code_table_decides_how_bytes_read() -> None:
    cp437 = run(b"\x82t\xe9\n").ticket.text_lines()  # no ESC t: table 0, CP437
    cp1252 = run(ESC + b"t\x10" + b"\x82t\xe9\n").ticket.text_lines()
    assert cp437 == ["étΘ"]
    assert cp1252 == ["‚té"]


def test_cut_finishes_a_ticket_with_qr_and_log(reference: TicketContent) -> None:
    engine = PrintEngine(576)
    tickets = [
        t for c in EscposDecoder().feed(render_ticket(reference, 80)) if (t := engine.apply(c))
    ]
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket.cut == "partial"
    assert ticket.headline == "A042"
    assert "[center 8x8 bold] A042" in ticket.log
    qr = [e for e in ticket.elements if isinstance(e, Picture) and e.kind == "qr"]
    assert [q.data for q in qr] == [reference.follow_url]
    assert qr[0].image.width == 29 * 6  # version 3 symbol, 6-dot modules
    assert engine.warnings == []


def test_raster_image_bits_become_black_dots() -> None:
    # 16x2 dots: first row left byte all black, second row right byte all black.
    engine = run(GS + b"v0\x00\x02\x00\x02\x00" + b"\xff\x00\x00\xff")
    pictures = [e for e in engine.ticket.elements if isinstance(e, Picture)]
    image = pictures[0].image
    assert image.size == (16, 2)
    assert image.getpixel((0, 0)) == 0 and image.getpixel((8, 0)) == 255
    assert image.getpixel((0, 1)) == 255 and image.getpixel((15, 1)) == 0
