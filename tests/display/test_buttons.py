"""Button boxes read through real pseudo-terminals: presses, answers, garbage, unplugging."""

from __future__ import annotations

import logging
import os
import random
import threading
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from display.buttons import ButtonBoxes, LinkState
from display.protocol import Action, Press, show_line
from display.ratelog import RateLimitedLog
from display.virtual import VirtualButtonBox
from tests.conftest import PATIENCE
from tests.display.helpers import wait_until


class Recorder:
    def __init__(self) -> None:
        self.presses: list[Press] = []
        self.lock = threading.Lock()

    def __call__(self, press: Press, reply: Callable[[str], object]) -> None:
        with self.lock:
            self.presses.append(press)
        reply(show_line(press.counter, f"A{len(self.presses):03d}"))


@pytest.fixture
def box() -> Iterator[VirtualButtonBox]:
    b = VirtualButtonBox()
    yield b
    b.close()


def start(ports: list[str], recorder: Recorder) -> ButtonBoxes:
    boxes = ButtonBoxes(ports, recorder, retry_min=0.02, retry_max=0.1)
    boxes.start()
    return boxes


def test_a_press_reaches_the_board_and_the_answer_reaches_the_box(box: VirtualButtonBox) -> None:
    rec = Recorder()
    boxes = start([box.path], rec)
    try:
        assert wait_until(lambda: boxes.state is LinkState.CONNECTED)
        box.press("3", Action.NEXT)
        box.press("3", Action.TRANSFER, "passeports")
        assert box.wait_for("3 SHOW A002", timeout=PATIENCE)
        assert rec.presses == [
            Press("3", Action.NEXT),
            Press("3", Action.TRANSFER, "passeports"),
        ]
        assert box.received == ["3 SHOW A001", "3 SHOW A002"]
    finally:
        boxes.stop()


def test_garbage_is_dropped_and_the_reader_keeps_reading(box: VirtualButtonBox) -> None:
    """GIVEN a box sending binary noise, unknown words, an endless line and a ping
    WHEN a good press follows THEN the press is handled, and bad lines with a counter get ERR."""
    rec = Recorder()
    boxes = start([box.path], rec)
    try:
        assert wait_until(lambda: boxes.state is LinkState.CONNECTED)
        noise = random.Random(7).randbytes(300).replace(b"\n", b"").replace(b"\r", b"")
        box.send(noise + b"\n")
        box.send(b"\x00\x01\x02\xff\n3 JUMP\n" + b"7" * 500 + b"\nPING\n3 SHOW A042\n")
        box.press("2", Action.RECALL)
        assert box.wait_for("2 SHOW A001", timeout=PATIENCE)
        assert rec.presses == [Press("2", Action.RECALL)]
        assert box.received == ["3 ERR BADLINE", "PONG", "2 SHOW A001"]
        reader = boxes.readers[0]
        assert reader.dropped == 4  # noise, control bytes, JUMP, the endless line
    finally:
        boxes.stop()


def test_an_unplugged_box_is_reported_and_read_again_once_back(tmp_path: Path) -> None:
    """GIVEN the board reads /dev/guichet-buttons (here a link to a pty)
    WHEN the box's end closes THEN the state is disconnected, nothing crashes,
    and WHEN a box appears again at that name THEN presses flow again without a restart."""
    link = tmp_path / "guichet-buttons"
    first = VirtualButtonBox()
    link.symlink_to(first.path)
    rec = Recorder()
    states: list[LinkState] = []
    boxes = ButtonBoxes([str(link)], rec, retry_min=0.02, retry_max=0.1, on_state=states.append)
    boxes.start()
    second: VirtualButtonBox | None = None
    try:
        assert wait_until(lambda: boxes.state is LinkState.CONNECTED)
        first.press("1", Action.NEXT)
        assert first.wait_for("1 SHOW A001", timeout=PATIENCE)
        # Unplugging: the device node goes, and udev removes the stable name with it.
        first.unplug()
        link.unlink()
        assert wait_until(lambda: boxes.state is LinkState.DISCONNECTED)
        second = VirtualButtonBox()
        link.symlink_to(second.path)
        assert wait_until(lambda: boxes.state is LinkState.CONNECTED)
        second.press("1", Action.DONE)
        assert second.wait_for("1 SHOW A002")
        assert states[-2:] == [LinkState.DISCONNECTED, LinkState.CONNECTED]
        assert rec.presses == [Press("1", Action.NEXT), Press("1", Action.DONE)]
    finally:
        boxes.stop()
        if second is not None:
            second.close()


