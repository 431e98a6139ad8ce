"""What the kiosk tells people: the state and wait of a priority ticket in priority mode, what
to do once the ticket is out, and a priority reason nobody else can read (the long-wait
screen's alternatives: test_screens.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE
from tests.kiosk.test_screens import to_services

pytestmark = pytest.mark.kivy


def test_priority_mode_shows_each_service_as_a_priority_ticket_sees_it(
    open_ui: Callable[..., Any], printer: VirtualPrinter
) -> None:
    """GIVEN eleven people waiting for passports at 10:00 (12 min each, closing at 12:00: a
    standard ticket would be called after closing) WHEN a senior chooses priority THEN the
    passports card is open with no wait ("you are next"), the banner does not name the reason,
    and the ticket issued is a priority ticket that says so without the reason."""
    d = open_ui()
    core = d.runtime.core
    for _ in range(11):
        core.take_number("passeports", None, "fr")
    to_services(d)
    card = d.card("passeports")
    assert (card.available, card.badge) == (False, "Complet")
    assert "Plus de tickets aujourd'hui" in card.detail

    d.tap(d.screen("services").ids.priority_button)
    assert d.wait_until(lambda: d.current == "priority")
    d.tap(d.screen("priority").ids.reasons.children[0])  # the last reason: age
    assert d.wait_until(lambda: d.current == "services")
    assert d.app.priority == "age"
    card = d.card("passeports")
    assert (card.available, card.badge, card.detail) == (
        True,
        "Sans attente",
        "Vous êtes le prochain",
    )
    banner = d.screen("services").banner_text
    assert banner == "Ticket prioritaire. Choisissez votre service."

    d.tap(card)
    ticket = d.screen("ticket")
    assert d.wait_until(lambda: d.current == "ticket" and ticket.state == "printed", PATIENCE)
    assert ticket.priority_text == "Ticket prioritaire"
    shown = " ".join(
        w.text for w in ticket.walk() if hasattr(w, "text") and isinstance(w.text, str)
    )
    assert "âgée" not in shown
    assert ticket.wait_text == "Vous êtes le prochain"
    printed = printer.wait_for_tickets(1, PATIENCE)
    assert printed and "Ticket prioritaire" in printer.printed[0].text_lines()


def test_the_ticket_screen_says_what_happens_next(
    open_ui: Callable[..., Any], printer: VirtualPrinter
) -> None:
    d = open_ui()
    to_services(d)
    d.tap(d.card("etat-civil"))
    ticket = d.screen("ticket")
    assert d.wait_until(lambda: d.current == "ticket" and ticket.state == "printed", PATIENCE)
    d.settle()
    assert ticket.ids.next_step.text == (
        "Asseyez-vous et regardez l'écran\u00a0: votre numéro y sera affiché et annoncé."
    )
    assert ticket.ids.done.text == "J'ai mon ticket"
    lines = printer.printed[0].text_lines()
    assert any("Asseyez-vous et regardez" in line for line in lines)
