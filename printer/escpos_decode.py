"""An incremental ESC/POS decoder: bytes in, commands out, as a printer reads them.

It knows the length of every command of the Epson TM command set a receipt printer sees in
practice, so a stream never desynchronises, and names those the virtual printer acts on. A
command it does not know becomes an ``unknown`` command (two bytes, then text resumes), which
the virtual printer logs: Guichet's own tickets must never produce one.

Real-time requests (``DLE EOT n``) are recognised between commands only, as Epson printers do
when real-time commands inside command data are disabled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[int, ...] = ()
    data: bytes = b""


# Commands with a fixed number of parameter bytes after the two command bytes.
_ESC_FIXED: dict[int, tuple[str, int]] = {
    ord("@"): ("init", 0),
    ord("t"): ("code_table", 1),
    ord("a"): ("align", 1),
    ord("E"): ("bold", 1),
    ord("G"): ("double_strike", 1),
    ord("!"): ("print_mode", 1),
    ord("-"): ("underline", 1),
    ord("M"): ("font", 1),
    ord("d"): ("feed_lines", 1),
    ord("J"): ("feed_dots", 1),
    ord("e"): ("reverse_feed", 1),
    ord("2"): ("line_spacing_default", 0),
    ord("3"): ("line_spacing", 1),
    ord("{"): ("upside_down", 1),
    ord("V"): ("rotate", 1),
    ord("R"): ("charset", 1),
    ord(" "): ("char_spacing", 1),
    ord("p"): ("drawer_pulse", 3),
    ord("="): ("peripheral", 1),
    ord("U"): ("unidirectional", 1),
    ord("c"): ("panel", 2),
    ord("$"): ("position", 2),
    ord("\\"): ("relative_position", 2),
    ord("i"): ("cut_partial_legacy", 0),
    ord("m"): ("cut_partial_legacy", 0),
    ord("L"): ("page_mode", 0),
    ord("S"): ("standard_mode", 0),
    ord("T"): ("page_direction", 1),
    ord("W"): ("page_area", 8),
}
_GS_FIXED: dict[int, tuple[str, int]] = {
    ord("!"): ("char_size", 1),
    ord("B"): ("invert", 1),
    ord("b"): ("smoothing", 1),
    ord("H"): ("barcode_text", 1),
    ord("h"): ("barcode_height", 1),
    ord("w"): ("barcode_width", 1),
    ord("f"): ("barcode_font", 1),
    ord("L"): ("left_margin", 2),
    ord("W"): ("print_width", 2),
    ord("a"): ("auto_status", 1),
    ord("r"): ("transmit_status", 1),
    ord("I"): ("printer_id", 1),
    ord("P"): ("motion_units", 2),
    ord("/"): ("print_downloaded_image", 1),
    ord(":"): ("macro", 0),
    ord("^"): ("run_macro", 3),
}
_FS_FIXED: dict[int, tuple[str, int]] = {
    ord("&"): ("kanji_on", 0),
    ord("."): ("kanji_off", 0),
    ord("!"): ("kanji_mode", 1),
    ord("-"): ("kanji_underline", 1),
    ord("p"): ("nv_image", 2),
}
_CONTROL = {0x0A: "lf", 0x0D: "cr", 0x09: "ht", 0x0C: "ff", 0x18: "cancel"}
_NEED_MORE = None
# A decoder of variable-length commands: the command and where the next one starts, None when
# more bytes are needed, False when it does not know the command.
_Variable = Callable[[bytearray, int, int], "tuple[Command, int] | bool | None"]


class EscposDecoder:
    """Feed bytes as they arrive; get back the complete commands they hold."""

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held back because they start a command that is not complete yet."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Command]:
        self._buf += data
        out: list[Command] = []
        pos = 0
        buf = self._buf
        while pos < len(buf):
            parsed = self._parse_one(buf, pos)
            if parsed is _NEED_MORE:
                break
            cmd, pos = parsed
            out.append(cmd)
        del self._buf[:pos]
        return out

    def _parse_one(self, buf: bytearray, pos: int) -> tuple[Command, int] | None:
        b = buf[pos]
        if b >= 0x20:
            end = pos
            while end < len(buf) and buf[end] >= 0x20:
                end += 1
            return Command("text", data=bytes(buf[pos:end])), end
        if b in _CONTROL:
            return Command(_CONTROL[b]), pos + 1
        if b in (ESC, GS, FS, DLE):
            if pos + 1 >= len(buf):
                return _NEED_MORE
            op = buf[pos + 1]
            if b == ESC:
                return self._escape(buf, pos, op, _ESC_FIXED, self._esc_variable)
            if b == GS:
                return self._escape(buf, pos, op, _GS_FIXED, self._gs_variable)
            if b == FS:
                return self._escape(buf, pos, op, _FS_FIXED, None)
            return self._dle(buf, pos, op)
        return Command("unknown", data=bytes(buf[pos : pos + 1])), pos + 1

    def _escape(
        self,
        buf: bytearray,
        pos: int,
        op: int,
        fixed: dict[int, tuple[str, int]],
        variable: _Variable | None,
    ) -> tuple[Command, int] | None:
        if op in fixed:
            name, n = fixed[op]
            end = pos + 2 + n
            if end > len(buf):
                return _NEED_MORE
            return Command(name, tuple(buf[pos + 2 : end])), end
        if variable is not None:
            result = variable(buf, pos, op)
            if not isinstance(result, bool):
                return result
        return Command("unknown", data=bytes(buf[pos : pos + 2])), pos + 2

    def _esc_variable(self, buf: bytearray, pos: int, op: int) -> tuple[Command, int] | bool | None:
        if op == ord("*"):  # ESC * m nL nH d1..dk: column bit image
            if pos + 5 > len(buf):
                return _NEED_MORE
            m, n = buf[pos + 2], buf[pos + 3] | buf[pos + 4] << 8
            end = pos + 5 + n * (3 if m in (32, 33) else 1)
            if end > len(buf):
                return _NEED_MORE
            return Command("column_image", (m, n), bytes(buf[pos + 5 : end])), end
        if op in (ord("D"), ord("B")):  # tab stops / beeper-style NUL-terminated lists
            end = buf.find(b"\x00", pos + 2)
            if end < 0:
                return _NEED_MORE if len(buf) - pos < 34 else False
            return Command("tab_stops", tuple(buf[pos + 2 : end])), end + 1
        return False

    def _gs_variable(self, buf: bytearray, pos: int, op: int) -> tuple[Command, int] | bool | None:
        if op == ord("V"):  # GS V m [n]
            if pos + 3 > len(buf):
                return _NEED_MORE
            m = buf[pos + 2]
            if m in (65, 66, 97, 98, 103, 104):
                if pos + 4 > len(buf):
                    return _NEED_MORE
                return Command("cut", (m, buf[pos + 3])), pos + 4
            return Command("cut", (m,)), pos + 3
        if op == ord("("):  # GS ( fn pL pH data
            if pos + 5 > len(buf):
                return _NEED_MORE
            fn, size = buf[pos + 2], buf[pos + 3] | buf[pos + 4] << 8
            end = pos + 5 + size
            if end > len(buf):
                return _NEED_MORE
            body = bytes(buf[pos + 5 : end])
            if fn == ord("k") and len(body) >= 2:
                return Command("code2d", (body[0], body[1]), body[2:]), end
            return Command(f"gs_paren_{chr(fn)}", (), body), end
        if op == ord("v"):  # GS v 0 m xL xH yL yH d1..dk: raster bit image
            if pos + 8 > len(buf):
                return _NEED_MORE
            m = buf[pos + 3]
            width_bytes = buf[pos + 4] | buf[pos + 5] << 8
            height = buf[pos + 6] | buf[pos + 7] << 8
            end = pos + 8 + width_bytes * height
            if end > len(buf):
                return _NEED_MORE
            return Command("raster", (m, width_bytes, height), bytes(buf[pos + 8 : end])), end
        if op == ord("k"):  # GS k m ...: 1D barcode
            if pos + 3 > len(buf):
                return _NEED_MORE
            m = buf[pos + 2]
            if m <= 6:
                end = buf.find(b"\x00", pos + 3)
                if end < 0:
                    return _NEED_MORE
                return Command("barcode", (m,), bytes(buf[pos + 3 : end])), end + 1
            if pos + 4 > len(buf):
                return _NEED_MORE
            end = pos + 4 + buf[pos + 3]
            if end > len(buf):
                return _NEED_MORE
            return Command("barcode", (m,), bytes(buf[pos + 4 : end])), end
        if op == ord("*"):  # GS * x y data: downloaded bit image
            if pos + 4 > len(buf):
                return _NEED_MORE
            end = pos + 4 + buf[pos + 2] * buf[pos + 3] * 8
            if end > len(buf):
                return _NEED_MORE
            return Command("download_image", (buf[pos + 2], buf[pos + 3])), end
        return False

    def _dle(self, buf: bytearray, pos: int, op: int) -> tuple[Command, int] | None:
        if op in (0x04, 0x05):  # DLE EOT n, DLE ENQ n
            if pos + 3 > len(buf):
                return _NEED_MORE
            name = "status_request" if op == 0x04 else "realtime_request"
            return Command(name, (buf[pos + 2],)), pos + 3
        if op == 0x14:  # DLE DC4 fn a b
            if pos + 5 > len(buf):
                return _NEED_MORE
            return Command("realtime_command", tuple(buf[pos + 2 : pos + 5])), pos + 5
        return Command("unknown", data=bytes(buf[pos : pos + 2])), pos + 2
