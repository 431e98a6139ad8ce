"""Shared fixtures: a reference ticket and virtual printers on loopback or a pseudo-terminal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from printer.ticket import TicketContent
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE

STATUS_PATIENCE = min(10.0, PATIENCE / 3)
"""Status timeout of a printer expected to answer: generous, so a loaded machine's slow answer
is not taken for a printer that does not answer (the setting's maximum is 10 s)."""
NO_ANSWER = 0.3
"""Status timeout where the test expects no answer: that whole time is waited."""

REFERENCE = TicketContent(
    site_name="Mairie de Saint-Exemple",
    label="A042",
    service_name="État civil",
    issued_at=datetime(2026, 11, 23, 14, 5, tzinfo=ZoneInfo("Europe/Paris")),
    people_ahead=3,
    wait_minutes=12,
    follow_url="https://guichet.example.fr/t/7Hq2xK9p",
    footer="Merci de votre visite",
)


@pytest.fixture
def reference() -> TicketContent:
    return REFERENCE


@pytest.fixture
def virtual_printer(tmp_path: Path) -> Iterator[VirtualPrinter]:
    """A virtual printer listening on 127.0.0.1 (a free port), 80 mm paper."""
    with VirtualPrinter(tmp_path / "printed") as vp:
        yield vp


@pytest.fixture
def virtual_printer_pty(tmp_path: Path) -> Iterator[VirtualPrinter]:
    """A virtual printer also listening on a pseudo-terminal (``pty_path``)."""
    with VirtualPrinter(tmp_path / "printed", pty=True, paper_mm=58) as vp:
        yield vp