def test_a_port_absent_at_start_is_retried_until_it_appears(tmp_path: Path) -> None:
    link = tmp_path / "ttyUSB-late"
    rec = Recorder()
    boxes = start([str(link)], rec)
    box = VirtualButtonBox()
    try:
        assert wait_until(lambda: boxes.state is LinkState.DISCONNECTED)
        link.symlink_to(box.path)
        assert wait_until(lambda: boxes.state is LinkState.CONNECTED)
        box.press("5", Action.OPEN)
        assert box.wait_for("5 SHOW A001", timeout=PATIENCE)
    finally:
        boxes.stop()
        box.close()


def test_answers_go_to_the_box_the_counter_uses() -> None:
    one, two = VirtualButtonBox(), VirtualButtonBox()
    rec = Recorder()
    boxes = start([one.path, two.path], rec)
    try:
        assert wait_until(lambda: boxes.state is LinkState.CONNECTED)
        two.press("4", Action.NEXT)
        assert two.wait_for("4 SHOW A001", timeout=PATIENCE)
        boxes.send("4", "4 SHOW B007\n")  # a call made at the web console for counter 4
        assert two.wait_for("4 SHOW B007", timeout=PATIENCE)
        boxes.send("9", "9 SHOW C001\n")  # counter never seen: every box gets it
        assert one.wait_for("9 SHOW C001", timeout=PATIENCE)
        assert two.wait_for("9 SHOW C001", timeout=PATIENCE)
        assert "4 SHOW B007" not in one.received
    finally:
        boxes.stop()
        one.close()
        two.close()


def test_no_port_configured_is_its_own_state() -> None:
    assert ButtonBoxes([], Recorder()).state is LinkState.NOT_CONFIGURED


def test_a_box_that_does_not_read_its_answers_does_not_slow_the_presses() -> None:
    """GIVEN a box that never reads what the board sends back (its side of the line is never
    read: the line's buffer fills, as with a box wired for input only) WHEN it sends hundreds
    of presses THEN every press is handled at once: answers wait in a bounded outbox of their
    own (the oldest dropped), never in the reader."""
    master, slave = os.openpty()
    tty.setraw(slave)
    presses: list[Press] = []

    def loud(press: Press, reply: Callable[[str], object]) -> None:
        presses.append(press)
        reply(f"{press.counter} SHOW A001{' ' * 1000}\n")  # fills the line's buffer quickly

    boxes = ButtonBoxes([os.ttyname(slave)], loud, retry_min=0.02, retry_max=0.1)
    boxes.start()
    try:
        assert wait_until(lambda: boxes.state is LinkState.CONNECTED, PATIENCE)
        for _ in range(6):
            os.write(master, b"3 NEXT\n" * 50)
        assert wait_until(lambda: len(presses) == 300, PATIENCE), f"{len(presses)} handled"
    finally:
        boxes.stop()
        os.close(master)
        os.close(slave)


def test_presses_at_an_unknown_counter_are_logged_at_a_bounded_rate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A box configured for a counter the site lacks may press all day: one warning, then
    one every few seconds with the count, not one line per press."""
    log = logging.getLogger("test.ratelog")
    now = [0.0]
    limited = RateLimitedLog(log, period=5.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="test.ratelog"):
        for i in range(35_000):
            now[0] = i * 0.001  # 35 s of presses, a thousand a second
            limited.warning("press at unknown counter %r ignored", "99")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 7
    assert lines[0] == "press at unknown counter '99' ignored"
    assert (
        lines[1] == "press at unknown counter '99' ignored (4999 more since the last such message)"
    )
