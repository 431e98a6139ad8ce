"""The ``virtual`` transport: a :class:`~printer.virtual.VirtualPrinter` inside the process,
fed directly (no socket), rendering each ticket to a PNG in ``output_dir``."""

from __future__ import annotations

from config.printer import VirtualTransport
from printer.virtual import VirtualPrinter


class VirtualLink:
    def __init__(self, settings: VirtualTransport, paper_mm: int) -> None:
        self.printer = VirtualPrinter(settings.output_dir, paper_mm=paper_mm)
        self.device = f"virtual printer ({settings.output_dir})"

    @property
    def can_answer(self) -> bool:
        return True

    def open(self, timeout: float) -> None:
        pass

    def write(self, data: bytes, timeout: float) -> None:
        self.printer.feed(data)

    def query(self, request: bytes, timeout: float) -> bytes:
        return self.printer.feed(request)

    def close(self) -> None:
        pass
