"""The "Listen" button: the kiosk reads its screens aloud with espeak-ng, in the visit's
language (sound through SDL's dummy driver in tests; the WAV files are real speech)."""

from __future__ import annotations

import wave
from collections.abc import Callable
from typing import Any

import pytest

from kiosk.selftest import KioskDriver
from kiosk.speech import Utterance, spoken_label
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE
from tests.kiosk.conftest import paced_frames

pytestmark = pytest.mark.kivy


def said(d: KioskDriver, count: int) -> list[Utterance]:
    """Waits until the kiosk has said ``count`` things; returns them all."""
    history = d.app.speaker.history
    assert d.wait_until(lambda: len(history) >= count, 15), [u.text for u in history]
    return list(history)


def seconds_of_speech(u: Utterance) -> float:
    assert u.wav is not None
    with wave.open(str(u.wav)) as w:
        return w.getnframes() / w.getframerate()


def test_spoken_numbers_split_letters_from_the_number() -> None:
    assert spoken_label("A042") == "A 42"
    assert spoken_label("AB900") == "AB 900"
    assert spoken_label("") == ""


def test_listen_reads_each_screen_then_the_number_and_service(
    open_ui: Callable[..., Any], printer: VirtualPrinter
) -> None:
    """GIVEN the idle screen WHEN the visitor presses "Listen", then touches the screen and a
    service THEN the kiosk says the idle invitation, then the services with their waits, then
    the ticket's number, its service and what to do next, each a real spoken WAV file."""
    d = open_ui()
    d.tap(d.screen("idle").ids.listen)
    first = said(d, 1)[0]
    assert first.lang == "fr"
    assert first.text.startswith("Touchez l'écran")
    assert seconds_of_speech(first) > 2

    d.tap(d.screen("idle").ids.touch_area)
    services = said(d, 2)[1].text
    assert services.startswith("Choisissez votre service.")
    assert "État civil: Sans attente." in services
    assert "Urbanisme: Fermé." in services

    d.tap(d.card("etat-civil"))
    ticket = d.screen("ticket")
    assert d.wait_until(lambda: d.current == "ticket" and ticket.state == "printed", PATIENCE)
    spoken = said(d, 3)[2]
    assert spoken.text.startswith("Votre numéro est A 900. État civil.")
    assert "Asseyez-vous et regardez l'écran" in spoken.text
    assert seconds_of_speech(spoken) > 4

    d.tap(ticket.ids.listen_again)
    again = said(d, 4)[3]
    assert again.text.startswith("Votre numéro est A 900.")


def test_listen_speaks_the_language_chosen(
    open_ui: Callable[..., Any], printer: VirtualPrinter
) -> None:
    d = open_ui()
    d.tap(d.screen("idle").ids.listen)
    said(d, 1)
    d.tap(d.screen("idle").ids.languages.children[0])  # "English": starts the visit
    assert d.wait_until(lambda: d.current == "services")
    services = said(d, 2)[1]
    assert services.lang == "en"
    assert services.text.startswith("Choose your service.")
    d.tap(d.card("passeports"))
    ticket = d.screen("ticket")
    assert d.wait_until(lambda: d.current == "ticket" and ticket.state == "printed", PATIENCE)
    spoken = said(d, 3)[2]
    assert spoken.lang == "en"
    assert spoken.text.startswith("Your number is B 900. Passports and ID cards.")
    assert "Take a seat and watch the screen" in spoken.text


def test_nothing_is_said_without_listen(
    open_ui: Callable[..., Any], printer: VirtualPrinter
) -> None:
    d = open_ui()
    d.tap(d.screen("idle").ids.touch_area)
    d.tap(d.card("etat-civil"))
    ticket = d.screen("ticket")
    assert d.wait_until(lambda: d.current == "ticket" and ticket.state == "printed", PATIENCE)
    paced_frames(d, 20)
    assert d.app.speaker.history == []
