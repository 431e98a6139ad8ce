"""Printer states, their labels and groups, and the meaning of DLE EOT answer bytes."""

from __future__ import annotations

import pytest

from printer import CAN_PRINT, FAULTS, STAFF_WARNINGS, PrinterState, PrinterStatus
from printer.status import (
    error_cause,
    is_status_byte,
    offline_cause,
    paper_sensor,
    printer_offline,
)

DEVICE = "serial printer /dev/ttyUSB0"


def test_every_state_has_a_french_and_an_english_label() -> None:
    fr = {s.label("fr") for s in PrinterState}
    en = {s.label("en") for s in PrinterState}
    assert len(fr) == len(en) == len(PrinterState)  # all distinct
    assert PrinterState.PAPER_OUT.label("fr") == "Plus de papier"
    assert PrinterState.PAPER_OUT.label("en") == "Out of paper"
    assert PrinterState.COVER_OPEN.label("fr-BE") == PrinterState.COVER_OPEN.label("fr")
    assert PrinterState.READY.label("de") == PrinterState.READY.label("en")


def test_groups_partition_the_states() -> None:
    assert set(PrinterState) == CAN_PRINT | FAULTS
    assert not CAN_PRINT & FAULTS
    assert STAFF_WARNINGS <= CAN_PRINT
    assert PrinterStatus(PrinterState.PAPER_NEAR_END).can_print
    assert not PrinterStatus(PrinterState.UNKNOWN).can_print


@pytest.mark.parametrize(
    ("byte", "valid"), [(0x12, True), (0x1A, True), (0x7E, True), (0x00, False), (0xFF, False)]
)
def test_fixed_bits_tell_a_status_byte_from_noise(byte: int, valid: bool) -> None:
    assert is_status_byte(byte) is valid


def test_printer_status_offline_bit() -> None:
    assert not printer_offline(0x12)
    assert printer_offline(0x1A)


@pytest.mark.parametrize(
    ("byte", "state", "error_id"),
    [
        (0x16, PrinterState.COVER_OPEN, "printer.cover_open"),
        (0x32, PrinterState.PAPER_OUT, "printer.paper_out"),
        (0x52, PrinterState.ERROR, "printer.error"),
        (0x1A, PrinterState.OFFLINE, "printer.offline.feeding"),
        (0x12, PrinterState.OFFLINE, "printer.offline.no_cause"),
        (0x36, PrinterState.COVER_OPEN, "printer.cover_open"),  # cover wins over paper end
    ],
)
def test_offline_cause(byte: int, state: PrinterState, error_id: str) -> None:
    status = offline_cause(byte, DEVICE)
    assert (status.state, status.error_id) == (state, error_id)
    assert status.detail.startswith(DEVICE)


@pytest.mark.parametrize(
    ("byte", "error_id"),
    [
        (0x1A, "printer.error.cutter"),
        (0x32, "printer.error.unrecoverable"),
        (0x52, "printer.error.recoverable"),
        (0x12, "printer.error"),
    ],
)
def test_error_cause(byte: int, error_id: str) -> None:
    status = error_cause(byte, DEVICE)
    assert status.state is PrinterState.ERROR
    assert status.error_id == error_id


@pytest.mark.parametrize(
    ("byte", "state"),
    [
        (0x12, PrinterState.READY),
        (0x1E, PrinterState.PAPER_NEAR_END),
        (0x72, PrinterState.PAPER_OUT),
        (0x7E, PrinterState.PAPER_OUT),
    ],
)
def test_paper_sensor(byte: int, state: PrinterState) -> None:
    assert paper_sensor(byte, DEVICE).state is state


def test_fault_details_say_what_to_do() -> None:
    assert "new roll" in paper_sensor(0x72, DEVICE).detail
    assert "Close the paper cover" in offline_cause(0x16, DEVICE).detail
