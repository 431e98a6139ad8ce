"""The call button line protocol (docs/buttons.md): one ASCII line per key press.

A button box sends ``<counter> <ACTION> [argument]`` ending in ``\\n`` (``\\r\\n`` and ``\\r``
are accepted too), e.g. ``3 NEXT``, ``3 TRANSFER passeports``. The board answers on the same
line with ``<counter> SHOW <ticket>`` (``---`` when the counter has no ticket) or
``<counter> ERR <REASON>``, and ``PONG`` to ``PING``.

Parsing never raises for what a box sends: a line that is not a press gives a
:class:`BadLine` naming why, which the reader logs and drops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from tickets.press import CounterAction

MAX_LINE = 80
"""Longest line accepted (bytes, without the line ending); longer ones are dropped whole."""

_COUNTER = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_SERVICE = _COUNTER
NO_TICKET = "---"


Action = CounterAction
"""What an agent asks for: the queue's counter actions (``tickets.press``)."""

_WORDS = {
    "NEXT": Action.NEXT,
    "RECALL": Action.RECALL,
    "DONE": Action.DONE,
    "ABSENT": Action.NO_SHOW,
    "NOSHOW": Action.NO_SHOW,
    "TRANSFER": Action.TRANSFER,
    "OPEN": Action.OPEN,
    "CLOSE": Action.CLOSE,
}
# Words the board itself sends: a box that echoes them back must not start a loop of errors.
_OUR_WORDS = frozenset({"SHOW", "ERR", "PONG"})


class Reason(StrEnum):
    """Why a press was refused; sent to the counter's display as ``<counter> ERR <REASON>``."""

    EMPTY = "EMPTY"
    """NEXT with nobody waiting for this counter's services."""
    NO_TICKET = "NOTICKET"
    """RECALL, DONE, ABSENT or TRANSFER while the counter has no ticket."""
    UNKNOWN_COUNTER = "UNKNOWNCOUNTER"
    UNKNOWN_SERVICE = "UNKNOWNSERVICE"
    CLOSED_SERVICE = "CLOSEDSERVICE"
    """TRANSFER to a service closed now, or that no open counter serves."""
    REFUSED = "REFUSED"
    """The server refused the action (e.g. the counter is closed there)."""
    BAD_LINE = "BADLINE"
    NOT_READY = "NOTREADY"
    """The board has no site configuration yet."""


@dataclass(frozen=True, slots=True)
class Press:
    counter: str
    action: Action
    service: str | None = None
    """Target service of a TRANSFER."""

    def line(self) -> str:
        """The press as a box would send it (without the line ending)."""
        word = next(w for w, a in _WORDS.items() if a is self.action)
        return f"{self.counter} {word}" + (f" {self.service}" if self.service else "")


@dataclass(frozen=True, slots=True)
class Ping:
    """A box checking the line is alive; the board answers ``PONG``."""


@dataclass(frozen=True, slots=True)
class Echo:
    """One of the board's own answers coming back (a box or cable that echoes): ignored."""


@dataclass(frozen=True, slots=True)
class BadLine:
    reason: str
    counter: str | None = None
    """The counter, when the line started with one: the board answers it with ERR."""


Parsed = Press | Ping | Echo | BadLine


_LEADING_COUNTER = re.compile(rb"^[ \t]*([A-Za-z0-9][A-Za-z0-9_.-]{0,62})[ \t]")


def _leading_counter(raw: bytes) -> str | None:
    """The counter a garbled line starts with (a counter id, then a space), if any: the box
    that sent it gets its ``ERR BADLINE``."""
    found = _LEADING_COUNTER.match(raw)
    return found.group(1).decode("ascii").lower() if found else None


def parse_line(raw: bytes) -> Parsed:
    """Parses one line as received, without its line ending (for a line over ``MAX_LINE``,
    its beginning: ``LineSplitter`` keeps that much)."""
    if len(raw) > MAX_LINE:
        return BadLine(f"line longer than {MAX_LINE} bytes", _leading_counter(raw))
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return BadLine("not ASCII", _leading_counter(raw))
    if not text.isprintable():
        return BadLine("control characters", _leading_counter(raw))
    words = text.split()
    if not words:
        return BadLine("empty line")
    if len(words) == 1 and words[0].upper() == "PING":
        return Ping()
    if words[0].upper() in _OUR_WORDS or (len(words) > 1 and words[1].upper() in _OUR_WORDS):
        return Echo()
    counter = words[0].lower()
    if not _COUNTER.match(counter):
        return BadLine(f"bad counter {words[0]!r}")
    if len(words) < 2:
        return BadLine("no action", counter)
    action = _WORDS.get(words[1].upper())
    if action is None:
        return BadLine(f"unknown action {words[1]!r}", counter)
    if action is Action.TRANSFER:
        if len(words) != 3 or not _SERVICE.match(words[2].lower()):
            return BadLine("TRANSFER needs one service id", counter)
        return Press(counter, action, words[2].lower())
    if len(words) != 2:
        return BadLine(f"{words[1].upper()} takes no argument", counter)
    return Press(counter, action)


def show_line(counter: str, ticket: str | None) -> str:
    """What the counter's small display should show: its current ticket, or ``---``."""
    return f"{counter} SHOW {ticket or NO_TICKET}\n"


def error_line(counter: str | None, reason: Reason) -> str:
    return f"{counter} ERR {reason.value}\n" if counter else f"ERR {reason.value}\n"


PONG = "PONG\n"


class LineSplitter:
    """Cuts a byte stream into lines; of a line over :data:`MAX_LINE` only the beginning is
    kept (``MAX_LINE + 1`` bytes: enough to name the counter, and too long to be a press).

    ``feed`` returns the lines completed so far, without their endings.
    """

    def __init__(self, limit: int = MAX_LINE) -> None:
        self._limit = limit
        self._buffer = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        for chunk in re.split(rb"(\r\n|\r|\n)", data):
            if chunk in (b"\r\n", b"\r", b"\n"):
                if self._buffer:
                    out.append(bytes(self._buffer))
                self._buffer.clear()
                self._overflow = False
                continue
            if self._overflow:
                continue
            self._buffer += chunk
            if len(self._buffer) > self._limit:
                del self._buffer[self._limit + 1 :]
                self._overflow = True
        return out
