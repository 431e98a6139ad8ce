"""``guichet printer test`` and ``guichet printer virtual``."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from printer.status import PrinterStatus
from printer.ticket import TicketContent


def _show(when: str, status: PrinterStatus) -> None:
    print(f"{when}: {status.state.value} - {status.state.label('en')}")
    if status.detail:
        print(f"  {status.detail}")
    if status.error_id:
        print(f"  ({status.error_id})")


def test_ticket(config: Path) -> int:
    """Prints a test ticket on the printer of the kiosk file ``config`` and shows the status
    before and after. Exit 0 when the ticket was sent and the printer can still print, else 1.
    A bad configuration raises config.loader.ConfigError (the command line prints it)."""
    from config.kiosk import KioskSettings
    from config.loader import load_settings
    from printer.connect import open_printer

    settings = load_settings(KioskSettings, config)
    ps = settings.printer
    printer = open_printer(ps)
    try:
        print(f"Printer: {printer.device}, {ps.paper_mm} mm paper")
        before = printer.status()
        _show("Status", before)
        if not before.can_print:
            print("No test ticket printed.")
            return 1
        url = settings.follow_base_url or str(settings.server.url or "") or "guichet-test"
        content = TicketContent(
            site_name=f"Guichet - {settings.site}",
            label="T000",
            service_name="Ticket de test",
            service_name_2=f"{settings.device_id} - {ps.transport.kind} - {ps.paper_mm} mm",
            issued_at=datetime.now().astimezone(),
            people_ahead=0,
            wait_minutes=0,
            follow_url=url,
            footer="Accents : é è à ç ô œ € Œ ù",
        )
        after = printer.print_ticket(content)
        _show("After the test ticket", after)
        return 0 if after.can_print else 1
    finally:
        printer.close()


def run_virtual(host: str, port: int, pty: bool, out: Path, paper_mm: int) -> int:
    """Runs a virtual printer until Ctrl-C, telling where it listens and where PNGs go."""
    from printer.virtual import VirtualPrinter

    printer = VirtualPrinter(out, host=host, port=port, pty=pty, paper_mm=paper_mm)
    try:
        printer.start()
    except OSError as exc:
        print(f"Cannot listen on {host}:{port}: {exc.strerror or exc}")
        return 1
    printer.on_ticket = lambda path: print(f"printed {path}", flush=True)
    print(f"Virtual ESC/POS printer ({paper_mm} mm) listening on {host}:{printer.port}")
    if printer.pty_path:
        print(f"Serial (pseudo-terminal): {printer.pty_path}")
    print(f"Tickets are rendered to {out.resolve()} as PNG. Ctrl-C stops.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        printer.stop()
    return 0
