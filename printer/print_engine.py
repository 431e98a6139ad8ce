"""The virtual printer's print engine: applies decoded ESC/POS commands as a thermal printer
does (modes, code table, line wrapping at the head width, alignment taken at the start of each
line) and collects what lands on the paper until the cut.

Each finished ticket is a :class:`PrintedTicket`: the printed elements (text lines, pictures,
feeds) for the PNG renderer, and a plain-text log of what was printed, for people and tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from printer.escpos_decode import Command

CODE_TABLES = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
}
"""ESC t n tables the engine decodes (Epson numbering)."""
CELL = (12, 24)
"""Font A character cell (dots)."""
DEFAULT_LINE_SPACING = 30
"""ESC 2 line spacing (dots): about 3.75 mm at 203 dpi."""
ALIGN_NAMES = ("left", "center", "right")
_EC_NAMES = {48: "L", 49: "M", 50: "Q", 51: "H"}


@dataclass(frozen=True)
class Run:
    text: str
    width: int
    height: int
    bold: bool
    underline: bool = False
    invert: bool = False


@dataclass(frozen=True)
class TextLine:
    runs: tuple[Run, ...]
    align: int
    spacing: int
    """Line spacing in force (dots); the line is at least as tall as its largest character."""

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)

    @property
    def height(self) -> int:
        tallest = max((r.height for r in self.runs), default=0) * CELL[1]
        return max(self.spacing, tallest)


@dataclass(frozen=True)
class Picture:
    image: Image.Image
    """Mode "1" picture, black where dots are printed."""
    align: int
    kind: str
    """"qr" or "raster"."""
    data: str = ""


@dataclass(frozen=True)
class Feed:
    dots: int


Element = TextLine | Picture | Feed


@dataclass
class PrintedTicket:
    paper_dots: int
    elements: list[Element] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    cut: str = ""

    def text_lines(self) -> list[str]:
        return [e.text for e in self.elements if isinstance(e, TextLine)]

    @property
    def headline(self) -> str:
        """The text printed largest (the ticket number on Guichet tickets)."""
        best, best_size = "", 0
        for e in self.elements:
            if isinstance(e, TextLine) and e.runs:
                size = max(r.width * r.height for r in e.runs)
                if size > best_size and e.text.strip():
                    best, best_size = e.text.strip(), size
        return best


class PrintEngine:
    def __init__(self, paper_dots: int) -> None:
        self.paper_dots = paper_dots
        self.ticket = PrintedTicket(paper_dots)
        self.warnings: list[str] = []
        self._reset_modes()
        self._runs: list[Run] = []
        self._cells = 0
        self._line_align = 0

    def _reset_modes(self) -> None:
        self.code_table = 0
        self.align = 0
        self.width = self.height = 1
        self.bold = self.underline = self.invert = False
        self.spacing = DEFAULT_LINE_SPACING
        self.qr_model, self.qr_module, self.qr_ec, self.qr_data = 50, 3, 48, b""

    def apply(self, cmd: Command) -> PrintedTicket | None:
        """Applies one command; returns the finished ticket when the command cuts the paper."""
        handler = getattr(self, f"_do_{cmd.name}", None)
        if handler is None:
            self._warn(f"ignored command {cmd.name} {cmd.data[:8].hex(' ')}".rstrip())
            return None
        result: PrintedTicket | None = handler(cmd)
        return result

    def _warn(self, text: str) -> None:
        self.warnings.append(text)
        self.ticket.log.append(f"[warning] {text}")

    # Text and lines.
    def _do_text(self, cmd: Command) -> None:
        codec = CODE_TABLES.get(self.code_table, "cp437")
        text = cmd.data.decode(codec, errors="replace")
        capacity = self.paper_dots // CELL[0]
        for ch in text:
            if self._cells + self.width > capacity:
                self._end_line()
            if not self._runs:
                self._line_align = self.align
            self._cells += self.width
            run = Run(ch, self.width, self.height, self.bold, self.underline, self.invert)
            last = self._runs[-1] if self._runs else None
            if last and (last.width, last.height, last.bold, last.underline, last.invert) == (
                run.width,
                run.height,
                run.bold,
                run.underline,
                run.invert,
            ):
                self._runs[-1] = Run(last.text + ch, *_style(last))
            else:
                self._runs.append(run)

    def _end_line(self) -> None:
        line = TextLine(tuple(self._runs), self._line_align, self.spacing)
        self.ticket.elements.append(line)
        if line.runs:
            first = line.runs[0]
            style = f"{ALIGN_NAMES[line.align]} {first.width}x{first.height}"
            style += " bold" if first.bold else ""
            self.ticket.log.append(f"[{style}] {line.text}")
        else:
            self.ticket.log.append("")
        self._runs, self._cells = [], 0

    def _flush_partial_line(self) -> None:
        if self._runs:
            self._end_line()

    def _do_lf(self, cmd: Command) -> None:
        self._end_line()

    def _do_cr(self, cmd: Command) -> None:
        pass  # Epson: CR is ignored when auto line feed is off (the default)

    def _do_ht(self, cmd: Command) -> None:
        self._do_text(Command("text", data=b" "))

    def _do_feed_lines(self, cmd: Command) -> None:
        self._flush_partial_line()
        self.ticket.elements.append(Feed(cmd.args[0] * self.spacing))
        self.ticket.log.append(f"[feed {cmd.args[0]} lines]")

    def _do_feed_dots(self, cmd: Command) -> None:
        self._flush_partial_line()
        self.ticket.elements.append(Feed(cmd.args[0]))

    # Modes.
    def _do_init(self, cmd: Command) -> None:
        self._runs, self._cells = [], 0
        self._reset_modes()

    def _do_code_table(self, cmd: Command) -> None:
        self.code_table = cmd.args[0]
        if self.code_table not in CODE_TABLES:
            self._warn(f"code table {self.code_table} not decoded; using CP437")

    def _do_align(self, cmd: Command) -> None:
        self.align = {0: 0, 1: 1, 2: 2, 48: 0, 49: 1, 50: 2}.get(cmd.args[0], 0)

    def _do_bold(self, cmd: Command) -> None:
        self.bold = bool(cmd.args[0] & 1)

    def _do_double_strike(self, cmd: Command) -> None:
        self.bold = bool(cmd.args[0] & 1)

    def _do_underline(self, cmd: Command) -> None:
        self.underline = cmd.args[0] in (1, 2, 49, 50)

    def _do_invert(self, cmd: Command) -> None:
        self.invert = bool(cmd.args[0] & 1)

    def _do_char_size(self, cmd: Command) -> None:
        n = cmd.args[0]
        self.width, self.height = (n >> 4 & 0x07) + 1, (n & 0x07) + 1

    def _do_print_mode(self, cmd: Command) -> None:
        n = cmd.args[0]
        self.bold = bool(n & 0x08)
        self.height = 2 if n & 0x10 else 1
        self.width = 2 if n & 0x20 else 1
        self.underline = bool(n & 0x80)

    def _do_line_spacing(self, cmd: Command) -> None:
        self.spacing = cmd.args[0]

    def _do_line_spacing_default(self, cmd: Command) -> None:
        self.spacing = DEFAULT_LINE_SPACING

    def _do_font(self, cmd: Command) -> None:
        pass  # font B is drawn like font A

    # Pictures.
    def _do_code2d(self, cmd: Command) -> None:
        cn, fn = cmd.args
        if cn != 49:
            self._warn(f"2D code type {cn} not rendered")
            return
        if fn == 65:
            self.qr_model = cmd.data[0] if cmd.data else 50
        elif fn == 67:
            self.qr_module = max(1, min(16, cmd.data[0])) if cmd.data else 3
        elif fn == 69:
            self.qr_ec = cmd.data[0] if cmd.data else 48
        elif fn == 80:
            self.qr_data = cmd.data[1:]  # first byte: m = 48
        elif fn == 81:
            self._print_qr()
        else:
            self._warn(f"QR function {fn} ignored")

    def _print_qr(self) -> None:
        import qrcode

        self._flush_partial_line()
        if not self.qr_data:
            self._warn("QR print without stored data")
            return
        levels = {
            48: qrcode.constants.ERROR_CORRECT_L,
            49: qrcode.constants.ERROR_CORRECT_M,
            50: qrcode.constants.ERROR_CORRECT_Q,
            51: qrcode.constants.ERROR_CORRECT_H,
        }
        qr = qrcode.QRCode(
            version=None,
            error_correction=levels.get(self.qr_ec, qrcode.constants.ERROR_CORRECT_L),
            box_size=self.qr_module,
            border=0,
        )
        qr.add_data(self.qr_data)
        qr.make(fit=True)
        image = qr.make_image().get_image().convert("1")
        text = self.qr_data.decode("utf-8", errors="replace")
        self.ticket.elements.append(Picture(image, self.align, "qr", text))
        ec = _EC_NAMES.get(self.qr_ec, "?")
        self.ticket.log.append(
            f"[qr model={self.qr_model - 48} module={self.qr_module} ec={ec} "
            f"{image.width}x{image.height}] {text}"
        )

    def _do_raster(self, cmd: Command) -> None:
        self._flush_partial_line()
        m, width_bytes, height = cmd.args
        if not width_bytes or not height:
            return
        # GS v 0 sends 1 for a printed dot; Pillow's mode "1" stores 1 for white.
        image = Image.frombytes("1", (width_bytes * 8, height), bytes(b ^ 0xFF for b in cmd.data))
        sx, sy = (2 if m in (1, 3, 49, 51) else 1), (2 if m in (2, 3, 50, 51) else 1)
        if sx > 1 or sy > 1:
            image = image.resize((image.width * sx, image.height * sy), Image.Resampling.NEAREST)
        if image.width > self.paper_dots:
            self._warn(f"image {image.width} dots wide, paper {self.paper_dots}: clipped")
            image = image.crop((0, 0, self.paper_dots, image.height))
        self.ticket.elements.append(Picture(image, self.align, "raster"))
        self.ticket.log.append(f"[image {image.width}x{image.height}]")

    # Paper.
    def _do_cut(self, cmd: Command) -> PrintedTicket:
        self._flush_partial_line()
        m = cmd.args[0]
        if m in (65, 66, 97, 98, 103, 104) and len(cmd.args) > 1:
            self.ticket.elements.append(Feed(cmd.args[1]))
        kind = "full" if m in (0, 48, 65, 97, 103) else "partial"
        self.ticket.cut = kind
        self.ticket.log.append(f"[cut {kind}]")
        done, self.ticket = self.ticket, PrintedTicket(self.paper_dots)
        return done

    def _do_cut_partial_legacy(self, cmd: Command) -> PrintedTicket:
        return self._do_cut(Command("cut", (1,)))

    def _do_status_request(self, cmd: Command) -> None:
        pass  # answered by the printer's interface, not printed

    def _do_drawer_pulse(self, cmd: Command) -> None:
        pass


def _style(run: Run) -> tuple[int, int, bool, bool, bool]:
    return run.width, run.height, run.bold, run.underline, run.invert
